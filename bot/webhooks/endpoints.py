"""What `handoff webhooks` does: register, list, remove, pause and resume endpoints; list,
send a ping and redeliver deliveries. Endpoints and their secrets live in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import OutboxJob
from bot.outbox import INSERT_JOB, job_row
from bot.servers import loopback
from bot.vocabulary import DeliveryStatus, JobKind
from bot.webhooks import signing
from bot.webhooks.emit import PING, delivery, endpoint, iso, patterns, queue

outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
MAX_URL = 2000


class WebhookError(Exception):
    """A wrong argument or an unknown id, said in one line."""


def check_url(url: str) -> str:
    """The URL as registered: https, or http to loopback only (the payload is the CRM's data)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise WebhookError(f"{url!r} is not a URL: {exc}") from None
    if len(url) > MAX_URL:
        raise WebhookError(f"the URL is longer than {MAX_URL} characters")
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookError(
            f"{url!r} is not an http(s) URL (expected e.g. https://crm.example/hook)"
        )
    if parts.username is not None or parts.password is not None:
        raise WebhookError(
            f"the URL carries a user and password: give the receiver the signing secret "
            f"instead ({parts.scheme}://{host}{parts.path})"
        )
    if parts.scheme == "http" and not loopback(host):
        raise WebhookError(
            f"{url!r}: webhooks go over https only (plain http only to loopback, e.g. a local "
            "relay): events carry prospects' names and addresses"
        )
    return url


@dataclass(frozen=True)
class Added:
    id: int
    url: str
    secret: str
    events: str


async def add(
    engine: AsyncEngine, *, url: str, events: str, description: str | None, at: datetime
) -> Added:
    """Register an endpoint with a new secret (shown to the caller once)."""
    url = check_url(url)
    try:
        chosen = ",".join(patterns(events))
    except ValueError as exc:
        raise WebhookError(str(exc)) from None
    secret = signing.new_secret()
    async with engine.begin() as conn:
        new_id = await conn.scalar(
            sa.insert(endpoint).returning(endpoint.c.id),
            {
                "url": url,
                "secret": secret,
                "events": chosen,
                "description": (description or "").strip() or None,
                "created_at": at,
                "failures": 0,
            },
        )
    return Added(int(new_id), url, secret, chosen)


async def listed(engine: AsyncEngine) -> list[dict[str, Any]]:
    """The live endpoints with their state and delivery counts (never their secrets)."""
    d = delivery.c
    counts = (
        sa.select(
            d.endpoint_id,
            sa.func.count().filter(d.status == str(DeliveryStatus.PENDING)).label("pending"),
            sa.func.count().filter(d.status == str(DeliveryStatus.FAILED)).label("failed"),
            sa.func.count().filter(d.status == str(DeliveryStatus.DELIVERED)).label("delivered"),
        )
        .group_by(d.endpoint_id)
        .subquery()
    )
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(endpoint, counts.c.pending, counts.c.failed, counts.c.delivered)
                .outerjoin(counts, counts.c.endpoint_id == endpoint.c.id)
                .where(endpoint.c.removed_at.is_(None))
                .order_by(endpoint.c.id)
            )
        ).all()
    return [
        {
            "id": r.id,
            "url": r.url,
            "events": r.events,
            "description": r.description,
            "state": "paused" if r.paused_at else ("failing" if r.failing_since else "active"),
            "paused_at": iso(r.paused_at),
            "pause_reason": r.pause_reason,
            "failing_since": iso(r.failing_since),
            "failures": r.failures,
            "last_success_at": iso(r.last_success_at),
            "pending": r.pending or 0,
            "failed": r.failed or 0,
            "delivered": r.delivered or 0,
        }
        for r in rows
    ]


async def _live(conn: Any, endpoint_id: int) -> Any:
    row = (
        await conn.execute(
            sa.select(endpoint).where(endpoint.c.id == endpoint_id, endpoint.c.removed_at.is_(None))
        )
    ).first()
    if row is None:
        raise WebhookError(
            f"there is no webhook endpoint {endpoint_id} (see handoff webhooks list)"
        )
    return row


def _jobs_of(ids: Any) -> sa.ColumnElement[bool]:
    return sa.and_(outbox.c.delivery_id.in_(ids), outbox.c.done_at.is_(None))


async def remove(engine: AsyncEngine, endpoint_id: int, *, at: datetime) -> tuple[str, int]:
    """Remove the endpoint (its secret forgotten) and cancel what it had pending."""
    async with engine.begin() as conn:
        row = await _live(conn, endpoint_id)
        waiting = sa.select(delivery.c.id).where(
            delivery.c.endpoint_id == endpoint_id, delivery.c.status == str(DeliveryStatus.PENDING)
        )
        await conn.execute(
            sa.update(outbox)
            .where(_jobs_of(waiting))
            .values(done_at=at, last_error="endpoint removed")
        )
        cancelled = await conn.execute(
            sa.update(delivery)
            .where(delivery.c.id.in_(waiting))
            .values(status=str(DeliveryStatus.CANCELLED), last_error="endpoint removed")
        )
        await conn.execute(
            sa.update(endpoint).where(endpoint.c.id == endpoint_id).values(removed_at=at, secret="")
        )
    return row.url, cancelled.rowcount


