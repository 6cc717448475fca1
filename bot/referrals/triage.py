"""Triage, dealt with: a person marks a stored message done (`handoff triage done`, or a
manager's Dismiss in App Home). It leaves triage and is kept, with who and why; ingested again,
it is a duplicate."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import InboundMessage
from bot.referrals.acting import Actor, Outcome, Refused, first_time
from bot.vocabulary import waits_for_triage

inbound: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]


async def mark_done(
    conn: AsyncConnection, *, message_id: int, by: str, note: str | None, at: datetime
) -> bool:
    """Take one message out of triage; False if it is not waiting there."""
    done = await conn.execute(
        sa.update(inbound)
        .where(inbound.c.id == message_id, waits_for_triage(inbound))
        .values(dismissed_at=at, dismissed_by=by[:400], dismissed_note=note)
    )
    return done.rowcount == 1


async def dismiss(
    *, engine: AsyncEngine, actor: Actor, at: datetime, request: str, message_id: int
) -> Outcome:
    """A manager's Dismiss in App Home."""
    if not actor.manager:
        raise Refused("Only partner managers can dismiss what waits in triage.")
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(f"#{message_id}", applied=False)
        if not await mark_done(conn, message_id=message_id, by=actor.name, note=None, at=at):
            raise Refused(f"Message #{message_id} is no longer waiting in triage.")
    return Outcome(f"#{message_id}", applied=True)
