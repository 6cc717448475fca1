"""Events as webhook deliveries, written in the transaction of the change they tell about.

Each referral event becomes one message (a stable `type`, and a snapshot of the referral as
the change left it, so that a CRM mapping never calls back), stored once per endpoint whose
patterns match, with an outbox job to carry it out. With no endpoint registered this costs one
query per transaction.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import per_transaction
from bot.models import Partner, PartnerAddress, WebhookDelivery
from bot.models import WebhookEndpoint as Endpoint
from bot.outbox import INSERT_JOB, job_row
from bot.referrals.snapshot import iso, snapshot
from bot.vocabulary import DeliveryStatus, EventKind, JobKind, Role
from bot.webhooks.signing import new_message_id

endpoint: sa.Table = Endpoint.__table__  # type: ignore[attr-defined]
delivery: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]

# The webhook type of each event kind (README "CRM"); a conflict is `referral.disputed` on the
# referral that lost it, `referral.conflict` on the one that came first.
TYPES: dict[EventKind, str] = {
    EventKind.INTRO_RECEIVED: "referral.created",
    EventKind.CLAIMED: "referral.claimed",
    EventKind.REASSIGNED: "referral.reassigned",
    EventKind.RELEASED: "referral.released",
    EventKind.ROLE_CHANGED: "referral.role_changed",
    EventKind.ROLE_OVERRIDDEN: "referral.role_changed",
    EventKind.STAGE_CHANGED: "referral.stage_changed",
    EventKind.NOT_A_FIT: "referral.stage_changed",
    EventKind.FIRST_RESPONSE: "referral.first_response",
    EventKind.NEXT_STEP: "referral.next_step_set",
    EventKind.STEP_DONE: "referral.next_step_done",
    EventKind.CONFLICT: "referral.disputed",
    EventKind.DISPUTE_RESOLVED: "referral.dispute_settled",
    EventKind.PARTNER_REPLY: "referral.partner_replied",
    EventKind.ACTIVITY: "referral.activity",
    EventKind.REINTRODUCED: "referral.reintroduced",
    EventKind.LOGGED: "referral.created",
    EventKind.CONFIRMED: "referral.confirmed",
    EventKind.UNCONFIRMED: "referral.unconfirmed",
    EventKind.OVERLAP: "referral.overlap",
    EventKind.MEETING: "referral.meeting",
    EventKind.MEETING_CANCELLED: "referral.meeting_cancelled",
    EventKind.EXPIRY_NOTICE: "referral.expiring",
}
PARTNER_CREATED = "partner.created"
PING = "ping"
EVENT_TYPES = sorted({*TYPES.values(), "referral.conflict", PARTNER_CREATED})


def patterns(text: str) -> list[str]:
    """`referral.*,partner.created` as a list; ValueError naming a pattern no type matches."""
    found = [p.strip() for p in text.split(",") if p.strip()]
    if not found:
        raise ValueError("--events is empty (give e.g. 'referral.*' or '*')")
    for p in found:
        if not fnmatch.filter([*EVENT_TYPES, PING], p):
            raise ValueError(
                f"--events {p!r} matches no event type (types: {', '.join(EVENT_TYPES)})"
            )
    return found


def wants(events: str, type_: str) -> bool:
    """Whether an endpoint subscribed with these patterns receives this type (ping: always)."""
    stored = (p.strip() for p in events.split(","))
    return type_ == PING or any(fnmatch.fnmatchcase(type_, p) for p in stored if p)


def body(type_: str, at: datetime, data: dict[str, Any]) -> str:
    """The message as sent: the specification's recommended {type, timestamp, data}."""
    message = {"type": type_, "timestamp": iso(at), "data": data}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


async def _subscribed(conn: AsyncConnection) -> list[Any]:
    """The live endpoints, read once per transaction (an intake batch records many events)."""

    async def load() -> list[Any]:
        query = sa.select(endpoint.c.id, endpoint.c.events).where(endpoint.c.removed_at.is_(None))
        return list((await conn.execute(query)).all())

    return list(await per_transaction(conn, "handoff.webhook_endpoints", load))


async def queue(
    conn: AsyncConnection,
    type_: str,
    at: datetime,
    data: dict[str, Any],
    *,
    referral_id: int | None = None,
    event_id: int | None = None,
    to: Iterable[Any] | None = None,
) -> list[int]:
    """One delivery and its outbox job per endpoint that wants this type; their ids."""
    targets = [
        e for e in (to if to is not None else await _subscribed(conn)) if wants(e.events, type_)
    ]
    if not targets:
        return []
    text, msg_id, now = body(type_, at, data), new_message_id(), datetime.now(UTC)
    ids = []
    for target in targets:
        delivery_id = await conn.scalar(
            sa.insert(delivery).returning(delivery.c.id),
            {
                "endpoint_id": target.id,
                "event_id": event_id,
                "referral_id": referral_id,
                "msg_id": msg_id,
                "type": type_,
                "payload": text,
                "created_at": now,
                "retry_from": now,
                "status": str(DeliveryStatus.PENDING),
                "attempts": 0,
            },
        )
        row = job_row(JobKind.WEBHOOK, referral_id, target=str(target.id))
        await conn.execute(INSERT_JOB, row | {"delivery_id": delivery_id})
        ids.append(int(delivery_id))
    return ids


async def referral_event(
    conn: AsyncConnection,
    kind: EventKind,
    *,
    referral_id: int,
    event_id: int,
    actor: str,
    at: datetime,
    detail: str,
    message_id: str | None,
) -> None:
    """The webhook of one referral event, if any endpoint wants it."""
    type_ = TYPES.get(kind)
    if type_ is None:
        return  # a snooze is nobody's business but its owner's
    subscribed = await _subscribed(conn)
    if not subscribed:
        return
    snap = await snapshot(conn, referral_id)
    if kind == EventKind.CONFLICT and snap["role"] != Role.DISPUTED:
        type_ = "referral.conflict"
    data: dict[str, Any] = {
        "event": {
            "id": event_id,
            "kind": str(kind),
            "at": iso(at),
            "actor": actor,
            "detail": detail,
            "message_id": message_id,
        },
        "referral": snap,
    }
    if kind == EventKind.PARTNER_REPLY:
        data["text"] = detail
    await queue(conn, type_, at, data, referral_id=referral_id, event_id=event_id, to=subscribed)


async def partner_created(conn: AsyncConnection, partner_id: int, at: datetime) -> None:
    """`partner.created`, with the partner's addresses, if any endpoint wants it."""
    if not await _subscribed(conn):
        return
    row = (await conn.execute(sa.select(partner).where(partner.c.id == partner_id))).one()
    found = (
        await conn.execute(
            sa.select(address.c.kind, address.c.value)
            .where(address.c.partner_id == partner_id)
            .order_by(address.c.id)
        )
    ).all()
    data = {
        "partner": {
            "slug": row.slug,
            "name": row.name,
            "addresses": [a.value for a in found if a.kind == "alias"],
            "contacts": [a.value for a in found if a.kind == "contact"],
            "domains": [a.value for a in found if a.kind == "domain"],
            "created_at": iso(row.created_at),
        }
    }
    await queue(conn, PARTNER_CREATED, at, data)
