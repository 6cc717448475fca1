"""The IMAP wire: one connection to one folder, with aioimaplib's errors turned into ours.

Everything here speaks RFC 3501 (IMAP4rev1) plus the extensions a watcher needs where the server
has them: IDLE (RFC 2177), MOVE (RFC 6851), UIDPLUS (RFC 4315), STARTTLS.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar, cast

import aioimaplib
from aioimaplib import Command, quoted

from bot.mail import sasl
from bot.mail.imap_errors import SETTING, FetchFailed, ImapError, ImapRefused, ImapUnavailable
from bot.mail.imap_wire import (
    ANY_EXISTS,
    Fetched,
    FolderStatus,
    folder_status,
    mailbox_name,
    parse_fetch,
    parse_sizes,
    response_text,
    search_uids,
    uid_set,
)
from bot.mail.oauth import OAuthRefused, OAuthUnavailable, token_source, with_fresh_token
from bot.servers import CLEARTEXT_SETTING, ImapTarget, loopback

log = logging.getLogger(__name__)
T = TypeVar("T")
SIZES_PER_FETCH = 200


class ImapConnection:
    """One logged-in connection with one folder selected.

    aioimaplib leaves a command waiting when the connection drops (an IDLE forever), so every
    call races the connection-lost signal and a timeout here, and any failure of the library
    becomes ImapUnavailable (retry) or ImapRefused (a setting is wrong).
    """

    def __init__(self, target: ImapTarget, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.client: aioimaplib.IMAP4 | None = None
        self.status = FolderStatus(uidvalidity=0, uidnext=None, exists=0)
        self._news = False  # an EXISTS came since the last look for new messages
        self._bye: str | None = None  # the server's last words before it hangs up

    @classmethod
    @asynccontextmanager
    async def open(cls, target: ImapTarget, *, seconds: float) -> AsyncIterator[ImapConnection]:
        """Connect, secure, log in and select the folder; log out on the way out.

        `seconds`: how long the server may stay silent before a command counts as failed.
        """
        conn = cls(target, timeout=seconds)
        try:
            await conn._connect()
            yield conn
        finally:
            await conn._close()

    @property
    def where(self) -> str:
        return f"{self.target.user}@{self.target.host}:{self.target.port}"

    def has(self, capability: str) -> bool:
        return self.client is not None and self.client.has_capability(capability)

    async def _connect(self) -> None:
        target = self.target
        context = ssl.create_default_context() if target.tls else None
        try:
            if context is not None:
                client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                    host=target.host, port=target.port, timeout=self.timeout, ssl_context=context
                )
            else:
                client = aioimaplib.IMAP4(host=target.host, port=target.port, timeout=self.timeout)
        except OSError as exc:
            raise ImapUnavailable(f"cannot connect to {self.where}: {exc}") from None
        self.client = client
        client.protocol.conn_lost_cb = self._on_lost
        self._notice_exists(client.protocol)
        await self._call(client.wait_hello_from_server(), "connecting")
        if not target.tls and self.has("STARTTLS"):
            await self._starttls()
        elif not target.tls and not target.cleartext_ok:
            raise ImapRefused(
                SETTING,
                f"{target.shown} offers no STARTTLS, and Handoff sends no password in clear to a "
                f"host that is not loopback (use imaps://, or {CLEARTEXT_SETTING}=true on a "
                "trusted private network)",
            )
        elif not target.tls and not loopback(target.host):
            log.warning("%s: logging in without TLS (%s)", self.where, CLEARTEXT_SETTING)
        if target.oauth is not None:
            await self._sign_in_with_token()
        else:
            await self._log_in()
        # Capabilities change after login (RFC 3501 section 6.2.3): ask again.
        await self._call(client.protocol.capability(), "CAPABILITY")
        await self.select()

    async def _log_in(self) -> None:
        assert self.client is not None
        if self.has("LOGINDISABLED"):
            raise ImapRefused(
                SETTING,
                f"{self.where} refuses to log in without TLS and offers no STARTTLS (use imaps://)",
            )
        target = self.target
        response = await self._call(
            self.client.login(quoted(target.user), target.password), "logging in"
        )
        if response.result != "OK":
            raise ImapRefused(
                SETTING,
                f"{self.where} refused the login: {response_text(response.lines) or 'no reason'}",
            )

    async def _sign_in_with_token(self) -> None:
        """SASL XOAUTH2 or OAUTHBEARER; a refused token is replaced once (it may have expired
        or been revoked since it was fetched)."""
        oauth = self.target.oauth
        assert self.client is not None and oauth is not None
        target, protocol = self.target, self.client.protocol
        mechanism = next((m for m in sasl.MECHANISMS if self.has(f"AUTH={m}")), None)
        if mechanism is None:
            raise ImapRefused(
                "HANDOFF_IMAP_AUTH",
                f"{self.where} offers neither XOAUTH2 nor OAUTHBEARER, so it takes no OAuth token",
            )
        answer: tuple[Any, str] = (None, "")

        async def log_in(token: str) -> bool:
            nonlocal answer
            initial = sasl.initial_response(mechanism, target.user, token, target.host, target.port)
            answer = await self._call(
                sasl.authenticate(protocol, mechanism, initial, sasl_ir=self.has("SASL-IR")),
                "logging in",
            )
            return bool(answer[0].result == "OK")

        try:
            taken = await with_fresh_token(token_source(oauth), log_in)
        except OAuthRefused as exc:
            setting, _, reason = str(exc).partition(": ")
            raise ImapRefused(setting, reason) from None
        except OAuthUnavailable as exc:
            raise ImapUnavailable(str(exc)) from None
        if taken:
            protocol.state = aioimaplib.AUTH
            return
        response, status = answer
        said = response_text(response.lines) or "no reason"
        raise ImapRefused(
            SETTING,
            f"{self.where} refused the OAuth token ({mechanism}): {said}"
            + (f" (status {status})" if status else ""),
        )

    def _notice_exists(self, protocol: Any) -> None:
        """Remember every untagged EXISTS, including those the library drops.

        A server reports new mail whenever it likes (RFC 3501 section 7.3.1), also in the
        middle of our FETCH; aioimaplib logs such a line as ignored, and the server does not
        repeat it when IDLE begins, so the message would wait for the next IDLE round.
        """
        original = protocol._untagged_response

        def untagged(line: bytes) -> Any:
            if ANY_EXISTS.match(line):
                self._news = True
            elif line.startswith((b"* BYE", b"BYE")):
                self._bye = (
                    line.removeprefix(b"* ")
                    .removeprefix(b"BYE")
                    .decode("utf-8", "replace")
                    .strip()[:200]
                )
            return original(line)

        protocol._untagged_response = untagged

    async def _starttls(self) -> None:
        assert self.client is not None
        protocol = self.client.protocol
        response = await self._call(
            protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
            "STARTTLS",
        )
        if response.result != "OK":
            raise ImapUnavailable(f"{self.where} refused STARTTLS: {response_text(response.lines)}")
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                protocol.transport,
                protocol,
                ssl.create_default_context(),
                server_hostname=self.target.host,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ImapUnavailable(f"TLS with {self.where} failed: {exc}") from None
        if transport is None:
            raise ImapUnavailable(f"TLS with {self.where} failed")
        protocol.transport = transport
        # What the server said before TLS may have been tampered with (RFC 3501 section 6.2.1).
        await self._call(protocol.capability(), "CAPABILITY")

    async def select(self) -> FolderStatus:
        assert self.client is not None
        folder = self.target.folder
        response = await self._call(self.client.select(mailbox_name(folder)), "SELECT")
        if response.result != "OK":
            raise ImapRefused(
                SETTING,
                f"folder {folder!r} not found on {self.where}: {response_text(response.lines)}",
            )
        self.status = folder_status(response.lines)
        return self.status

    async def folder_exists(self, name: str) -> bool:
        assert self.client is not None
        response = await self._call(self.client.list('""', mailbox_name(name)), "LIST")
        # aioimaplib strips "* LIST " off each answer, leaving "(\\HasNoChildren) "." name".
        return response.result == "OK" and any(
            isinstance(line, bytes) and line.lstrip(b"* LIST").startswith(b"(")
            for line in response.lines
        )

    async def uids_after(self, uid: int) -> list[int]:
        """UIDs of every message above `uid`, oldest first, in one line of answer."""
        assert self.client is not None
        self._news = False
        response = await self._call(
            self.client.uid_search(f"UID {uid + 1}:*", charset=None), "UID SEARCH"
        )
        self._check(response, "UID SEARCH")
        # "n:*" names the highest UID even when it is below n (RFC 3501 section 6.4.8).
        return [u for u in search_uids(response.lines) if u > uid]

    async def sizes(self, uids: list[int]) -> list[tuple[int, int]]:
        """(uid, size) of the given messages.

        Asked for a few at a time: aioimaplib reads a response with one recursive call per
        line, and thousands of lines in one answer would exhaust Python's recursion limit.
        """
        sizes: list[tuple[int, int]] = []
        for start in range(0, len(uids), SIZES_PER_FETCH):
            numbers = uid_set(uids[start : start + SIZES_PER_FETCH])
            response = await self._uid("fetch", numbers, "(UID RFC822.SIZE)")
            sizes += parse_sizes(response.lines)
        return sorted(sizes)

    async def fetch(self, uids: list[int]) -> list[Fetched]:
        """The messages, byte for byte, with their INTERNALDATE; PEEK leaves \\Seen alone.

        A message the server cannot read fails the whole command: FetchFailed, with its words.
        A UID no longer in the folder is simply not in the answer.
        """
        assert self.client is not None
        self._bye = None
        command = self.client.uid("fetch", uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
        try:
            response = await self._call(command, "UID FETCH", None)
        except ImapUnavailable:
            if self._bye is None:
                raise  # the network, or a server gone quiet: an outage, not the messages
            raise FetchFailed(self.where, uids, self._bye, lost=True) from None
        if response.result != "OK":
            words = response_text(response.lines) or response.result
            raise FetchFailed(self.where, uids, words, lost=False)
        return sorted(parse_fetch(response.lines), key=lambda m: m.uid)

    async def uids_through(self, uid: int) -> list[int]:
        """UIDs at or below `uid` still in the folder and not marked deleted."""
        assert self.client is not None
        if uid < 1:
            return []
        response = await self._call(
            self.client.uid_search(f"UID 1:{uid}", "UNDELETED", charset=None), "UID SEARCH"
        )
        self._check(response, "UID SEARCH")
        return [u for u in search_uids(response.lines) if u <= uid]

    async def move(self, uids: list[int], folder: str) -> None:
        """MOVE where the server has it; else COPY, flag deleted and UID EXPUNGE (UIDPLUS)."""
        if not uids:
            return
        target, numbers = mailbox_name(folder), uid_set(uids)
        if self.has("MOVE"):
            await self._uid("move", numbers, target)
            return
        await self._uid("copy", numbers, target)
        await self._uid("store", numbers, "+FLAGS.SILENT", r"(\Deleted)")
        if self.has("UIDPLUS"):
            await self._uid("expunge", numbers)

    async def wait_for_news(self, *, idle_seconds: float, poll_seconds: float) -> None:
        """Return when the folder may have new mail: an IDLE push, or the next poll."""
        assert self.client is not None
        client = self.client
        if self._news:
            return  # announced while we were busy
        if not self.has("IDLE"):
            await asyncio.wait({self._lost}, timeout=poll_seconds)
            self._raise_if_lost("polling")
            await self._call(client.noop(), "NOOP")
            return
        idle = await self._call(client.idle_start(timeout=idle_seconds), "IDLE")
        try:
            while not self._news:
                push = await self._call(
                    client.wait_server_push(timeout=idle_seconds + self.timeout), "IDLE", None
                )
                if push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    return  # time to re-issue IDLE, well before the server's 30 minutes
                # "* OK Still here", flag changes, expunges: nothing new to fetch; an EXISTS
                # has set self._news on its way in.
        finally:
            if not self._lost.done() and client.has_pending_idle():
                client.idle_done()
                with suppress(ImapError):
                    await self._call(idle, "DONE")

    async def _uid(self, command: str, *args: str) -> Any:
        assert self.client is not None
        # No overall deadline: aioimaplib's own timer fires when the server goes quiet for
        # `timeout` seconds, so a 25 MB message on a slow link is not cut off.
        response = await self._call(self.client.uid(command, *args), f"UID {command}", None)
        self._check(response, f"UID {command.upper()}")
        return response

    def _check(self, response: Any, what: str) -> None:
        if response.result != "OK":
            raise ImapUnavailable(f"{self.where} answered {what} with {response.result}")

    def _on_lost(self, exc: Exception | None) -> None:
        if not self._lost.done():
            self._lost.set_result(None)

    def _raise_if_lost(self, what: str) -> None:
        if self._lost.done():
            raise ImapUnavailable(f"{self.where} closed the connection during {what}")

    async def _call(self, awaitable: Awaitable[T], what: str, limit: float | None = -1.0) -> T:
        """Await one library call, racing the connection's loss and a time limit (None: none)."""
        wait = self.timeout if limit == -1.0 else limit
        task: asyncio.Future[Any] = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait(
                {task, self._lost}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task not in done:
            task.cancel()
            self._raise_if_lost(what)
            raise ImapUnavailable(f"{self.where} did not answer {what} within {wait:g}s")
        try:
            return cast(T, task.result())
        except ImapError:
            raise
        except ssl.SSLCertVerificationError as exc:
            # Not a passing outage: the server is not who the URL names, or its certificate
            # is not trusted here (a private CA goes in SSL_CERT_FILE).
            raise ImapRefused(
                SETTING, f"TLS certificate of {self.target.host} not trusted: {exc.verify_message}"
            ) from None
        except (aioimaplib.AioImapException, OSError, ssl.SSLError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            raise ImapUnavailable(f"{self.where}: {what} failed: {detail}") from None

    async def _close(self) -> None:
        client = self.client
        if client is None:
            return
        if not self._lost.done() and client.protocol.transport is not None:
            with suppress(ImapError):
                await self._call(client.logout(), "LOGOUT", min(self.timeout, 2.0))
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        for task in list(client.tasks) + list(client.protocol.tasks):
            task.cancel()
