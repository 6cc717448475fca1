"""Which events a partner hears about at once by email (issue 23), queued in the event's own
transaction; the emails are made by the outbox's handler (bot/digests/partner_mail.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Partner, Referral, utcnow
from bot.outbox import enqueue
from bot.vocabulary import EventKind, JobKind

partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

# A backfill (`handoff ingest` of an old mailbox) tells no partner about intros of long ago.
RECEIPT_FRESH = timedelta(days=2)
# The events a partner hears about at once, and whether its receipts setting governs it.
RECEIPTS = frozenset({EventKind.INTRO_RECEIVED, EventKind.CLAIMED, EventKind.REASSIGNED})
QUESTIONS = frozenset({EventKind.LOGGED, EventKind.EXPIRY_NOTICE})


async def queue(
    conn: AsyncConnection,
    kind: EventKind,
    referral_id: int,
    event_id: int,
    *,
    receipts: bool | None = None,
    at: datetime | None = None,
) -> bool:
    """Queue the partner's email about this event, in its transaction, if it gets one.

    `receipts` is the partner's setting when the caller knows it (else it is read); `at` is
    the event's time, and an intro older than RECEIPT_FRESH gets no receipt.
    """
    if kind in RECEIPTS:
        if at is not None and at < utcnow() - RECEIPT_FRESH:
            return False
        if receipts is None:
            receipts = bool(
                await conn.scalar(
                    sa.select(partner.c.receipts)
                    .join(referral, referral.c.partner_id == partner.c.id)
                    .where(referral.c.id == referral_id)
                )
            )
        if not receipts:
            return False
    elif kind not in QUESTIONS:
        return False
    await enqueue(conn, JobKind.PARTNER_MAIL, referral_id, event_id=event_id)
    return True
