"""A partner's answer about a referral a rep logged in Slack: it confirms the referral (issue
23, part 2), with the answer's email as the proof; reports count confirmed and unconfirmed."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Mail, Referral
from bot.outbox import enqueue
from bot.referrals import timeline
from bot.vocabulary import EventKind, JobKind, MailKind

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]


# The first line of an answer says yes or no; a greeting before it is not the answer.
_GREETING = re.compile(
    r"^\W*(hi|hello|hey|dear|hallo|bonjour|hola)\b[^,!.:\n]{0,40}[,!.:]\s*", re.I
)
_YES = re.compile(
    r"^\W*(yes|yep|yeah|yup|sure|confirmed|correct|right|indeed|absolutely|definitely|"
    r"(i|we) did\b|that was (me|us))",
    re.IGNORECASE,
)
# "No", "not me", "we didn't", "never heard of them": a denial confirms nothing.
_NO = re.compile(
    r"\b(no|nope|not (me|us|really|quite)|(i|we) (did not|didn't|never|haven't|have not)|"
    r"wasn't (me|us)|never (heard|met|spoke)|don't know)\b",
    re.IGNORECASE,
)


def confirms(text: str) -> bool:
    """Whether an answer to "did you introduce …?" says yes: a yes, or any answer but a no."""
    lines = (_GREETING.sub("", line.strip(), count=1) for line in (text or "").splitlines())
    first = next((line for line in lines if line), "")
    if _YES.match(first):
        return True
    return not _NO.search(first[:200])


async def confirm(
    conn: AsyncConnection,
    referral_id: int,
    *,
    answered: int | None,
    text: str,
    actor: str,
    at: datetime,
    message_id: str | None,
) -> bool:
    """A partner's answer to "did you introduce …?" (the mail `answered`, when it is that
    question about this referral): unless it says no, it confirms the referral, with that email
    as proof. Whether it did."""
    if answered is None or not confirms(text):
        return False
    asked = await conn.scalar(
        sa.select(sa.func.count()).where(
            mail.c.id == answered,
            mail.c.kind == str(MailKind.CONFIRM),
            mail.c.referral_id == referral_id,
        )
    )
    if not asked:
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
