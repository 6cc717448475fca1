"""Partner digests on each partner's schedule (stage notices: bot/digests/notices.py).

The sweep runs every HANDOFF_SWEEP_EVERY: for each partner it asks the partner's CronTrigger
(its cron line, in its zone) for the latest slot, and records one digest for that slot under a
unique key (partner, period_end), sent or not. The mails and their outbox jobs go in the same
transaction, so a restart, a caught-up run or a second replica never sends a period twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import ConfigError, Settings
from bot.db import as_utc, upsert_insert
from bot.digests import content, mailing
from bot.digests import view as partner_view
from bot.digests.mailing import Addresses
from bot.digests.view import Names
from bot.models import Digest, Event, Mail, Partner, PartnerAddress, Referral, utcnow
from bot.runs import Run, record_failure, record_run
from bot.text import parse_cron, previous_fire, zone_named
from bot.vocabulary import MailKind

log = logging.getLogger("handoff.jobs")
digest: sa.Table = Digest.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

DIGESTS = "digests"
OFF = "off"
# A slot missed by more than this (Handoff was down) is recorded as missed, not sent late:
# "last Monday's digest" arriving on Thursday would read as a glitch.
LATE_LIMIT = timedelta(hours=24)


def schedule(row: Any, settings: Settings) -> tuple[CronTrigger | None, ZoneInfo]:
    """The partner's digest trigger (None: digests off) and its time zone."""
    zone = zone_named(row.timezone) if row.timezone else settings.tz
    cron = row.digest_cron or settings.digest_schedule
    if cron.strip().lower() == OFF:
        return None, zone
    return parse_cron(cron, zone), zone


@dataclass(frozen=True)
class Planned:
    """One partner's digest of a run: sent to these recipients, or recorded with why not."""

    partner: str
    period_end: datetime
    recipients: tuple[str, ...]
    items: int
    why_not: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return self.recipients


DigestRun = Run[Planned]