async def pause(engine: AsyncEngine, endpoint_id: int, *, at: datetime) -> str:
    """Hold the endpoint's deliveries until resumed."""
    async with engine.begin() as conn:
        row = await _live(conn, endpoint_id)
        await conn.execute(
            sa.update(endpoint)
            .where(endpoint.c.id == endpoint_id, endpoint.c.paused_at.is_(None))
            .values(paused_at=at, pause_reason="paused by hand")
        )
    return str(row.url)


async def resume(engine: AsyncEngine, endpoint_id: int, *, at: datetime) -> tuple[str, int]:
    """Deliver again: the held deliveries go now, with their retries counted afresh."""
    async with engine.begin() as conn:
        row = await _live(conn, endpoint_id)
        await conn.execute(
            sa.update(endpoint)
            .where(endpoint.c.id == endpoint_id)
            .values(paused_at=None, pause_reason=None, failing_since=None, failures=0)
        )
        waiting = sa.select(delivery.c.id).where(
            delivery.c.endpoint_id == endpoint_id, delivery.c.status == str(DeliveryStatus.PENDING)
        )
        await conn.execute(sa.update(outbox).where(_jobs_of(waiting)).values(due_at=at))
        held = await conn.execute(
            sa.update(delivery).where(delivery.c.id.in_(waiting)).values(retry_from=at)
        )
    return str(row.url), held.rowcount


async def ping(engine: AsyncEngine, endpoint_id: int, *, at: datetime) -> int:
    """Queue a `ping` to this endpoint alone; the delivery's id."""
    async with engine.begin() as conn:
        row = await _live(conn, endpoint_id)
        [made] = await queue(conn, PING, at, {"endpoint": {"id": row.id, "url": row.url}}, to=[row])
    return made


async def job_of(engine: AsyncEngine, delivery_id: int) -> int:
    """The outbox job that carries this delivery out."""
    async with engine.connect() as conn:
        found = await conn.scalar(sa.select(outbox.c.id).where(outbox.c.delivery_id == delivery_id))
    assert found is not None
    return int(found)


def _shown(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "endpoint": r.endpoint_id,
        "webhook_id": r.msg_id,
        "type": r.type,
        "status": r.status,
        "attempts": r.attempts,
        "response_status": r.response_status,
        "error": r.last_error,
        "created_at": iso(r.created_at),
        "last_attempt_at": iso(r.last_attempt_at),
        "delivered_at": iso(r.delivered_at),
    }


async def deliveries(
    engine: AsyncEngine, *, endpoint_id: int | None, failed: bool, limit: int
) -> list[dict[str, Any]]:
    """The latest deliveries, newest first: of one endpoint, or only the failed ones."""
    query = sa.select(delivery).order_by(delivery.c.id.desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(delivery.c.endpoint_id == endpoint_id)
    if failed:
        query = query.where(delivery.c.status == str(DeliveryStatus.FAILED))
    async with engine.connect() as conn:
        return [_shown(r) for r in (await conn.execute(query)).all()]


async def one(engine: AsyncEngine, delivery_id: int) -> dict[str, Any]:
    """One delivery as `webhooks deliveries` shows it."""
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(delivery).where(delivery.c.id == delivery_id))).one()
    return _shown(row)


async def redeliver(engine: AsyncEngine, delivery_id: int, *, at: datetime) -> int:
    """Send a delivery again, same webhook-id and body, as a new delivery; its id."""
    async with engine.begin() as conn:
        old = (await conn.execute(sa.select(delivery).where(delivery.c.id == delivery_id))).first()
        if old is None:
            raise WebhookError(
                f"there is no delivery {delivery_id} (see handoff webhooks deliveries)"
            )
        await _live(conn, old.endpoint_id)
        if old.status == DeliveryStatus.PENDING:
            raise WebhookError(f"delivery {delivery_id} is still pending: it goes on its own")
        values = {
            c: getattr(old, c)
            for c in ("endpoint_id", "event_id", "referral_id", "msg_id", "type", "payload")
        }
        new_id = await conn.scalar(
            sa.insert(delivery).returning(delivery.c.id),
            values
            | {
                "created_at": at,
                "retry_from": at,
                "status": str(DeliveryStatus.PENDING),
                "attempts": 0,
            },
        )
        row = job_row(JobKind.WEBHOOK, old.referral_id, target=str(old.endpoint_id))
        await conn.execute(INSERT_JOB, row | {"delivery_id": new_id})
    return int(new_id)
