"""The deal-registration clocks (issue 23): protection about to lapse on a referral whose stage
has not moved, and a referral logged in Slack that its partner has not confirmed.

Each is due once per cycle (the protection's end; the day the partner was asked): its nudge
goes to the owner (DM) and, in the same transaction, an event on the referral, which for a
lapsing protection is also the partner's "still active?" email (bot/digests/partner_mail.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import stage_is
from bot.models import Nudge, Referral
from bot.nudges.due import Due, To
from bot.nudges.queries import candidates, nudged
from bot.referrals import timeline
from bot.text import day, format_duration
from bot.vocabulary import CLOSED_STAGES, UNMOVED_STAGES, EventKind, NudgeKind, Role

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]

EXPIRING = "expiring"
UNCONFIRMED = "unconfirmed"


async def expiring(conn: AsyncConnection, as_of: datetime, notice: timedelta) -> list[Due]:
    """Open referrals whose stage has not moved and whose protection ends within `notice`."""
    query = sa.select(
        referral.c.id, referral.c.ref, referral.c.owner, referral.c.protected_until
    ).where(
        referral.c.protected_until > as_of,
        referral.c.protected_until <= as_of + notice,
        stage_is(referral.c.stage, *UNMOVED_STAGES),  # ix_referral_unmoved
        # The later of two partners' intros protects nobody: it is for a manager to settle.
        sa.or_(referral.c.role.is_(None), referral.c.role != str(Role.DISPUTED)),
        ~nudged(NudgeKind.EXPIRING, referral.c.protected_until),
    )
    return [
        Due(
            NudgeKind.EXPIRING,
            row.id,
            row.protected_until,
            0,
            row.protected_until - notice,
            To.OWNER if row.owner else To.THREAD,
            row.ref,
            row.owner,
        )
        for row in await candidates(conn, query)
    ]


async def unconfirmed(conn: AsyncConnection, as_of: datetime, wait: timedelta) -> list[Due]:
    """Referrals logged in Slack whose partner was asked `wait` ago and has not answered."""
    query = sa.select(
        referral.c.id,
        referral.c.ref,
        sa.func.coalesce(referral.c.owner, referral.c.logged_by).label("rep"),
        referral.c.confirm_asked_at,
    ).where(
        referral.c.confirm_asked_at <= as_of - wait,
        referral.c.confirmed_at.is_(None),
        referral.c.stage.not_in([str(s) for s in CLOSED_STAGES]),
        ~nudged(NudgeKind.UNCONFIRMED, referral.c.confirm_asked_at),
    )
    return [
        Due(
            NudgeKind.UNCONFIRMED,
            row.id,
            row.confirm_asked_at,
            0,
            row.confirm_asked_at + wait,
            To.OWNER if row.rep else To.THREAD,
            row.ref,
            row.rep,
        )
        for row in await candidates(conn, query)
    ]


async def recorded(conn: AsyncConnection, due: Due, as_of: datetime, *, wait: timedelta) -> None:
    """The event that goes with a new nudge of these kinds, in the sweep's transaction."""
    if due.kind == NudgeKind.EXPIRING:
        detail = (
            f"protection ends {day(due.cycle_at.date())} and the stage has not moved: "
            "the owner and the partner were asked whether it is still active"
        )
        kind = EventKind.EXPIRY_NOTICE
    elif due.kind == NudgeKind.UNCONFIRMED:
        detail = f"the partner has not confirmed it in {format_duration(wait)}"
        kind = EventKind.UNCONFIRMED
    else:
        return
    await timeline.record(conn, due.subject, kind, actor="system", at=as_of, detail=detail)