class Digests:
    """Records digests (the sweep, or one partner's by hand) and renders previews."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        names: Names,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.names = names
        self.clock = clock

    async def sweep(
        self, *, as_of: datetime | None = None, dry_run: bool = False, sending: bool = True
    ) -> DigestRun:
        """Every partner whose schedule has a slot not recorded yet."""
        self.settings.mail_ready(sending=sending)
        as_of = (as_of or self.clock()).astimezone(UTC)
        result = DigestRun(DIGESTS, as_of, dry_run)
        started, wall = time.perf_counter(), utcnow()
        try:
            async with self.engine.connect() as conn:
                due = await self._due(conn, as_of, result)
            for row, slot, start in due:
                late = as_of - slot > LATE_LIMIT
                await self._one(row, start, slot, result, always=False, manual=False, late=late)
        except Exception as exc:
            if not dry_run:
                await record_failure(self.engine, DIGESTS, wall, as_of, started, exc)
            raise
        result.seconds = time.perf_counter() - started
        if not dry_run:
            async with self.engine.begin() as conn:
                sent = sum(1 for p in result.planned if p.recipients)
                await record_run(conn, DIGESTS, wall, as_of, result.seconds, sent, None)
        return result

    async def send(
        self,
        slug: str,
        *,
        as_of: datetime | None = None,
        always: bool = False,
        dry_run: bool = False,
    ) -> DigestRun:
        """One partner's digest now, covering what happened since its last one."""
        self.settings.mail_ready()
        as_of = (as_of or self.clock()).astimezone(UTC)
        result = DigestRun(DIGESTS, as_of, dry_run)
        started = time.perf_counter()
        async with self.engine.connect() as conn:
            row = await _partner(conn, slug)
            start = await _last_sent(conn, row.id)
        await self._one(row, start, as_of, result, always=always, manual=True, late=False)
        result.seconds = time.perf_counter() - started
        return result

    async def preview(self, slug: str, *, as_of: datetime | None = None) -> content.Rendered:
        """What the partner's first contact would get now; nothing is recorded."""
        if self.settings.partner_mailbox is None:
            raise ConfigError(
                "HANDOFF_PARTNER_MAILBOX: not set; digests' reply addresses are made from it"
            )
        as_of = (as_of or self.clock()).astimezone(UTC)
        async with self.engine.connect() as conn:
            row = await _partner(conn, slug)
            start = await _last_sent(conn, row.id)
            found = await partner_view.rows(conn, partner_id=row.id, start=start, end=as_of)
            contacts = await mailing.active_contacts(conn, row.id)
        names = await self.names.names(set().union(*(r.users for r in found)))
        addresses = mailing.preview_addresses(
            self.settings, partner_id=row.id, contacts=contacts, digest_id=0
        )
        _, zone = schedule(row, self.settings)
        return self._render(row, zone, start, as_of, found, names, addresses)

    def _render(
        self,
        row: Any,
        zone: ZoneInfo,
        start: datetime | None,
        end: datetime,
        found: list[partner_view.Row],
        names: dict[str, str],
        addresses: Addresses,
    ) -> content.Rendered:
        return content.digest(
            content.Digest(
                partner=row.name,
                sender=sender_name(self.settings),
                period_start=start,
                period_end=end,
                tz=zone,
                items=partner_view.items(found, names, addresses.about),
                reply_to=addresses.whole,
                unsubscribe=addresses.unsubscribe,
            )
        )

    async def _due(
        self, conn: AsyncConnection, as_of: datetime, result: DigestRun
    ) -> list[tuple[Any, datetime, datetime | None]]:
        """(partner, slot, period start) for each partner with an unrecorded slot."""
        last = (
            sa.select(sa.func.max(digest.c.period_end))
            .where(digest.c.partner_id == partner.c.id)
            .correlate(partner)
            .scalar_subquery()
        )
        last_sent = _last_sent_end(partner.c.id).correlate(partner).scalar_subquery()
        contacts = (
            sa.select(sa.func.count())
            .where(mailing.receives_mail(partner.c.id))
            .correlate(partner)
            .scalar_subquery()
        )
        query = (
            sa.select(partner, last.label("last"), last_sent.label("last_sent"))
            .where(contacts > 0)
            .order_by(partner.c.slug)
        )
        due = []
        for row in await conn.execute(query):
            try:
                trigger, _ = schedule(row, self.settings)
            except ValueError as exc:
                result.warnings.append(f"{row.slug}: digest schedule: {exc}")
                continue
            if trigger is None:
                continue
            slot = previous_fire(trigger, as_of)
            if slot is None or slot <= row.created_at:
                continue
            if row.last is not None and as_utc(row.last) >= slot:
                continue
            start = as_utc(row.last_sent)
            if start is None:
                # The first digest covers the period before its slot (or since registration).
                before = previous_fire(trigger, slot - timedelta(seconds=1))
                start = max(before or row.created_at, row.created_at)
            due.append((row, slot, start))
        return due

    async def _one(
        self,
        row: Any,
        start: datetime | None,
        end: datetime,
        result: DigestRun,
        *,
        always: bool,
        manual: bool,
        late: bool,
    ) -> None:
        async with self.engine.connect() as conn:
            found = await partner_view.rows(conn, partner_id=row.id, start=start, end=end)
        why_not = None
        if late:
            why_not = f"missed: more than {LATE_LIMIT} late"
        elif not always and not partner_view.has_news(found):
            why_not = "nothing new"
        names = {} if why_not else await self.names.names(set().union(*(r.users for r in found)))
        _, zone = schedule(row, self.settings)
        async with self.engine.connect() as conn:
            tx = await conn.begin()
            try:
                digest_id = await conn.scalar(
                    upsert_insert(conn.dialect, digest)
                    .values(
                        partner_id=row.id,
                        period_start=start,
                        period_end=end,
                        created_at=result.as_of,
                        sent=False,
                        manual=manual,
                        referrals=json.dumps([r.referral.id for r in found]),
                    )
                    .on_conflict_do_nothing()
                    .returning(digest.c.id)
                )
                if digest_id is None:
                    await tx.rollback()
                    return  # recorded by another run or process first
                recipients: tuple[str, ...] = ()
                if why_not is None:
                    contacts = await mailing.active_contacts(conn, row.id)
                    result.job_ids += await mailing.record(
                        conn,
                        settings=self.settings,
                        kind=MailKind.DIGEST,
                        partner_id=row.id,
                        contacts=contacts,
                        render=lambda a: self._render(row, zone, start, end, found, names, a),
                        at=result.as_of,
                        digest_id=digest_id,
                    )
                    recipients = tuple(c.email for c in contacts)
                    if recipients:
                        await conn.execute(
                            sa.update(digest).where(digest.c.id == digest_id).values(sent=True)
                        )
                    else:
                        why_not = "no contact receives mail"
                result.planned.append(Planned(row.slug, end, recipients, len(found), why_not))
                if result.dry_run:
                    await tx.rollback()
                else:
                    await tx.commit()
            except BaseException:
                if tx.is_active:
                    await tx.rollback()
                raise


def sender_name(settings: Settings) -> str:
    """Our side's name in partner emails: HANDOFF_MAIL_FROM's display name, else its address."""
    from email.utils import parseaddr

    name, addr = parseaddr(settings.sender or "")
    return name or addr or "Handoff"


async def _partner(conn: AsyncConnection, slug: str) -> Any:
    row = (
        await conn.execute(sa.select(partner).where(partner.c.slug == slug.strip().lower()))
    ).first()
    if row is None:
        raise ConfigError(f"partner {slug!r}: no such partner (see: handoff partners list)")
    return row


def _last_sent_end(partner_id: Any) -> sa.Select[Any]:
    """The end of the partner's last digest that was sent: the next one starts there."""
    return sa.select(sa.func.max(digest.c.period_end)).where(
        digest.c.partner_id == partner_id, digest.c.sent.is_(True)
    )


async def _last_sent(conn: AsyncConnection, partner_id: int) -> datetime | None:
    return as_utc(await conn.scalar(_last_sent_end(partner_id)))
