"""A deal changed in the CRM, applied to its referral: the stage (read through the stage map)
and the amount, as events whose actor is the CRM, so that the Slack post, the digest and the
reports show a deal won there without anyone typing it again.

A stage changed on both sides since the last sync keeps the later change and records both: the
CRM's kept, with a note of Handoff's it replaced; or Handoff's kept, with a note of the CRM's
it overrode, and written back to the deal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crm import records
from bot.crm.stages import StageMap
from bot.models import Event
from bot.referrals import actions, timeline
from bot.referrals.acting import Actor, Refused
from bot.vocabulary import EventKind, Stage

event: sa.Table = Event.__table__  # type: ignore[attr-defined]
CRM = Actor(user="hubspot", manager=True, system=records.CRM_ACTOR)
STAGE_KINDS = (str(EventKind.STAGE_CHANGED), str(EventKind.NOT_A_FIT))


@dataclass(frozen=True)
class DealChange:
    """A deal as read from the CRM."""

    deal_id: str
    ref: str
    stage: str | None  # the CRM's stage id
    amount: float | None
    modified_at: datetime  # when the deal last changed (any property)
    stage_at: datetime | None = None  # when it entered its stage, when HubSpot says


async def apply(
    engine: AsyncEngine, change: DealChange, stages: StageMap, *, currency: str = "USD"
) -> str | None:
    """Apply one deal's change to its referral; a line saying what happened, or None."""
    known = await records.deal_of(engine, change.ref)
    if known is None:
        return f"deal {change.deal_id}: no referral {change.ref} here"
    if known.seen_modified_at is not None and change.modified_at <= known.seen_modified_at:
        return None  # read before our last write or read of the deal: nothing newer in it
    moved = change.stage != known.seen_stage
    repriced = change.amount is not None and change.amount != known.seen_amount
    seen = {
        "deal_id": change.deal_id,
        "seen_stage": change.stage,
        "seen_amount": change.amount,
        "seen_modified_at": change.modified_at,
    }
    if not moved and not repriced:
        await records.keep(engine, known.id, **seen)
        return None
    target = stages.ours(change.stage)
    if target is None:
        await records.keep(engine, known.id, **seen)
        return f"{known.ref}: the deal's stage {change.stage!r} is not in HANDOFF_HUBSPOT_STAGES"
    if not moved and target != Stage.WON:
        # An amount typed on an open deal is a forecast, not revenue: only a won deal's counts.
        await records.keep(engine, known.id, **seen)
        return None
    ours_at = await _changed_here_since(engine, known.id, known.pushed_at)
    note = None
    theirs_at = change.stage_at or change.modified_at
    if ours_at is not None and ours_at > theirs_at and known.stage != target:
        # Ours is the later change: the deal gets it back, and the CRM's is on the record.
        detail = (
            f"HubSpot moved the deal to {change.stage} at {change.modified_at:%Y-%m-%d %H:%M} "
            f"UTC; the later change here ({known.stage}) is kept and written back"
        )
        await _conflict(engine, known.id, change.modified_at, detail, push=True)
        await records.keep(engine, known.id, **seen)
        return f"{known.ref}: {detail}"
    if ours_at is not None and known.stage != target:
        note = f"HubSpot's later change replaces the change here to {known.stage}"
    amount = change.amount if target == Stage.WON else None
    if target == Stage.WON and amount is None:
        await records.keep(engine, known.id, **(seen | {"seen_stage": known.seen_stage}))
        return f"{known.ref}: won in HubSpot without an amount; applied once the deal has one"
    try:
        outcome = await actions.set_stage(
            engine=engine,
            ref=known.ref,
            actor=CRM,
            stage=target,
            amount=amount,
            at=change.modified_at,
            request=f"hubspot:{change.deal_id}:{change.modified_at.isoformat()}",
            currency=currency,
        )
    except Refused as exc:
        await records.keep(engine, known.id, **seen)
        return f"{known.ref}: {exc}"
    if note:
        await _conflict(engine, known.id, change.modified_at, note, push=False)
    # The deal shows the referral's stage now: a push need not write it back.
    await records.keep(engine, known.id, **seen, pushed_stage=str(target))
    if outcome.note:  # at that stage already
        return None
    return f"{known.ref}: {target} from HubSpot" + (
        f" ({amount:,.2f} {currency})" if amount else ""
    )


async def _conflict(
    engine: AsyncEngine, referral_id: int, at: datetime, detail: str, *, push: bool
) -> None:
    """A stage changed on both sides: which one was kept, on the record; `push`: ours goes
    back to the deal."""
    async with engine.begin() as conn:
        await timeline.record(
            conn, referral_id, EventKind.CRM_CONFLICT, actor=CRM.name, at=at, detail=detail
        )
        if push:
            await records.queue_push(conn, referral_id)


async def _changed_here_since(
    engine: AsyncEngine, referral_id: int, since: datetime | None
) -> datetime | None:
    """When the referral's stage last changed in Handoff after the deal was last written."""
    query = sa.select(sa.func.max(event.c.at)).where(
        event.c.referral_id == referral_id,
        event.c.kind.in_(STAGE_KINDS),
        event.c.actor != records.CRM_ACTOR,
    )
    if since is not None:
        query = query.where(event.c.at > since)
    async with engine.connect() as conn:
        return await conn.scalar(query)
