"""What an owner does from a reminder: snooze it, or mark the next joint step done.

Same shape as bot/referrals/actions.py (bot/referrals/acting.py's prologue): one transaction that
records the Slack request, changes the referral, and writes the event (a snooze is in the
timeline, not in the thread).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import Referral
from bot.referrals.acting import Actor, Outcome, Refused, act, changed
from bot.vocabulary import CLOSED_STAGES, EventKind

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
SNOOZE = timedelta(days=1)


async def snooze_first_response(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """No reminder about the first response for a day (and the escalation moves with it)."""
    still_due = sa.and_(
        referral.c.first_response_at.is_(None),
        referral.c.stage.notin_([str(s) for s in CLOSED_STAGES]),
    )
    return await _snooze(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        column="response_snoozed_until",
        still_due=still_due,
        what="first-response reminder",
        refusal="needs no first-response reminder any more",
    )


async def snooze_next_step(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """The next-step reminder again in a day, then every HANDOFF_OVERDUE_EVERY."""
    return await _snooze(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        column="step_snoozed_until",
        still_due=referral.c.next_step_due.is_not(None),
        what="next-step reminder",
        refusal="has no next joint step to snooze",
    )


async def _snooze(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    at: datetime,
    request: str,
    column: str,
    still_due: sa.ColumnElement[bool],
    what: str,
    refusal: str,
) -> Outcome:
    """Put a reminder off by a day, if its cause is still there; the event is in the timeline."""

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        done = await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id, still_due)
            .values({column: at + SNOOZE})
        )
        if done.rowcount != 1:
            raise Refused(f"{row.ref} {refusal}.")
        detail = f"{what} snoozed until {_stamp(at + SNOOZE)}"
        await changed(conn, row.id, EventKind.SNOOZED, actor, at, detail, shown=False)
        note = f"Snoozed: {row.ref} reminds you again tomorrow."
        return Outcome(row.ref, applied=True, note=note)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="snooze the reminders of",
    )


async def complete_next_step(
    *, engine: AsyncEngine, ref: str, actor: Actor, at: datetime, request: str
) -> Outcome:
    """The next joint step happened: it is cleared, and its reminders stop."""

    async def change(conn: AsyncConnection, row: Any) -> Outcome:
        step = await conn.scalar(sa.select(referral.c.next_step).where(referral.c.id == row.id))
        done = await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id, referral.c.next_step_due.is_not(None))
            .values(next_step=None, next_step_due=None, step_snoozed_until=None)
        )
        if done.rowcount != 1:
            return Outcome(row.ref, applied=True, note=f"{row.ref} has no open next step.")
        await changed(conn, row.id, EventKind.STEP_DONE, actor, at, f"done: {step or 'next step'}")
        return Outcome(row.ref, applied=True)

    return await act(
        engine=engine,
        ref=ref,
        actor=actor,
        at=at,
        request=request,
        change=change,
        doing="complete the next step of",
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
