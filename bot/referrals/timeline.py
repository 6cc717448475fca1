"""A referral's timeline: every change is an event (DESIGN "Domain words"), and most of them
are also a line in the referral's Slack thread, a webhook (bot/webhooks/), an update of its
CRM deal (bot/crm/) and, for some, an email to the partner (bot/referrals/receipts.py),
queued in the same transaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.crm import records as crm
from bot.models import Event
from bot.outbox import enqueue
from bot.referrals import lanes
from bot.referrals.receipts import queue as queue_partner_mail
from bot.vocabulary import PARTNER_ACTIONS, EventKind, JobKind
from bot.webhooks import emit as webhooks

event: sa.Table = Event.__table__  # type: ignore[attr-defined]
INSERT_EVENT = sa.insert(event).returning(event.c.id)


async def record(
    conn: AsyncConnection,
    referral_id: int,
    kind: EventKind,
    *,
    actor: str,
    at: datetime,
    detail: str,
    message_id: str | None = None,
    threaded: bool = True,
    receipts: bool | None = None,
) -> int:
    """One event with its actor and proof; when `threaded`, a line in the post's thread too.

    `receipts`: the partner's setting, when the caller knows it (else it is read if needed).
    """
    event_id = await conn.scalar(
        INSERT_EVENT,
        {
            "referral_id": referral_id,
            "kind": str(kind),
            "actor": actor,
            "at": at,
            "message_id": message_id,
            "detail": detail,
        },
    )
    if threaded:
        await enqueue(conn, JobKind.SLACK_THREAD, referral_id, event_id=event_id)
    if kind in PARTNER_ACTIONS:
        await lanes.partner_acted(conn, referral_id, at)
    await crm.changed(conn, kind, referral_id, actor)
    await webhooks.referral_event(
        conn,
        kind,
        referral_id=referral_id,
        event_id=int(event_id),
        actor=actor,
        at=at,
        detail=detail,
        message_id=message_id,
    )
    await queue_partner_mail(conn, kind, referral_id, int(event_id), receipts=receipts, at=at)
    return int(event_id)
