"""LMTP (RFC 2033): partner mail handed straight to `handoff serve` by the MTA, no IMAP between.

Postfix (`mailbox_transport = lmtp:inet:handoff:24`) or Dovecot delivers each message once and
waits for one reply per accepted recipient after DATA. A recipient hears 250 only once the
message and what it caused are committed; 451 while the database cannot take it (the MTA keeps
the message and tries again, and the retry is a duplicate at worst); 550 at RCPT only for an
address no partner or mailbox matches, when HANDOFF_LMTP_REJECT_UNKNOWN asks for that.

The envelope is the truth about delivery: each accepted RCPT TO is written on top of the message
as a `Delivered-To:` trace field, as a final delivery agent does, so a Bcc'd intro is attributed
from the address it was delivered to even when no header names the partner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from aiosmtpd.lmtp import LMTP

from bot.db import transient
from bot.intake.arrivals import Arrivals, trace
from bot.servers import Listen

log = logging.getLogger("handoff.lmtp")

LINE_LIMIT = 64 * 1024  # RFC 5321 allows 1,000; real mail has longer lines, and none is refused


class _PerRecipient(LMTP):
    """aiosmtpd's LMTP, whose own refusals after DATA (too much data, a line too long) are
    repeated once per accepted recipient, as RFC 2033 section 4.2 asks: a client waits for
    exactly that many replies. The handler's answers already come one per recipient."""

    _in_data = False
    line_length_limit = LINE_LIMIT

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command names
        self._in_data = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._in_data = False

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        envelope = self.envelope
        many = len(envelope.rcpt_tos) if envelope is not None else 1
        if self._in_data and not text.startswith("354") and "\r\n" not in text and many > 1:
            status = "\r\n".join([text] * many)
        await super().push(status)


class Delivery:
    """aiosmtpd's handler: each message stored (bot/intake/arrivals.py), then answered."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.settings = arrivals.settings

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.settings.lmtp_reject_unknown:
            try:
                directory = await self.arrivals.directory()
            except Exception as exc:  # noqa: BLE001 - the MTA tries again later
                if not transient(exc):
                    log.exception("lmtp: checking <%s> failed", address)
                return "451 4.3.0 Handoff's database is unavailable; try again later"
            if not directory.is_partner_address(address.strip().lower()):
                return f"550 5.1.1 <{address}>: no partner address or mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        recipients = list(envelope.rcpt_tos)
        raw = trace(envelope.mail_from or "", recipients) + envelope.original_content
        source = f"lmtp:{session.peer[0] if isinstance(session.peer, tuple) else 'socket'}"
        reply = await self.deliver(raw, source)
        return "\r\n".join([reply] * len(recipients))

    async def deliver(self, raw: bytes, source: str) -> str:
        """Store the message with all it causes; the reply every recipient gets."""
        result = await self.arrivals.store(raw, source)
        if result is None:  # nothing was stored: the MTA keeps it and tries again
            return "451 4.3.0 Handoff could not store the message now; try again later"
        ref = f" ({result.referral})" if result.referral else ""
        return f"250 2.0.0 stored as {result.kind}{ref}"


class LmtpServer:
    """The listening socket in serve's own event loop."""

    def __init__(self, listen: Listen, delivery: Delivery, *, max_bytes: int) -> None:
        self.listen = listen
        self.delivery = delivery
        self.max_bytes = max_bytes
        self.server: asyncio.Server | None = None

    def _protocol(self) -> _PerRecipient:
        return _PerRecipient(
            self.delivery,
            hostname=socket.getfqdn(),
            ident="Handoff LMTP",
            data_size_limit=self.max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        listen = self.listen
        if listen.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(listen.path)  # a socket left by a process that died
            self.server = await loop.create_unix_server(self._protocol, listen.path)
        else:
            assert listen.port is not None
            self.server = await loop.create_server(self._protocol, listen.host, listen.port)
        log.info("lmtp: taking mail on %s", self.address)

    @property
    def address(self) -> str:
        if self.server is None or self.listen.path is not None:
            return self.listen.shown
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    @property
    def port(self) -> int | None:
        if self.server is None or self.listen.path is not None:
            return None
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Take no new connection; a delivery under way finishes or the MTA retries it."""
        if self.server is None:
            return
        self.server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 10)
        if self.listen.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen.path)
