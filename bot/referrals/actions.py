"""What reps and managers do to a referral from Slack: claim, release, role, stage, next step.

Each action is one transaction: it records the Slack request (so a retried request applies
once), changes the referral with a compare-and-set, writes the event with the Slack user as
actor, and queues the Slack update of the post and the line in its thread (bot/outbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import upsert_insert
from bot.intake import queries as q
from bot.models import (
    CLOSED_STAGES,
    NOTICE_STAGES,
    ROLE_LABELS,
    EventKind,
    JobKind,
    Partner,
    Referral,
    Role,
    SlackRequest,
    Stage,
    role_label,
)
from bot.outbox import enqueue
from bot.referrals import timeline

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
applied_requests: sa.Table = SlackRequest.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]

CLAIM_ROLES = frozenset(ROLE_LABELS) - {Role.DISPUTED}  # disputes are settled by managers
STAGE_LABELS = {stage: stage.value.capitalize() for stage in Stage}
# What the reports count as a meeting booked and an opportunity: reached, whatever came next.
OPPORTUNITY_OR_LATER = frozenset({Stage.OPPORTUNITY, Stage.WON})
MEETING_OR_LATER = OPPORTUNITY_OR_LATER | {Stage.MEETING}


class Refused(Exception):  # noqa: N818 - an answer to the user, not a crash
    """The action is not allowed or no longer possible; the message is shown to the user."""


@dataclass(frozen=True)
class Actor:
    """Who clicked, and what Slack's user groups let them do (bot/slack/roster.py)."""

    user: str
    may_claim: bool = True
    manager: bool = False

    @property
    def name(self) -> str:
        return f"slack:{self.user}"


@dataclass(frozen=True)
class Outcome:
    ref: str
    applied: bool  # False: this very request was applied before (a Slack retry)
    note: str | None = None  # told to the user alone (ephemeral)


async def claim(
    *, engine: AsyncEngine, ref: str, actor: Actor, role: Role, at: datetime, request: str
) -> Outcome:
    """Make the actor the owner: exactly one of any number of simultaneous claims wins."""
    if role not in CLAIM_ROLES:
        raise Refused(f"{role} is not a role one claims with")
    if not actor.may_claim:
        raise Refused("Only members of the reps' user group can claim referrals.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
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
                stage=str(Stage.CLAIMED),
                claimed_at=at,
                response_snoozed_until=None,
            )
        )
        if won.rowcount != 1:
            # Another claim won meanwhile; read the row again to name the winner (on
            # PostgreSQL the UPDATE waited for it, and this read sees its commit).
            row = await load(conn, ref)
            if row.owner == actor.user:
                raise Refused(f"You already claimed {row.ref}.")
            if row.owner:
                raise Refused(f"{row.ref} is already claimed by <@{row.owner}>.")
            raise Refused(f"{row.ref} is closed ({row.stage}); nothing to claim.")
        detail = f"claimed as {ROLE_LABELS[role]}"
        if row.role == Role.DISPUTED:
            detail += " (the partner's role stays disputed until a manager settles it)"
        await changed(conn, row.id, EventKind.CLAIMED, actor, at, detail)
    note = None
    if row.role == Role.DISPUTED:
        note = f"{row.ref} is yours. Its partner role is disputed until a manager settles it."
    return Outcome(row.ref, applied=True, note=note)


