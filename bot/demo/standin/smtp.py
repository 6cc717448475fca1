"""A real SMTP server (aiosmtpd) on a loopback port that keeps what it receives.

The tests' SMTP server, and the partners' inbox in `handoff demo`.
"""

from __future__ import annotations

import asyncio
import email
import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class Inbox:
    """aiosmtpd's handler: refuses the addresses in `refuse` (with the given reply), keeps
    the rest."""

    received: list[Delivered] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_all: str | None = None  # every recipient, as a relay that will not relay for us
    # After keeping a message: answer only this many seconds later, or hang up unanswered.
    answer_after: float = 0.0
    hang_up: bool = False

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        if self.refuse_all:
            return self.refuse_all
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        self.received.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), raw))
        if self.hang_up:
            server.transport.close()
        elif self.answer_after:
            await asyncio.sleep(self.answer_after)
        return "250 2.0.0 queued"

    def to(self, address: str) -> list[Delivered]:
        return [d for d in self.received if address in d.rcpt_tos]


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller.server is not None:
            self.controller.stop()

    def restart(self) -> None:
        """Up again on the same port (a controller does not start twice)."""
        self.stop()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
