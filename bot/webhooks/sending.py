"""Carrying out webhook deliveries: sign, POST, judge the answer, retry or give up, pause.

Success is any 2xx. Timeouts, connection errors, 408, 429 and 5xx are retried with backoff
(Retry-After honoured) until HANDOFF_WEBHOOK_RETRY_FOR has passed since the delivery was
queued or its endpoint resumed; any other answer fails the delivery at once. An endpoint that
has failed every attempt for HANDOFF_WEBHOOK_PAUSE_AFTER is paused with one log line; its
deliveries wait, kept, until `handoff webhooks resume`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.models import OutboxJob, utcnow
from bot.outbox import Defer, Done, Handler, Job, Outbox, Retry, Write
from bot.text import format_duration
from bot.vocabulary import DeliveryStatus, JobKind
from bot.webhooks import signing
from bot.webhooks.emit import PING, delivery, endpoint

log = logging.getLogger("handoff.webhooks")
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]

MAX_BACKOFF = 3600.0  # an hour between attempts at most
MAX_RETRY_AFTER = 86400.0  # a Retry-After beyond a day is read as a day
PAUSE_MIN_FAILURES = 5  # never paused on fewer failed attempts in a row, however long
ANSWER_CHARS = 200  # of a refusing endpoint's body, kept as the delivery's error
RETRIED = frozenset({408, 429})


@dataclass(frozen=True)
class Policy:
    """The settings a sender follows (HANDOFF_WEBHOOK_*)."""

    timeout: float = 10.0
    retry_for: timedelta = timedelta(days=3)
    pause_after: timedelta = timedelta(days=1)
    first_backoff: float = 5.0  # seconds before the second attempt; doubled each time after

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            timeout=settings.webhook_timeout_seconds,
            retry_for=settings.webhook_retry_for,
            pause_after=settings.webhook_pause_after,
        )


def webhook_backoff(attempts: int, first: float = 5.0) -> float:
    """5 s, 10 s, 20 s … up to an hour, with jitter: some 80 attempts over three days."""
    seconds = min(MAX_BACKOFF, first * 2 ** min(attempts - 1, 20))
    return seconds * random.uniform(0.8, 1.2)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (RFC 9110 10.2.3: seconds, or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def lane_filter() -> sa.ColumnElement[bool]:
    """Webhook jobs that may go now: not to a paused endpoint, and not while an earlier one to
    the same endpoint about the same referral is unfinished (per-referral order). The partial
    index ix_outbox_webhook_order answers the second for each candidate."""
    earlier = outbox.alias("earlier")
    paused = sa.select(sa.cast(endpoint.c.id, sa.String)).where(endpoint.c.paused_at.is_not(None))
    return sa.and_(
        outbox.c.target.not_in(paused.scalar_subquery()),
        ~sa.exists().where(
            earlier.c.kind == str(JobKind.WEBHOOK),
            earlier.c.done_at.is_(None),
            earlier.c.referral_id == outbox.c.referral_id,
            earlier.c.target == outbox.c.target,
            earlier.c.id < outbox.c.id,
        ),
    )


class Sender:
    """Delivers one webhook job: the outbox handler of JobKind.WEBHOOK."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy: Policy,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self._client: httpx.AsyncClient | None = None

    def handlers(self) -> dict[str, Handler]:
        return {str(JobKind.WEBHOOK): self.deliver}

    def lane(self, *, lease: timedelta, workers: int = 4) -> Outbox:
        """The outbox lane webhooks go through, apart from Slack and email."""
        return Outbox(
            self.engine,
            self.handlers(),
            lease=max(lease, timedelta(seconds=self.policy.timeout * 2)),
            clock=self.clock,
            workers=workers,
            eligible=lane_filter(),
            name="webhooks",
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Redirects are not followed: a receiver's URL is registered as it is.
            self._client = httpx.AsyncClient(
                follow_redirects=False, timeout=self.policy.timeout, trust_env=False
            )
        return self._client

    async def deliver(self, job: Job) -> str | Done | None:
        """POST the delivery, signed for this attempt; record how it went."""
        assert job.delivery_id is not None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        delivery,
                        endpoint.c.url,
                        endpoint.c.secret,
                        endpoint.c.paused_at,
                        endpoint.c.removed_at,
                    )
                    .join(endpoint, endpoint.c.id == delivery.c.endpoint_id)
                    .where(delivery.c.id == job.delivery_id)
                )
            ).one()
        if row.status != DeliveryStatus.PENDING:
            return None  # delivered (a worker died after it) or cancelled
        if row.removed_at is not None:
            await self._cancel(row.id)
            return None
        if row.paused_at is not None and row.type != PING:
            raise Defer(f"endpoint #{row.endpoint_id} is paused", after=60.0)
        now = self.clock()
        body = row.payload.encode()
        headers = signing.headers(row.secret, row.msg_id, int(now.timestamp()), body)
        headers["user-agent"] = "Handoff-Webhooks/1"
        started = time.perf_counter()
        status: int | None = None
        wait: float | None = None
        try:
            # httpx's timeout is per read: an answer trickling in could outlive the lease, and
            # another worker would send the webhook again. This one bounds the whole attempt.
            async with asyncio.timeout(self.policy.timeout):
                async with self._http().stream(
                    "POST", row.url, content=body, headers=headers
                ) as got:
                    status = got.status_code
                    answer = b""
                    if not 200 <= status < 300:
                        async for chunk in got.aiter_bytes():
                            answer += chunk
                            if len(answer) >= ANSWER_CHARS:
                                break
                        wait = retry_after(got.headers.get("retry-after"), now)
        except (httpx.TimeoutException, TimeoutError):
            status = None
            error = f"no answer within {self.policy.timeout:g}s"
        except httpx.HTTPError as exc:
            error = f"unreachable: {type(exc).__name__}: {exc}"[:300]
        else:
            text = " ".join(answer.decode("utf-8", "replace").split())[:ANSWER_CHARS]
            error = f"HTTP {status}" + (f": {text}" if text else "")
        ms = round((time.perf_counter() - started) * 1000)
        if status is not None and 200 <= status < 300:
            note = (
                f"webhooks: {row.type} {row.msg_id} delivered to #{row.endpoint_id} "
                f"({status}, {ms} ms)"
            )
            return Done(note, self._outcome(row, DeliveryStatus.DELIVERED, now, status))
        retried = status is None or status in RETRIED or status >= 500
        given_up = now - row.retry_from >= self.policy.retry_for
        if row.type == PING or not retried or given_up:
            why = f"given up after {row.attempts + 1} attempts" if retried else "failed"
            log.warning(
                "webhooks: %s %s to #%d %s: %s", row.type, row.msg_id, row.endpoint_id, why, error
            )
            return Done(None, self._outcome(row, DeliveryStatus.FAILED, now, status, error))
        after = (
            wait
            if wait is not None
            else webhook_backoff(row.attempts + 1, self.policy.first_backoff)
        )
        raise Retry(
            error, after=after, also=self._outcome(row, DeliveryStatus.PENDING, now, status, error)
        )

    def _outcome(
        self,
        row: Any,
        outcome: DeliveryStatus,
        at: datetime,
        code: int | None,
        error: str | None = None,
    ) -> Write:
        """The attempt's record, written with the job's own (bot/outbox.py Done and Retry):
        the delivery's state, and the endpoint's health, which may pause it."""

        async def write(conn: AsyncConnection) -> None:
            values: dict[str, object] = {
                "status": str(outcome),
                "last_error": error,
                "attempts": delivery.c.attempts + 1,
                "last_attempt_at": at,
                "response_status": code,
            }
            if outcome == DeliveryStatus.DELIVERED:
                values["delivered_at"] = at
            # Only while pending: an endpoint removed meanwhile keeps its delivery cancelled.
            pending = sa.and_(
                delivery.c.id == row.id, delivery.c.status == str(DeliveryStatus.PENDING)
            )
            await conn.execute(sa.update(delivery).where(pending).values(**values))
            if outcome == DeliveryStatus.DELIVERED:
                await conn.execute(
                    sa.update(endpoint)
                    .where(endpoint.c.id == row.endpoint_id)
                    .values(failures=0, failing_since=None, last_success_at=at)
                )
            elif row.type != PING and await self._failing(conn, row.endpoint_id, at, error or "?"):
                # A ping is a person's test, not the endpoint's record.
                self._paused(row.endpoint_id, row.url, error or "?")

        return write

    async def _cancel(self, delivery_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(delivery)
                .where(delivery.c.id == delivery_id)
                .values(status=str(DeliveryStatus.CANCELLED), last_error="endpoint removed")
            )

    async def _failing(
        self, conn: AsyncConnection, endpoint_id: int, now: datetime, error: str
    ) -> bool:
        """Count the failure; pause the endpoint once it has failed long enough. Whether this
        failure paused it."""
        since = now - self.policy.pause_after
        e = endpoint.c
        # A failing endpoint is tried at least hourly: a longer quiet spell since its last
        # failure ends the streak, which starts again with this one.
        quiet = now - max(self.policy.pause_after, timedelta(seconds=2 * MAX_BACKOFF))
        fresh = sa.or_(e.last_failure_at.is_(None), e.last_failure_at < quiet)
        await conn.execute(
            sa.update(endpoint)
            .where(e.id == endpoint_id)
            .values(
                failures=sa.case((fresh, 1), else_=e.failures + 1),
                failing_since=sa.case((fresh, now), else_=sa.func.coalesce(e.failing_since, now)),
                last_failure_at=now,
            )
        )
        paused = await conn.execute(
            sa.update(endpoint)
            .where(
                e.id == endpoint_id,
                e.paused_at.is_(None),
                e.removed_at.is_(None),
                e.failures >= PAUSE_MIN_FAILURES,
                e.failing_since <= since,
            )
            .values(paused_at=now, pause_reason=error[:500])
        )
        return paused.rowcount == 1

    def _paused(self, endpoint_id: int, url: str, error: str) -> None:
        log.warning(
            "webhooks: endpoint #%d %s paused: every attempt failed for %s (last: %s); "
            "its deliveries wait for `handoff webhooks resume %d`",
            endpoint_id,
            url.split("?", 1)[0],  # a query may carry the receiver's own token
            format_duration(self.policy.pause_after),
            error,
            endpoint_id,
        )