async def not_a_fit(*, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str):
    """Close an unclaimed intro as not a fit (it stays in the reports, as disqualified)."""
    if not (actor.may_claim or actor.manager):
        raise Refused("Only members of the reps' user group can triage referrals.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
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


async def release(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """Give the referral back to the channel: no owner, claimable again."""
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        owner_or_manager(row, actor, "release")
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


async def reassign(
    *, engine: AsyncEngine, ref: str, actor: Actor, owner: str, at: datetime, request: str
) -> Outcome:
    """A manager hands the referral to another rep."""
    if not actor.manager:
        raise Refused("Only managers can reassign referrals.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        if row.owner == owner:
            raise Refused(f"{row.ref} already belongs to <@{owner}>.")
        values: dict[str, Any] = {"owner": owner}
        if row.owner is None:
            values.update(claimed_at=at, stage=str(Stage.CLAIMED))
        await conn.execute(sa.update(referral).where(referral.c.id == row.id).values(**values))
        detail = f"reassigned from {row.owner or 'nobody'} to {owner}"
        await changed(conn, row.id, EventKind.REASSIGNED, actor, at, detail)
    return Outcome(row.ref, applied=True)


async def change_role(
    *, engine: AsyncEngine, ref: str, actor: Actor, role: Role, at: datetime, request: str
) -> Outcome:
    """The partner's role on the deal; settling a dispute is a manager's call."""
    if role not in CLAIM_ROLES:
        raise Refused(f"{role} cannot be chosen here")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        owner_or_manager(row, actor, "change the role of")
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


async def override_role(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    role: Role,
    reason: str,
    at: datetime,
    request: str,
) -> Outcome:
    """A manager sets the partner's role, whoever owns the referral: an event with the reason;
    the role is marked overridden in reports and kept by later claims."""
    if not actor.manager:
        raise Refused("Only partner managers can override a partner's role.")
    reason = " ".join(reason.split())[:500]
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        if row.role == role and row.role_overridden_at is not None:
            return Outcome(row.ref, applied=True, note=f"{row.ref} is already {ROLE_LABELS[role]}.")
        await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id)
            .values(role=role, role_overridden_at=at)
        )
        detail = f"role {role_label(row.role)} → {ROLE_LABELS[role]}, set by a manager"
        detail += f": {reason}" if reason else " (no reason given)"
        await changed(conn, row.id, EventKind.ROLE_OVERRIDDEN, actor, at, detail)
    return Outcome(row.ref, applied=True)


SETTLED_ROLES = frozenset({Role.INFLUENCED, Role.UNATTRIBUTED})  # what the losing side becomes


async def resolve_dispute(
    *,
    engine: AsyncEngine,
    ref: str,
    winner: str,
    loser_role: Role,
    reason: str,
    actor: Actor,
    at: datetime,
    request: str,
) -> Outcome:
    """Settle a disputed referral against the one it conflicts with: the winner's partner
    sourced it, the other's becomes influenced or unattributed; both keep the reason."""
    if not actor.manager:
        raise Refused("Only partner managers can settle a dispute.")
    if loser_role not in SETTLED_ROLES:
        raise Refused("The other partner becomes Influenced or Unattributed.")
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise Refused("Say why, so that the partners' review can see it.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        if row.role != Role.DISPUTED or row.conflict_with_id is None:
            raise Refused(f"{row.ref} is not disputed (its role is {role_label(row.role)}).")
        rival = (
            await conn.execute(
                sa.select(referral.c.id, referral.c.ref, referral.c.role).where(
                    referral.c.id == row.conflict_with_id
                )
            )
        ).one()
        names = {row.ref: row.id, rival.ref: rival.id}
        won = winner.strip().upper()
        if won not in names:
            raise Refused(f"{winner} is not one of {row.ref} and {rival.ref}.")
        lost = rival.ref if won == row.ref else row.ref
        roles = {won: Role.SOURCED, lost: loser_role}
        before = {row.ref: row.role, rival.ref: rival.role}
        for name, role in roles.items():
            await conn.execute(
                sa.update(referral)
                .where(referral.c.id == names[name])
                .values(role=role, role_overridden_at=at)
            )
        for name in (won, lost):
            detail = (
                f"dispute settled: {won} wins; {won} {role_label(before[won])} → Sourced, "
                f"{lost} {role_label(before[lost])} → {ROLE_LABELS[loser_role]}: {reason}"
            )
            await changed(conn, names[name], EventKind.DISPUTE_RESOLVED, actor, at, detail)
    return Outcome(row.ref, applied=True)


async def mark_first_response(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """The owner answered the prospect outside the intro's thread: the clock stops now."""
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        owner_or_manager(row, actor, "mark the first response of")
        done = await conn.execute(q.MARK_FIRST_RESPONSE, {"b_id": row.id, "b_at": at})
        if done.rowcount != 1:
            return Outcome(row.ref, applied=True, note=f"{row.ref} had its first response already.")
        await changed(conn, row.id, EventKind.FIRST_RESPONSE, actor, at, "marked in Slack")
    return Outcome(row.ref, applied=True)


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
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        owner_or_manager(row, actor, "set the next step of")
        due_at = datetime.combine(due, time(), tzinfo=UTC)  # a day, kept as its UTC midnight
        await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id)
            .values(next_step=text[:500], next_step_due=due_at, step_snoozed_until=None)
        )
        detail = f"next joint step: {text[:500]} (due {due.isoformat()})"
        await changed(conn, row.id, EventKind.NEXT_STEP, actor, at, detail)
    return Outcome(row.ref, applied=True)


async def set_stage(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    stage: Stage,
    amount: float | None,
    at: datetime,
    request: str,
) -> Outcome:
    """Move the deal along; won needs its amount."""
    if stage == Stage.NEW:
        raise Refused("Release the referral to make it new again.")
    if stage == Stage.WON and (amount is None or amount <= 0):
        raise Refused("A won deal needs its amount.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        owner_or_manager(row, actor, "update the stage of")
        kept = amount if stage == Stage.WON else row.amount
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
            detail += f" (amount {amount:,.2f})"
        event_id = await changed(conn, row.id, EventKind.STAGE_CHANGED, actor, at, detail)
        if stage in NOTICE_STAGES and await conn.scalar(
            sa.select(partner.c.stage_emails)
            .join(referral, referral.c.partner_id == partner.c.id)
            .where(referral.c.id == row.id)
        ):
            # The partner asked to hear at once: its emails are made by the outbox's handler.
            await enqueue(conn, JobKind.STAGE_NOTICE, row.id, event_id=event_id)
    return Outcome(row.ref, applied=True)


async def first_time(conn: AsyncConnection, request: str, at: datetime) -> bool:
    """Record a Slack request as applied; False when it was applied before (a retry)."""
    values = {"key": request[:300], "at": at}
    insert = upsert_insert(conn.dialect, applied_requests).values(**values)
    insert = insert.on_conflict_do_nothing()
    return (await conn.execute(insert)).rowcount == 1


async def load(conn: AsyncConnection, ref: str) -> Any:
    """The referral's id, ref, owner, role, stage, amount and rival; Refused if there is none."""
    row = (
        await conn.execute(
            sa.select(
                referral.c.id,
                referral.c.ref,
                referral.c.owner,
                referral.c.role,
                referral.c.stage,
                referral.c.amount,
                referral.c.conflict_with_id,
                referral.c.role_overridden_at,
            ).where(referral.c.ref == ref.strip().upper())
        )
    ).first()
    if row is None:
        raise Refused(f"There is no referral {ref}.")
    return row


def owner_or_manager(row: sa.Row[Any], actor: Actor, doing: str) -> None:
    """Refused unless the referral has an owner and the actor is that owner or a manager."""
    if row.owner is None and doing != "release":
        raise Refused(f"Claim {row.ref} first.")
    if row.owner is None:
        raise Refused(f"{row.ref} has no owner to release it from.")
    if row.owner != actor.user and not actor.manager:
        raise Refused(f"Only {row.ref}'s owner <@{row.owner}> or a manager can {doing} it.")


async def changed(
    conn: AsyncConnection,
    referral_id: int,
    kind: EventKind,
    actor: Actor,
    at: datetime,
    detail: str,
    *,
    shown: bool = True,
) -> int:
    """The event with the Slack user as actor; unless not `shown`, the post re-rendered and a
    line in its thread. Returns the event's id."""
    event_id = await timeline.record(
        conn, referral_id, kind, actor=actor.name, at=at, detail=detail, threaded=False
    )
    if shown:
        await enqueue(conn, JobKind.SLACK_UPDATE, referral_id)
        await enqueue(conn, JobKind.SLACK_THREAD, referral_id, event_id=event_id)
    return event_id
