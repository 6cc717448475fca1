"""The CRM's side of a referral in the database: whether a sync is set up, the deal's ids,
what was last written and read, and the push job queued with each change that the deal shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import per_transaction, upsert_insert
from bot.models import CrmDeal, CrmSync, OutboxJob, Referral
from bot.outbox import job_row
from bot.referrals.snapshot import snapshot
from bot.vocabulary import CLOSED_STAGES, EventKind, JobKind

deal: sa.Table = CrmDeal.__table__  # type: ignore[attr-defined]
sync: sa.Table = CrmSync.__table__  # type: ignore[attr-defined]
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

HUBSPOT = "hubspot"
CRM_ACTOR = "hubspot"
# The changes a deal shows: owner, role, stage, next step.
PUSHED = frozenset(
    {
        EventKind.CLAIMED,
        EventKind.REASSIGNED,
        EventKind.RELEASED,
        EventKind.ROLE_CHANGED,
        EventKind.ROLE_OVERRIDDEN,
        EventKind.DISPUTE_RESOLVED,
        EventKind.CONFLICT,
        EventKind.STAGE_CHANGED,
        EventKind.NOT_A_FIT,
        EventKind.NEXT_STEP,
        EventKind.STEP_DONE,
    }
)


async def set_up(conn: AsyncConnection) -> bool:
    """Whether a CRM sync was set up, asked once per transaction."""

    async def load() -> bool:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(sync)) or 0) > 0

    return bool(await per_transaction(conn, "handoff.crm_sync", load))


async def changed(conn: AsyncConnection, kind: EventKind, referral_id: int, actor: str) -> None:
    """Queue the deal's update with a change it shows, unless one not yet started is queued (it
    will read the referral as this transaction leaves it) or the CRM made the change itself."""
    if kind not in PUSHED or actor == CRM_ACTOR or not await set_up(conn):
        return
    await queue_push(conn, referral_id)


async def queue_push(conn: AsyncConnection, referral_id: int) -> None:
    """A push job for the referral, unless one that has not started yet is waiting."""
    waiting = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.kind == str(JobKind.CRM_PUSH),
            outbox.c.referral_id == referral_id,
            outbox.c.done_at.is_(None),
            outbox.c.leased_until.is_(None),
        )
        .limit(1)
        # PostgreSQL: a worker leasing it now waits for this transaction (and then reads what
        # it wrote), or has leased it already and the row no longer matches: never in between.
        .with_for_update()
    )
    if await conn.scalar(waiting) is None:
        await conn.execute(sa.insert(outbox), job_row(JobKind.CRM_PUSH, referral_id))


@dataclass(frozen=True)
class PushState:
    """What a push writes: the referral as it is, and the deal's ids known so far."""

    referral: dict[str, Any]
    referral_id: int
    deal_id: str | None
    contact_id: str | None
    company_id: str | None
    crm_existing: str | None
    pushed_stage: str | None = None
    read_at: datetime | None = None  # when this state was read: a later change is not in it


async def push_state(
    engine: AsyncEngine, referral_id: int, at: datetime | None = None
) -> PushState:
    async with engine.connect() as conn:
        snap = await snapshot(conn, referral_id)
        row = (await conn.execute(sa.select(deal).where(deal.c.referral_id == referral_id))).first()
        existing = await conn.scalar(
            sa.select(referral.c.crm_existing).where(referral.c.id == referral_id)
        )
    return PushState(
        referral=snap,
        referral_id=referral_id,
        deal_id=row.deal_id if row else None,
        contact_id=row.contact_id if row else None,
        company_id=row.company_id if row else None,
        crm_existing=existing,
        pushed_stage=row.pushed_stage if row else None,
        read_at=at,
    )


async def keep(engine: AsyncEngine, referral_id: int, **values: Any) -> None:
    """Record the deal's ids or state as soon as known: a retry never creates them again."""
    insert = upsert_insert(engine.dialect, deal).values(referral_id=referral_id, **values)
    async with engine.begin() as conn:
        await conn.execute(
            insert.on_conflict_do_update(index_elements=[deal.c.referral_id], set_=values)
        )


async def deal_of(engine: AsyncEngine, ref: str) -> Any:
    """The referral of a CRM deal's ref (id, stage, amount) with what was last seen of it."""
    async with engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(
                    referral.c.id,
                    referral.c.ref,
                    referral.c.stage,
                    referral.c.amount,
                    deal.c.deal_id,
                    deal.c.pushed_at,
                    deal.c.seen_stage,
                    deal.c.seen_amount,
                    deal.c.seen_modified_at,
                )
                .outerjoin(deal, deal.c.referral_id == referral.c.id)
                .where(referral.c.ref == ref.strip().upper())
            )
        ).first()


