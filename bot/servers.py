"""The IMAP folders to watch and the SMTP server to send through, as their URLs are written in
HANDOFF_IMAP_URL and HANDOFF_SMTP_URL (passwords percent-encoded, never shown)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.credentials import OAuthConfig

# The opt-out, for a trusted private network only: its name says what it does.
CLEARTEXT_SETTING = "HANDOFF_INSECURE_CLEARTEXT_LOGIN"


def loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: a password sent there never leaves the machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to today, the wire may be anywhere


@dataclass(frozen=True)
class ImapTarget:
    """One folder to watch, from one `HANDOFF_IMAP_URL` entry. Its repr never shows the password."""

    tls: bool  # imaps://: TLS from the first byte; imap://: STARTTLS (required but on loopback)
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str
    insecure_cleartext: bool = False  # HANDOFF_INSECURE_CLEARTEXT_LOGIN
    oauth: OAuthConfig | None = None  # HANDOFF_IMAP_AUTH=oauth2: tokens instead of the password

    @property
    def cleartext_ok(self) -> bool:
        """Whether the login may go without TLS: to loopback, or when the operator said so."""
        return loopback(self.host) or self.insecure_cleartext

    @property
    def shown(self) -> str:
        """For errors: the URL without its password."""
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"

    @property
    def key(self) -> str:
        """Names the folder in the database and in logs: no password, stable across restarts."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_urls(
    value: str, password: str | None, *, insecure_cleartext: bool = False, oauth: bool = False
) -> list[ImapTarget]:
    """Comma-separated `imaps://user:password@host:993/INBOX` URLs, each naming one folder."""
    targets = []
    for text in (part.strip() for part in value.split(",")):
        if not text:
            continue
        try:
            url = urlsplit(text)
            port = url.port
        except ValueError:
            raise ValueError(
                "an entry is not a URL (expected imaps://user:password@host:993/INBOX)"
            ) from None
        if url.scheme not in ("imap", "imaps") or not url.hostname:
            shown = f"{url.scheme}://…" if url.scheme else "an entry"
            raise ValueError(
                f"{shown} is not an IMAP URL (expected imaps://user:password@host/INBOX)"
            )
        if not url.username:
            raise ValueError(f"no user name in imap URL for {url.hostname}")
        secret = unquote(url.password) if url.password is not None else password
        if not secret and not oauth:
            raise ValueError(
                f"no password for {unquote(url.username)}@{url.hostname} "
                "(put it in the URL or in HANDOFF_IMAP_PASSWORD)"
            )
        folder = unquote(url.path.lstrip("/")) or "INBOX"
        if folder.upper() == "INBOX":
            folder = "INBOX"  # the one case-insensitive name (RFC 3501 section 5.1)
        targets.append(
            ImapTarget(
                tls=url.scheme == "imaps",
                host=url.hostname,
                port=port or (993 if url.scheme == "imaps" else 143),
                user=unquote(url.username),
                password=secret or "",
                folder=folder,
                insecure_cleartext=insecure_cleartext,
            )
        )
    keys = [t.key for t in targets]
    if len(set(keys)) != len(keys):
        raise ValueError("the same folder is listed twice")
    return targets


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes, from `HANDOFF_SMTP_URL`. Its repr never shows the password."""

    tls: (
        bool  # smtps://: TLS from the first byte (465); smtp://: STARTTLS (587), required to log in
    )
    host: str
    port: int
    user: str | None
    password: str | None = field(default=None, repr=False)
    insecure_cleartext: bool = False  # HANDOFF_INSECURE_CLEARTEXT_LOGIN
    oauth: OAuthConfig | None = None  # HANDOFF_SMTP_AUTH=oauth2: tokens instead of the password

    @property
    def cleartext_ok(self) -> bool:
        """Whether the login may go without TLS: to loopback, or when the operator said so."""
        return loopback(self.host) or self.insecure_cleartext

    @property
    def shown(self) -> str:
        """For logs and errors: no password."""
        scheme = "smtps" if self.tls else "smtp"
        who = f"{self.user}@" if self.user else ""
        return f"{scheme}://{who}{self.host}:{self.port}"


def parse_smtp_url(
    value: str, *, insecure_cleartext: bool = False, oauth: bool = False
) -> SmtpTarget:
    """`smtp://user:password@host:587` (STARTTLS) or `smtps://user:password@host:465`."""
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError:
        raise ValueError("not a URL (expected smtp://user:password@host:587)") from None
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError(
            "not an SMTP URL (expected smtp://user:password@host:587 or smtps://…:465)"
        )
    if oauth and not url.username:
        raise ValueError(f"no user in the URL for {url.hostname} (OAuth signs in as that user)")
    if url.username and url.password is None and not oauth:
        raise ValueError(f"no password for {unquote(url.username)}@{url.hostname} in the URL")
    return SmtpTarget(
        tls=url.scheme == "smtps",
        host=url.hostname,
        port=port or (465 if url.scheme == "smtps" else 587),
        user=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password is not None else None,
        insecure_cleartext=insecure_cleartext,
    )


@dataclass(frozen=True)
class Listen:
    """Where `handoff serve` takes LMTP (HANDOFF_LMTP_LISTEN): host and port, or a unix socket."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    @property
    def shown(self) -> str:
        return self.path or f"{self.host}:{self.port}"


def parse_listen(value: str) -> Listen:
    """`127.0.0.1:24`, `[::1]:24`, `:24` (every address), or a unix socket path."""
    text = value.strip()
    if text.startswith(("/", "./", "../")) or text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if not path:
            raise ValueError("no socket path after unix:")
        return Listen(path=path)
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{text!r} is neither host:port (127.0.0.1:24) nor a unix socket path (/run/…)"
        )
    host = host.strip("[]")
    return Listen(host=host or None, port=int(port))
