"""A partner's answer about a referral a rep logged in Slack: it confirms the referral (issue
23, part 2), with the answer's email as the proof; reports count confirmed and unconfirmed."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Referral
from bot.outbox import enqueue
from bot.referrals import timeline
from bot.vocabulary import EventKind, JobKind

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]


# "No", "not me", "we didn't": an answer that denies the introduction confirms nothing.
_DENIES = re.compile(
    r"^\W*(no\b|nope\b|not (me|us|really)\b|(i|we) (did not|didn't|never)\b|wasn't (me|us)\b)",
    re.IGNORECASE,
)


async def confirm(
    conn: AsyncConnection,
    referral_id: int,
    *,
    text: str,
    actor: str,
    at: datetime,
    message_id: str | None,
) -> bool:
    """A partner's answer about a referral logged in Slack: unless it says no, it confirms the
    referral, with that email as proof. Whether it did."""
    if _DENIES.match(text or ""):
        return False
    done = await conn.execute(
        sa.update(referral)
        .where(
            referral.c.id == referral_id,
            referral.c.action_type.is_not(None),
            referral.c.confirmed_at.is_(None),
        )
        .values(confirmed_at=at, confirm_message_id=message_id)
    )
    if done.rowcount != 1:
        return False
    excerpt = " ".join((text or "").split())[:300]
    await timeline.record(
        conn,
        referral_id,
        EventKind.CONFIRMED,
        actor=actor,
        at=at,
        detail=f"confirmed by email: {excerpt}" if excerpt else "confirmed by email",
        message_id=message_id,
    )
    await enqueue(conn, JobKind.SLACK_UPDATE, referral_id)
    return True
