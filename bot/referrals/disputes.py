"""What partner managers decide about a referral's partner role: an override with its reason,
and the settling of a dispute between two partners who introduced the same prospect.

Overrides never erase history: the role is marked overridden (reports show it, later claims
keep it) and the reason is in the timeline of every referral it touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import Referral
from bot.referrals.acting import Actor, Outcome, Refused, act, changed
from bot.vocabulary import ROLE_LABELS, EventKind, Role, role_label

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

SETTLED_ROLES = frozenset({Role.INFLUENCED, Role.UNATTRIBUTED})  # what the losing side becomes


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

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
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

    return await act(engine=engine, ref=ref, actor=actor, at=at, request=request, change=change)


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

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
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

    return await act(engine=engine, ref=ref, actor=actor, at=at, request=request, change=change)
