"""What can go wrong with an IMAP folder, each said in one line that names no password."""

from __future__ import annotations

from bot.mail.imap_wire import uid_set

SETTING = "HANDOFF_IMAP_URL"


class ImapError(Exception):
    """Something about an IMAP folder, said in one line that names no password."""


class ImapUnavailable(ImapError):
    """The network, a timeout or the server going away: worth retrying."""


class FetchFailed(ImapUnavailable):
    """The server would not hand over these messages, and said why (a NO or BAD to the FETCH,
    or a BYE before it hung up: Dovecot's answer to a message file it cannot read)."""

    def __init__(self, where: str, uids: list[int], words: str, *, lost: bool) -> None:
        super().__init__(f"{where} would not FETCH UID {uid_set(uids)}: {words}")
        self.words = words
        self.lost = lost  # the server closed the connection after saying it


class ImapRefused(ImapError):
    """The server refuses us (credentials, a missing folder): someone must change a setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


__all__ = ["SETTING", "FetchFailed", "ImapError", "ImapRefused", "ImapUnavailable"]