async def sync_row(engine: AsyncEngine, name: str = HUBSPOT) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(sync).where(sync.c.name == name))).first()


async def mark_set_up(engine: AsyncEngine, at: datetime, name: str = HUBSPOT) -> bool:
    """Record that the sync is set up; False if it was already."""
    insert = upsert_insert(engine.dialect, sync).values(name=name, set_up_at=at)
    async with engine.begin() as conn:
        return (await conn.execute(insert.on_conflict_do_nothing())).rowcount == 1


async def pulled(
    engine: AsyncEngine,
    *,
    cursor: datetime | None,
    at: datetime,
    error: str | None,
    name: str = HUBSPOT,
) -> None:
    values: dict[str, Any] = {"pulled_at": at, "last_error": error}
    if cursor is not None:
        values["cursor"] = cursor
    async with engine.begin() as conn:
        await conn.execute(sa.update(sync).where(sync.c.name == name).values(**values))


async def status(engine: AsyncEngine) -> dict[str, Any]:
    """Deals synced, referrals waiting for a push, pushes failing (with their last error)."""
    async with engine.connect() as conn:
        synced = await conn.scalar(
            sa.select(sa.func.count()).select_from(deal).where(deal.c.deal_id.is_not(None))
        )
        pending = (
            await conn.execute(
                sa.select(referral.c.ref, outbox.c.attempts, outbox.c.last_error, outbox.c.due_at)
                .join(referral, referral.c.id == outbox.c.referral_id)
                .where(outbox.c.kind == str(JobKind.CRM_PUSH), outbox.c.done_at.is_(None))
                .order_by(outbox.c.id)
            )
        ).all()
        existing = (
            await conn.execute(
                sa.select(referral.c.ref, referral.c.crm_existing)
                .where(referral.c.crm_existing.is_not(None))
                .order_by(referral.c.id)
            )
        ).all()
    return {
        "synced": int(synced or 0),
        "pending": [
            {"referral": r.ref, "attempts": r.attempts, "error": r.last_error}
            for r in pending
            if not r.last_error
        ],
        "failing": [
            {"referral": r.ref, "attempts": r.attempts, "error": r.last_error}
            for r in pending
            if r.last_error
        ],
        "crm_existing": [{"referral": r.ref, "crm_existing": r.crm_existing} for r in existing],
    }


async def found_existing(engine: AsyncEngine, referral_id: int, text: str, at: datetime) -> None:
    """The CRM knew the prospect with an open deal: on the referral, and in its timeline."""
    from bot.referrals import timeline  # the timeline records through this module

    async with engine.begin() as conn:
        await conn.execute(
            sa.update(referral).where(referral.c.id == referral_id).values(crm_existing=text[:2000])
        )
        await timeline.record(
            conn, referral_id, EventKind.CRM_EXISTING, actor=CRM_ACTOR, at=at, detail=text[:2000]
        )


async def queue_claimed(engine: AsyncEngine) -> int:
    """A push for every claimed referral without a deal yet (`hubspot setup --existing`)."""
    async with engine.begin() as conn:
        ids = (
            await conn.scalars(
                sa.select(referral.c.id)
                .outerjoin(deal, deal.c.referral_id == referral.c.id)
                .where(referral.c.owner.is_not(None), deal.c.deal_id.is_(None))
                .order_by(referral.c.id)
            )
        ).all()
        for referral_id in ids:
            await queue_push(conn, referral_id)
    return len(ids)


async def known_before(conn: AsyncConnection, limit: int) -> tuple[list[tuple[str, str]], int]:
    """Open referrals whose prospect the CRM already had with an open deal, newest first (the
    managers' queue), and how many there are."""
    still_open = sa.and_(
        referral.c.crm_existing.is_not(None),
        referral.c.stage.notin_([str(s) for s in CLOSED_STAGES]),
    )
    rows = (
        await conn.execute(
            sa.select(referral.c.ref, referral.c.crm_existing)
            .where(still_open)
            .order_by(referral.c.received_at.desc())
            .limit(limit)
        )
    ).all()
    total = await conn.scalar(sa.select(sa.func.count()).select_from(referral).where(still_open))
    return [(r.ref, r.crm_existing) for r in rows], int(total or 0)
