"""The sweeps: each derives what is due from the database, records it once, and queues it.

A sweep is a handful of queries whatever the number of referrals: one select of candidates
(with what was sent of their current cycle), one bulk insert of the nudges that are new
(ON CONFLICT DO NOTHING … RETURNING: what another process recorded first is not returned, so
it is not sent again), and one bulk insert of their outbox jobs, all in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.config import Settings
from bot.db import as_utc, stage_is, upsert_insert
from bot.models import Event, Nudge, Partner, Referral, utcnow
from bot.nudges import due as rules
from bot.nudges import registration
from bot.nudges.due import Due, To
from bot.nudges.queries import candidates, nudged
from bot.nudges.registration import EXPIRING, UNCONFIRMED
from bot.outbox import INSERT_JOB, job_row
from bot.runs import Run, record_failure, record_run
from bot.vocabulary import AWAITING_STAGES, OPEN_STAGES, EventKind, JobKind, NudgeKind, Stage

log = logging.getLogger("handoff.jobs")
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]

UNCLAIMED = "unclaimed"
FIRST_RESPONSE = "first-response"
NEXT_STEPS = "next-steps"
INACTIVE_PARTNERS = "inactive-partners"
SWEEPS = (UNCLAIMED, FIRST_RESPONSE, NEXT_STEPS, INACTIVE_PARTNERS, EXPIRING, UNCONFIRMED)
# Written as IN, not NOT IN: a partial index on open referrals (models.Referral) serves only a
# query whose WHERE implies the index's own (SQLite's rule; PostgreSQL's planner agrees).
_OPEN = stage_is(referral.c.stage, *OPEN_STAGES)


class People(Protocol):
    """Who the managers are and which time zone people are in (Slack, bot/slack/people.py)."""

    async def managers(self) -> list[str] | None:
        """Managers' user ids; None when Slack cannot say right now (try again later)."""
        ...

    async def zones(self, users: Collection[str]) -> dict[str, ZoneInfo]:
        """Each user's time zone, where known."""
        ...


@dataclass(frozen=True)
class Planned:
    """A nudge this sweep recorded (or, dry, would record), and where it goes."""

    due: Due
    targets: tuple[str | None, ...]  # None: the post's thread


SweepResult = Run[Planned]


