"""What reps do to a referral from Slack: claim, not a fit, release, reassign, role, first
response, next step, stage. Each is one transaction (bot/referrals/acting.py's prologue), a
compare-and-set on the referral, and its event."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import Partner, Referral
from bot.outbox import enqueue
from bot.referrals.acting import Actor, Outcome, Refused, act, changed, load
from bot.vocabulary import (
    CLOSED_STAGES,
    NOTICE_STAGES,
    ROLE_LABELS,
    EventKind,
    JobKind,
    Role,
    Stage,
    role_label,
)

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]

CLAIM_ROLES = frozenset(ROLE_LABELS) - {Role.DISPUTED}  # disputes are settled by managers
# What the reports count as a meeting booked and an opportunity: reached, whatever came next.
OPPORTUNITY_OR_LATER = frozenset({Stage.OPPORTUNITY, Stage.WON})
MEETING_OR_LATER = OPPORTUNITY_OR_LATER | {Stage.MEETING}

# The first response stops the clock once: a click in Slack, or a rep's reply-all (intake).
# A claim makes a new referral claimed; one a calendar invitation already moved on (a meeting
# booked before anyone claimed it) keeps its stage.
CLAIMED_UNLESS_MOVED = sa.case(
    (referral.c.stage == str(Stage.NEW), str(Stage.CLAIMED)), else_=referral.c.stage
)
MARK_FIRST_RESPONSE = (
    sa.update(referral)
    .where(referral.c.id == bindparam("b_id"), referral.c.first_response_at.is_(None))
    .values(first_response_at=bindparam("b_at", type_=referral.c.first_response_at.type))
)


async def claim(
    *, engine: AsyncEngine, ref: str, actor: Actor, role: Role, at: datetime, request: str
) -> Outcome:
    """Make the actor the owner: exactly one of any number of simultaneous claims wins."""
    if role not in CLAIM_ROLES:
        raise Refused(f"{role} is not a role one claims with")
    if not actor.may_claim:
        raise Refused("Only members of the reps' user group can claim referrals.")

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        won = await conn.execute(
            sa.update(referral)
            .where(
                referral.c.id == row.id,
                referral.c.owner.is_(None),
                referral.c.stage.notin_([str(s) for s in CLOSED_STAGES]),
            )
            # A disputed referral stays disputed until a manager settles it (/attribution), and
            # a role a manager set stays.
            .values(
                owner=actor.user,
                role=sa.case(
                    (referral.c.role == str(Role.DISPUTED), referral.c.role),
                    (referral.c.role_overridden_at.is_not(None), referral.c.role),
                    else_=role,
                ),
                stage=CLAIMED_UNLESS_MOVED,
                claimed_at=at,
                response_snoozed_until=None,
            )
        )
        if won.rowcount != 1:
            # Another claim won meanwhile; read the row again to name the winner (on
            # PostgreSQL the UPDATE waited for it, and this read sees its commit).
            now = await load(conn, row.ref)
            if now.owner == actor.user:
                raise Refused(f"You already claimed {row.ref}.")
            if now.owner:
                raise Refused(f"{row.ref} is already claimed by <@{now.owner}>.")
            raise Refused(f"{row.ref} is closed ({now.stage}); nothing to claim.")
        detail = f"claimed as {ROLE_LABELS[role]}"
        note = None
        if row.role == Role.DISPUTED:
            detail += " (the partner's role stays disputed until a manager settles it)"
            note = f"{row.ref} is yours. Its partner role is disputed until a manager settles it."
        await changed(conn, row.id, EventKind.CLAIMED, actor, at, detail)
        return Outcome(row.ref, applied=True, note=note)

    return await act(engine=engine, ref=ref, actor=actor, at=at, request=request, change=change)


async def not_a_fit(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """Close an unclaimed intro as not a fit (it stays in the reports, as disqualified)."""
    if not (actor.may_claim or actor.manager):
        raise Refused("Only members of the reps' user group can triage referrals.")

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        done = await conn.execute(
            sa.update(referral)
            .where(
                referral.c.id == row.id,
                referral.c.owner.is_(None),
                referral.c.stage.notin_([str(s) for s in CLOSED_STAGES]),
            )
            .values(stage=str(Stage.DISQUALIFIED))
        )
        if done.rowcount != 1:
            raise Refused(f"{row.ref} is already claimed or closed.")
        await changed(conn, row.id, EventKind.NOT_A_FIT, actor, at, "marked not a fit")
        return Outcome(row.ref, applied=True)

    return await act(engine=engine, ref=ref, actor=actor, at=at, request=request, change=change)


async def release(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """Give the referral back to the channel: no owner, claimable again."""

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        done = await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id, referral.c.owner == row.owner)
            .values(
                owner=None,
                claimed_at=None,
                stage=str(Stage.NEW),
                role=sa.case(
                    (referral.c.role == str(Role.DISPUTED), referral.c.role), else_=sa.null()
                ),
            )
        )
        if done.rowcount != 1:
            raise Refused(f"{row.ref} changed meanwhile; look at the post again.")
        await changed(conn, row.id, EventKind.RELEASED, actor, at, f"released (was {row.owner})")
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine, ref=ref, actor=actor, at=at, request=request, change=change, doing="release"
    )


async def reassign(
    *, engine: AsyncEngine, ref: str, actor: Actor, owner: str, at: datetime, request: str
) -> Outcome:
    """A manager hands the referral to another rep."""
    if not actor.manager:
        raise Refused("Only managers can reassign referrals.")

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        if row.owner == owner:
            raise Refused(f"{row.ref} already belongs to <@{owner}>.")
        values: dict[str, Any] = {"owner": owner}
        if row.owner is None:
            values.update(claimed_at=at, stage=CLAIMED_UNLESS_MOVED)
        await conn.execute(sa.update(referral).where(referral.c.id == row.id).values(**values))
        detail = f"reassigned from {row.owner or 'nobody'} to {owner}"
        await changed(conn, row.id, EventKind.REASSIGNED, actor, at, detail)
        return Outcome(row.ref, applied=True)

    return await act(engine=engine, ref=ref, actor=actor, at=at, request=request, change=change)


async def change_role(
    *, engine: AsyncEngine, ref: str, actor: Actor, role: Role, at: datetime, request: str
) -> Outcome:
    """The partner's role on the deal; settling a dispute is a manager's call."""
    if role not in CLAIM_ROLES:
        raise Refused(f"{role} cannot be chosen here")

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        if row.role == Role.DISPUTED and not actor.manager:
            raise Refused(f"{row.ref} is disputed: only a manager can settle its role.")
        if row.role_overridden_at is not None and not actor.manager:
            raise Refused(f"A manager set {row.ref}'s role: only a manager can change it.")
        if row.role == role:
            return Outcome(row.ref, applied=True, note=f"{row.ref} is already {ROLE_LABELS[role]}.")
        await conn.execute(sa.update(referral).where(referral.c.id == row.id).values(role=role))
        detail = f"role {role_label(row.role)} → {ROLE_LABELS[role]}"
        await changed(conn, row.id, EventKind.ROLE_CHANGED, actor, at, detail)
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="change the role of",
    )


async def mark_first_response(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """The owner answered the prospect outside the intro's thread: the clock stops now."""

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        done = await conn.execute(MARK_FIRST_RESPONSE, {"b_id": row.id, "b_at": at})
        if done.rowcount != 1:
            return Outcome(row.ref, applied=True, note=f"{row.ref} had its first response already.")
        await changed(conn, row.id, EventKind.FIRST_RESPONSE, actor, at, "marked in Slack")
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="mark the first response of",
    )


