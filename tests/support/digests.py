"""Partner digests through a real SMTP server (aiosmtpd): Acme's world with two referrals,
Monday's digest sent, and the replies a mail client composes to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, load_settings
from bot.db import session_factory
from bot.demo.standin.smtp import Delivered, SmtpServer
from bot.digests.sweep import DigestRun, Digests
from bot.intake.pipeline import IngestResult, Intake
from bot.mail.outgoing import Postman
from bot.mail.smtp import Mailer
from bot.models import Event, Mail, OutboxJob, PartnerAddress
from bot.outbox import Outbox
from bot.referrals.directory import load_directory
from bot.referrals.partners import add_partner
from tests.support.world import T0, add_referral

event: sa.Table = Event.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]

DANA = "dana@acmeconsulting.example"
LEE = "lee@acmeconsulting.example"
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # the slot after T0 (Mon 2026-11-23 10:00)
ATTRIBUTION = "On Mon, Nov 30, 2026 at 10:00 AM Ours Partnerships <partners@ours.example> wrote:"


class Names:
    async def names(self, users: Collection[str]) -> dict[str, str]:
        return {u: "Sam Rivera" for u in users if u == "USAM"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@dataclass
class World:
    engine: AsyncEngine
    settings: Settings
    smtp: SmtpServer
    partner_id: int
    refs: dict[str, int]

    def digests(self) -> Digests:
        return Digests(self.engine, self.settings, Names())

    async def deliver(self, *, smtp_timeout: float = 30.0, postman: Any = None) -> int:
        """Run the outbox's email jobs until none is due; how many were tried. `postman`: the
        engine the mail handler sees, if not the world's."""
        mailer = Mailer(self.settings.smtp, timeout=smtp_timeout)  # type: ignore[arg-type]
        seen = postman or self.engine
        box = Outbox(self.engine, Postman(seen, mailer, self.settings).handlers())
        try:
            return await box.drain(within=20)
        finally:
            await mailer.close()

    async def ingest(self, raw: bytes) -> IngestResult:
        return await self.ingest_at(raw, None)

    async def ingest_at(
        self, raw: bytes, arrival: datetime | None, *, slack: bool = True
    ) -> IngestResult:
        """Intake of one message that arrived then (None: now); slack=False: a backfill."""
        async with session_factory(self.engine)() as session:
            directory = await load_directory(
                session=session,
                internal_domains=frozenset({"ours.example"}),
                mailbox="partners@ours.example",
                secret=self.settings.secret_bytes,
            )
        async with Intake.open(
            engine=self.engine, directory=directory, protection=timedelta(days=90), slack=slack
        ) as intake:
            return await intake.ingest(raw, arrival_at=arrival)

    async def events(self, kind: str = "partner_reply") -> list[tuple[str, str]]:
        """(ref, detail) of every event of this kind."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT r.ref, e.detail FROM event e JOIN referral r ON r.id = e.referral_id "
                    "WHERE e.kind = :kind ORDER BY e.id"
                ),
                {"kind": kind},
            )
            return [(r.ref, r.detail) for r in rows]

    async def contact(self, email: str) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.select(address).where(address.c.value == email))).one()


@pytest.fixture
async def world(engine: AsyncEngine, smtp: SmtpServer) -> AsyncIterator[World]:
    settings = load_settings(
        smtp_url=smtp.url,
        partner_mailbox="partners@ours.example",
        mail_from="Ours Partnerships <partners@ours.example>",
        secret="test-secret-" + "x" * 20,
        internal_domains="ours.example",
    )
    async with session_factory(engine)() as session:
        partner, _ = await add_partner(
            session=session,
            slug="acme",
            name="Acme Consulting",
            addresses=[],
            contacts=[DANA, LEE],
            domains=["acmeconsulting.example"],
        )
        partner.created_at = T0 - timedelta(days=30)
        await session.commit()
        partner_id = partner.id
    assert partner_id is not None
    refs = {
        "ACME-1": await add_referral(
            engine,
            partner_id,
            received=T0 - timedelta(days=10),
            owner="USAM",
            stage="meeting",
            claimed_at=T0 - timedelta(days=10),
            first_response_at=T0 - timedelta(days=9, hours=20),
            prospect_company="Wayne Enterprises",
            next_step="Demo with their CTO",
            next_step_due=T0 + timedelta(days=8),
        ),
        "ACME-2": await add_referral(engine, partner_id, received=T0 + timedelta(days=2)),
    }
    yield World(engine, settings, smtp, partner_id, refs)


def reply(
    digest: Delivered,
    body: str,
    *,
    sender: str = f"Dana Scully <{DANA}>",
    to: str | None = None,
    headers: dict[str, str] | None = None,
    subject: str | None = None,
    quote: bool = True,
    content_type: str = "text/plain",
) -> bytes:
    """What a mail client sends when its user answers the digest: Reply-To, In-Reply-To.

    With quote=False the body is the whole of it, quotes and all (inline answers, HTML).
    """
    original = digest.message
    quoted = "\n".join("> " + line for line in digest.part("plain").splitlines())
    history = [ATTRIBUTION, quoted] if quote else []
    lines = [
        f"From: {sender}",
        f"To: {to or original['Reply-To']}",
        f"Subject: {subject or 'Re: ' + str(original['Subject'])}",
        f"Date: {format_datetime(MONDAY_9 + timedelta(hours=2))}",
        f"Message-ID: <reply-{abs(hash(body))}@mail.acmeconsulting.example>",
        f"In-Reply-To: {original['Message-ID']}",
        f"References: {original['Message-ID']}",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
        "",
        body,
        "",
        *history,
    ]
    return "\r\n".join(lines).encode()


async def sent_digest(world: World, as_of: datetime = MONDAY_9) -> DigestRun:
    run = await world.digests().sweep(as_of=as_of + timedelta(minutes=1))
    await world.deliver()
    return run


def answered(digest: Delivered, answers: dict[str, str], *, top: str = "", end: str = "") -> str:
    """The digest's plain text quoted as a client quotes it, with each answer under the first
    quoted line that starts with its key, then `end` (a signature) after the last quote."""
    lines = [top, ""] if top else []
    lines.append(ATTRIBUTION)
    waiting = dict(answers)
    for line in digest.part("plain").splitlines():
        lines.append(f"> {line}".rstrip())
        key = next((k for k in waiting if line.strip().startswith(k)), None)
        if key is not None:
            lines += ["", waiting.pop(key), ""]
    assert not waiting, f"no quoted line starts with {list(waiting)}"
    return "\n".join([*lines, "", end] if end else lines)