class Sweeper:
    """Runs one sweep by name as of an instant (the clock's now unless told)."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        people: People,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.people = people
        self.clock = clock
        self._finders: dict[str, Callable[[AsyncConnection, datetime], Awaitable[list[Due]]]] = {
            UNCLAIMED: self._unclaimed,
            FIRST_RESPONSE: self._first_response,
            NEXT_STEPS: self._next_steps,
            INACTIVE_PARTNERS: self._inactive_partners,
            EXPIRING: lambda conn, as_of: registration.expiring(
                conn, as_of, settings.expiry_notice
            ),
            UNCONFIRMED: lambda conn, as_of: registration.unconfirmed(
                conn, as_of, settings.confirm_wait
            ),
        }

    async def run(
        self, name: str, *, as_of: datetime | None = None, dry_run: bool = False
    ) -> SweepResult:
        """Find what is due, record what is new and queue it; dry: the same, then roll back."""
        if name not in self._finders:
            raise KeyError(name)
        as_of = (as_of or self.clock()).astimezone(UTC)
        result = SweepResult(name, as_of, dry_run)
        started, wall = time.perf_counter(), utcnow()
        try:
            async with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    # A sweep reads a few hundred rows through its partial index. PostgreSQL
                    # overestimates them (the index's conditions are correlated) and, at a
                    # million referrals, picked a parallel scan of 400,000 open ones instead:
                    # 93 ms against 5 ms (README "Performance"). Parallel workers never help here.
                    await conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
                dues = await self._finders[name](conn, as_of)
            managers: list[str] | None = []
            if any(d.to == To.MANAGERS for d in dues):
                managers = await self.people.managers()
                if managers is None:
                    result.warnings.append(
                        "the managers' user group cannot be read from Slack now; "
                        "their nudges wait for the next run"
                    )
                    dues = [d for d in dues if d.to != To.MANAGERS]
                elif not managers:
                    result.warnings.append("HANDOFF_MANAGERS is empty: escalations go nowhere")
            async with self.engine.connect() as conn:
                tx = await conn.begin()
                await self._record(conn, dues, managers or [], result)
                result.seconds = time.perf_counter() - started
                if dry_run:
                    await tx.rollback()
                else:
                    await record_run(
                        conn, name, wall, as_of, result.seconds, len(result.planned), None
                    )
                    await tx.commit()
                    metrics.NUDGES.labels(sweep=name).inc(len(result.planned))
        except Exception as exc:
            if not dry_run:
                await record_failure(self.engine, name, wall, as_of, started, exc)
            raise
        return result

    async def _record(
        self, conn: AsyncConnection, dues: list[Due], managers: list[str], result: SweepResult
    ) -> None:
        if not dues:
            return
        created = result.as_of
        rows = [
            {
                "kind": str(d.kind),
                "subject": d.subject,
                "referral_id": d.subject or None,
                "cycle_at": d.cycle_at,
                "level": d.level,
                "due_at": d.due_at,
                "created_at": created,
                "detail": d.detail,
            }
            for d in dues
        ]
        insert = upsert_insert(conn.dialect, nudge)
        returned = await conn.execute(
            insert.on_conflict_do_nothing().returning(
                nudge.c.id, nudge.c.kind, nudge.c.subject, nudge.c.cycle_at, nudge.c.level
            ),
            rows,
        )
        new = {(r.kind, r.subject, r.cycle_at, r.level): r.id for r in returned}
        jobs = []
        for d in dues:
            nudge_id = new.get(d.key)
            if nudge_id is None:
                continue  # recorded before: by an earlier run, or by another process just now
            targets: tuple[str | None, ...]
            if d.to == To.THREAD:
                targets = (None,)
            elif d.to == To.OWNER:
                targets = (d.owner,)
            else:
                targets = tuple(managers)
            result.planned.append(Planned(d, targets))
            await registration.recorded(conn, d, result.as_of, wait=self.settings.confirm_wait)
            jobs += [
                job_row(JobKind.SLACK_NUDGE, d.subject or None, nudge_id=nudge_id, target=t)
                for t in targets
            ]
        if jobs:
            ids = await conn.execute(INSERT_JOB.returning(INSERT_JOB.table.c.id), jobs)
            result.job_ids = [row.id for row in ids]

    # --- the rules' candidates -------------------------------------------------------------

    async def _unclaimed(self, conn: AsyncConnection, as_of: datetime) -> list[Due]:
        """Posted, unclaimed, open referrals waiting longer than the claim SLA."""
        released = (
            sa.select(sa.func.max(event.c.at))
            .where(event.c.referral_id == referral.c.id, event.c.kind == str(EventKind.RELEASED))
            .correlate(referral)
            .scalar_subquery()
        )
        since = sa.func.coalesce(
            released, referral.c.received_at, type_=referral.c.received_at.type
        )
        escalated = nudged(NudgeKind.UNCLAIMED, since, level=2)  # the managers heard
        sla = self.settings.claim_sla
        query = sa.select(
            referral.c.id, referral.c.ref, referral.c.slack_ts, since.label("since")
        ).where(
            referral.c.owner.is_(None),
            stage_is(referral.c.stage, Stage.NEW),  # ix_referral_unclaimed
            referral.c.slack_ts.is_not(None),
            referral.c.received_at <= as_of - sla,
            ~escalated,
        )
        dues = []
        for row in await candidates(conn, query):
            posted = _ts_time(row.slack_ts)
            dues += rules.unclaimed(
                subject=row.id, ref=row.ref, since=row.since, posted_at=posted, now=as_of, sla=sla
            )
        return dues

    async def _first_response(self, conn: AsyncConnection, as_of: datetime) -> list[Due]:
        """Claimed, open referrals with no first response whose managers were not told yet."""
        cycle = sa.func.coalesce(
            referral.c.response_snoozed_until,
            referral.c.claimed_at,
            type_=referral.c.claimed_at.type,
        )
        escalated = nudged(NudgeKind.FIRST_RESPONSE, cycle, level=2)  # the managers heard
        query = (
            sa.select(
                referral.c.id,
                referral.c.ref,
                referral.c.owner,
                referral.c.claimed_at,
                referral.c.response_snoozed_until,
                partner.c.first_response_sla_seconds.label("sla"),
            )
            .join(partner, partner.c.id == referral.c.partner_id)
            .where(
                referral.c.owner.is_not(None),
                referral.c.claimed_at.is_not(None),
                referral.c.first_response_at.is_(None),
                # Open, not talking yet: claimed or contacted (ix_referral_awaiting_response).
                stage_is(referral.c.stage, *AWAITING_STAGES),
                ~escalated,
            )
        )
        default = self.settings.first_response_sla
        dues = []
        for row in await candidates(conn, query):
            sla = default if row.sla is None else timedelta(seconds=row.sla)
            dues += rules.first_response(
                subject=row.id,
                ref=row.ref,
                owner=row.owner,
                claimed_at=row.claimed_at,
                snoozed_until=row.response_snoozed_until,
                now=as_of,
                sla=sla,
            )
        return dues

    async def _next_steps(self, conn: AsyncConnection, as_of: datetime) -> list[Due]:
        """Open referrals whose next joint step is due today somewhere in the world, or overdue."""
        cycle = sa.func.coalesce(
            referral.c.step_snoozed_until,
            referral.c.next_step_due,
            type_=referral.c.next_step_due.type,
        )
        sent = (
            sa.select(sa.func.max(nudge.c.level))
            .where(
                nudge.c.kind == str(NudgeKind.NEXT_STEP),
                nudge.c.subject == referral.c.id,
                nudge.c.cycle_at == cycle,
            )
            .correlate(referral)
            .scalar_subquery()
        )
        query = sa.select(
            referral.c.id,
            referral.c.ref,
            referral.c.owner,
            referral.c.next_step_due,
            referral.c.step_snoozed_until,
            sent.label("sent"),
        ).where(
            referral.c.next_step_due.is_not(None),
            referral.c.owner.is_not(None),
            _OPEN,
            cycle <= as_of - rules.EARLIEST_REMINDER,
        )
        rows = await candidates(conn, query)
        zones = await self.people.zones({row.owner for row in rows}) if rows else {}
        fallback = self.settings.tz
        dues = []
        for row in rows:
            for due in rules.next_step(
                subject=row.id,
                ref=row.ref,
                owner=row.owner,
                due_day=row.next_step_due,
                snoozed_until=row.step_snoozed_until,
                zone=zones.get(row.owner, fallback),
                now=as_of,
                every=self.settings.overdue_every,
            ):
                if row.sent is None or due.level > row.sent:
                    dues.append(due)
        return dues

    async def _inactive_partners(self, conn: AsyncConnection, as_of: datetime) -> list[Due]:
        """One note a week listing the partners with no referral for HANDOFF_INACTIVE_AFTER."""
        quiet = await quiet_partners(conn, as_of - self.settings.inactive_after)
        if not quiet:
            return []
        slot = rules.last_slot(rules.weekly(self.settings.tz), as_of)
        detail = json.dumps(quiet, ensure_ascii=False)
        return [Due(NudgeKind.INACTIVE_PARTNERS, 0, slot, 0, slot, To.MANAGERS, detail=detail)]


async def quiet_partners(conn: AsyncConnection, threshold: datetime) -> list[dict[str, Any]]:
    """Partners whose last referral (or, with none, their registration) is before threshold."""
    last = sa.func.max(referral.c.received_at).label("last")
    query = (
        sa.select(partner.c.id, partner.c.slug, partner.c.name, partner.c.created_at, last)
        .outerjoin(referral, referral.c.partner_id == partner.c.id)
        .group_by(partner.c.id, partner.c.slug, partner.c.name, partner.c.created_at)
        .order_by(partner.c.slug)
    )
    quiet = []
    for row in await conn.execute(query):
        last_at = as_utc(row.last)
        if (last_at or row.created_at) <= threshold:
            quiet.append(
                {
                    "id": row.id,
                    "slug": row.slug,
                    "name": row.name,
                    "last": last_at.isoformat() if last_at else None,
                    "registered": row.created_at.isoformat(),
                }
            )
    return quiet


def _ts_time(ts: str | None) -> datetime | None:
    """When Slack took a message, from its ts ("1750000000.000100": seconds since the epoch)."""
    try:
        return datetime.fromtimestamp(float(ts), UTC) if ts else None
    except (ValueError, OverflowError):
        return None