async def set_next_step(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    text: str,
    due: date,
    at: datetime,
    request: str,
) -> Outcome:
    """The next joint step with the partner, and the day it is due."""
    text = " ".join(text.split())
    if not text:
        raise Refused("Describe the next joint step.")

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        due_at = datetime.combine(due, time(), tzinfo=UTC)  # a day, kept as its UTC midnight
        await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id)
            .values(next_step=text[:500], next_step_due=due_at, step_snoozed_until=None)
        )
        detail = f"next joint step: {text[:500]} (due {due.isoformat()})"
        await changed(conn, row.id, EventKind.NEXT_STEP, actor, at, detail)
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="set the next step of",
    )


MAX_AMOUNT = 1e12  # a won deal's amount above this is a typo (or an attack), not revenue


def won_amount(text: str | float | None) -> float:
    """A won deal's amount as typed: a finite number above 0 and at most MAX_AMOUNT, in cents.

    Refused with the reason otherwise: NaN passes `> 0`, and 1.7e308 overflows every sum.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        raise Refused("A won deal needs its amount.")
    try:
        amount = float(str(text).replace(",", "").strip()) if isinstance(text, str) else text
    except ValueError:
        raise Refused("Enter the amount as a number, e.g. 12500.") from None
    if not math.isfinite(amount) or amount <= 0:
        raise Refused("A won deal's amount is a number above 0.")
    if amount > MAX_AMOUNT:
        raise Refused(f"A won deal's amount is at most {MAX_AMOUNT:,.0f}.")
    return round(amount, 2)


async def set_stage(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    stage: Stage,
    amount: float | None,
    at: datetime,
    request: str,
    currency: str = "USD",
) -> Outcome:
    """Move the deal along; won needs its amount (in `currency`, HANDOFF_CURRENCY)."""
    if stage == Stage.NEW:
        raise Refused("Release the referral to make it new again.")
    if stage == Stage.WON:
        amount = won_amount(amount)

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        kept = amount if stage == Stage.WON else row.amount
        if row.stage == stage and row.amount == kept:
            # A gesture made again (the user saw an error, and the first one was applied after
            # all) or a stale modal: the deal did not move, so nothing is recorded or told.
            return Outcome(row.ref, applied=True, note=f"{row.ref} is at {stage} already.")
        reached: dict[str, Any] = {}
        if stage in MEETING_OR_LATER:
            reached["met_at"] = sa.func.coalesce(referral.c.met_at, at)
        if stage in OPPORTUNITY_OR_LATER:
            reached["opportunity_at"] = sa.func.coalesce(referral.c.opportunity_at, at)
        await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id)
            .values(stage=stage, amount=kept, **reached)
        )
        detail = f"stage {row.stage} → {stage}"
        if stage == Stage.WON:
            detail += f" (amount {amount:,.2f} {currency})"
        event_id = await changed(conn, row.id, EventKind.STAGE_CHANGED, actor, at, detail)
        if stage in NOTICE_STAGES and await conn.scalar(
            sa.select(partner.c.stage_emails)
            .join(referral, referral.c.partner_id == partner.c.id)
            .where(referral.c.id == row.id)
        ):
            # The partner asked to hear at once: its emails are made by the outbox's handler.
            await enqueue(conn, JobKind.STAGE_NOTICE, row.id, event_id=event_id)
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="update the stage of",
    )
