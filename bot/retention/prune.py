"""Forgetting what only guarded a retry, so that the tables the hot paths read stay small.

Kept for good: referrals, their events, partners, the raw mail of every message that meant
something (intros, replies, bounces, triage), and sent mail: the audit. Deleted once older
than HANDOFF_RETENTION_DAYS (default 30; 0 keeps everything):

- outbox jobs done (a job not done is never touched);
- slack_request keys (Slack retries a request within minutes, never after days);
- nudges that can never be due again: their referral is closed, claimed, answered or
  rescheduled since (bot/nudges/due.py's gone()), an overdue reminder's earlier levels, and
  past weeks' notes about inactive partners; a nudge a job still points at stays;
- stored messages that were noise: duplicates and auto-replies (the first copy of a duplicate
  stays, and noise is never answered, so reading one again changes nothing);
- webhook deliveries delivered or cancelled, once no outbox job points at them (failed ones
  stay, for `handoff webhooks redeliver`).

Each table goes in batches, each batch its own short transaction, so `handoff serve` keeps
working while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import (
    InboundMessage,
    Nudge,
    OutboxJob,
    Referral,
    SlackRequest,
    WebhookDelivery,
    utcnow,
)
from bot.nudges.due import gone
from bot.vocabulary import DeliveryStatus, Kind, NudgeKind

log = logging.getLogger("handoff.prune")
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
slack_request: sa.Table = SlackRequest.__table__  # type: ignore[attr-defined]
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]
inbound: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
delivery: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
BATCH = 5_000
NOISE = (str(Kind.DUPLICATE), str(Kind.AUTO_REPLY))
TABLES = ("outbox", "slack_request", "nudge", "inbound_message", "webhook_delivery")
GONE_DELIVERIES = (str(DeliveryStatus.DELIVERED), str(DeliveryStatus.CANCELLED))


@dataclass
class Pruned:
    """How many rows went (or would go, in a dry run) from each table, older than `before`."""

    before: datetime
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        each = ", ".join(f"{n} {table}" for table, n in self.counts.items())
        stamp = self.before.isoformat(timespec="seconds")
        return f"prune: {verb} {each} (older than {stamp}) in {self.seconds:.2f}s"

    def as_json(self) -> dict[str, object]:
        return {
            "before": self.before.isoformat(),
            "dry_run": self.dry_run,
            "deleted": self.counts,
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[str, int], None]


async def prune(
    engine: AsyncEngine,
    *,
    older_than: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Pruned:
    """Delete what only guarded a retry and is older than `older_than`."""
    started = time.perf_counter()
    result = Pruned(before=(now or utcnow()) - older_than, dry_run=dry_run)
    before = result.before
    steps = {
        "outbox": sa.select(outbox.c.id).where(
            outbox.c.done_at.is_not(None), outbox.c.done_at < before
        ),
        "slack_request": sa.select(slack_request.c.key).where(slack_request.c.at < before),
        "inbound_message": sa.select(inbound.c.id).where(
            inbound.c.kind.in_(NOISE), inbound.c.processed_at < before
        ),
        "webhook_delivery": sa.select(delivery.c.id).where(
            delivery.c.status.in_(GONE_DELIVERIES),
            delivery.c.created_at < before,
            ~sa.exists().where(outbox.c.delivery_id == delivery.c.id),
        ),
    }
    for table in TABLES:
        if table == "nudge":
            count = await _prune_nudges(engine, before, dry_run)
        else:
            count = await _prune_rows(engine, table, steps[table], dry_run)
        result.counts[table] = count
        if progress is not None:
            progress(table, count)
    result.seconds = time.perf_counter() - started
    return result


async def _prune_rows(engine: AsyncEngine, name: str, ids: sa.Select, dry_run: bool) -> int:  # type: ignore[type-arg]
    table = {
        "outbox": outbox,
        "slack_request": slack_request,
        "inbound_message": inbound,
        "webhook_delivery": delivery,
    }[name]
    key = table.primary_key.columns.values()[0]
    if dry_run:
        async with engine.connect() as conn:
            counted = sa.select(sa.func.count()).select_from(ids.subquery())
            return int(await conn.scalar(counted) or 0)
    total = 0
    while True:
        async with engine.begin() as conn:
            batch = [row[0] for row in await conn.execute(ids.limit(BATCH))]
            if batch:
                await conn.execute(sa.delete(table).where(key.in_(batch)))
        total += len(batch)
        if len(batch) < BATCH:
            return total


async def _prune_nudges(engine: AsyncEngine, before: datetime, dry_run: bool) -> int:
    total, after = 0, 0
    while True:
        async with engine.begin() as conn:
            rows = list(
                (
                    await conn.execute(
                        sa.select(nudge, *_referral_columns())
                        .outerjoin(referral, referral.c.id == nudge.c.referral_id)
                        .where(nudge.c.due_at < before, nudge.c.id > after)
                        .order_by(nudge.c.id)
                        .limit(BATCH)
                    )
                ).all()
            )
            if not rows:
                return total
            after = rows[-1].id
            dead = await _dead(conn, rows, before)
            if dead and not dry_run:
                await conn.execute(sa.delete(nudge).where(nudge.c.id.in_(dead)))
            total += len(dead)


def _referral_columns() -> list[sa.ColumnElement]:  # type: ignore[type-arg]
    names = (
        "ref",
        "owner",
        "stage",
        "first_response_at",
        "claimed_at",
        "response_snoozed_until",
        "next_step_due",
        "step_snoozed_until",
    )
    return [referral.c[name].label(name) for name in names]


async def _dead(conn: AsyncConnection, rows: list[sa.Row], before: datetime) -> list[int]:  # type: ignore[type-arg]
    """Of these nudges, those no sweep can ever find due again and no job points at."""
    latest = await _latest_levels(conn, [r.subject for r in rows if r.kind == NudgeKind.NEXT_STEP])
    dead = []
    for row in rows:
        if row.kind == NudgeKind.INACTIVE_PARTNERS:
            over = row.cycle_at < before  # only this week's note is ever due
        elif row.kind == NudgeKind.NEXT_STEP and row.level < latest.get(
            (row.subject, row.cycle_at), row.level
        ):
            over = True  # only the latest level of an overdue reminder is ever due
        elif row.referral_id is None:
            over = False  # not ours to judge
        else:
            reason = gone(
                row.kind,
                cycle_at=row.cycle_at,
                level=row.level,
                target=row.owner if row.kind != NudgeKind.UNCLAIMED else None,
                row=row,
            )
            over = reason is not None
        if over:
            dead.append(row.id)
    if not dead:
        return []
    pointed = await conn.execute(
        sa.select(outbox.c.nudge_id).where(outbox.c.nudge_id.in_(dead)).distinct()
    )
    kept = {r.nudge_id for r in pointed}
    return [n for n in dead if n not in kept]


async def _latest_levels(
    conn: AsyncConnection, subjects: list[int]
) -> dict[tuple[int, datetime], int]:
    if not subjects:
        return {}
    rows = await conn.execute(
        sa.select(nudge.c.subject, nudge.c.cycle_at, sa.func.max(nudge.c.level))
        .where(nudge.c.kind == str(NudgeKind.NEXT_STEP), nudge.c.subject.in_(set(subjects)))
        .group_by(nudge.c.subject, nudge.c.cycle_at)
    )
    return {(r[0], r[1]): r[2] for r in rows}


PRUNE_EVERY = timedelta(days=1)


async def daily(engine: AsyncEngine, *, older_than: timedelta) -> None:
    """`handoff serve`'s pruning: at start, then once a day; a failure waits for the next day."""
    while True:
        try:
            result = await prune(engine, older_than=older_than)
            (log.info if result.total else log.debug)("%s", result.line())
        except Exception as exc:  # noqa: BLE001 - pruning must not end serve
            log.warning("prune failed, tried again tomorrow: %s", exc)
        await asyncio.sleep(PRUNE_EVERY.total_seconds())
