"""The outbox: durable side effects (Slack posts, emails), carried out after their commit.

A job is written in the transaction that causes it, so a crash can never keep the cause and
lose the effect. A worker leases one job at a time with a conditional UPDATE (a compare-and-set
that works alike on SQLite and PostgreSQL, so any number of workers may run), carries it out,
and marks it done; a failure puts it back with a later due time. A worker killed mid-job holds
its lease until it expires, then the job is taken up again, marked `uncertain` so its handler
can check whether the effect already happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.db import first_line
from bot.models import OutboxJob, utcnow
from bot.vocabulary import JobKind

log = logging.getLogger("handoff.outbox")
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
# A side effect, stored in the transaction that causes it; the worker below carries it out.
INSERT_JOB = sa.insert(outbox)
NO_SLACK = "handoff.no_slack"  # set on a connection: queue no Slack side effects (a backfill)

MAX_BACKOFF = timedelta(minutes=15)
POLL_SECONDS = 1.0  # jobs written by other processes (handoff ingest, replicas) wait at most this


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    referral_id: int | None
    event_id: int | None
    attempts: int  # including this one
    uncertain: bool  # an earlier worker vanished while holding it: the effect may have happened
    nudge_id: int | None = None
    target: str | None = None  # whom a DM goes to
    mail_id: int | None = None  # the email to send
    created_at: datetime | None = None  # when it was queued: no attempt came before


class Retry(Exception):  # noqa: N818 - an outcome, not a crash
    """The job failed for now; try again after `after` seconds (else the usual backoff)."""

    def __init__(self, reason: str, *, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Defer(Exception):  # noqa: N818
    """The job cannot run yet (it waits on another job): try again soon, without counting."""

    def __init__(self, reason: str, *, after: float = 2.0) -> None:
        super().__init__(reason)
        self.after = after


Handler = Callable[[Job], Awaitable[str | None]]  # returns a line for the log, or None


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … up to 15 minutes, with jitter so that workers do not retry in step."""
    seconds = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** min(attempts - 1, 20))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class Outbox:
    """Runs due jobs through their handlers, one at a time, until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: Mapping[str, Handler],
        *,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.lease = lease
        self.clock = clock
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Finish the job at hand, then return from run()."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """New jobs were committed in this process: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Work until stop(); a database outage is logged once and waited out."""
        down = False
        while not self._stopping:
            # Cleared before looking, so that a wake() while we look is not lost.
            self._wake.clear()
            try:
                worked = await self.run_once()
                if down:
                    log.info("outbox: database reachable again")
                down = False
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                if not down:
                    log.warning("outbox: database unavailable, waiting: %s", first_line(exc))
                down, worked = True, False
            if not worked and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def run_once(self, *, only: Collection[int] | None = None) -> bool:
        """Lease and carry out one due job (of `only`, if given); False when none was due."""
        job = await self._lease(only)
        if job is None:
            return False
        await self._carry_out(job)
        return True

    async def drain(self, *, within: float = 30.0, only: Collection[int] | None = None) -> int:
        """Carry out every job due now, or those of `only` (for commands that send before they
        exit); returns how many were tried. A job that fails waits for its retry."""
        done = 0
        async with asyncio.timeout(within):
            while await self.run_once(only=only):
                done += 1
        return done

    async def unfinished(self, ids: Collection[int]) -> list[str]:
        """Of these jobs, the last errors of those not done yet."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(outbox.c.last_error).where(
                    outbox.c.id.in_(list(ids)), outbox.c.done_at.is_(None)
                )
            )
            return [row.last_error or "not tried yet" for row in rows]

    async def pending(self) -> int:
        """Jobs not done yet, due or not."""
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(outbox.c.done_at.is_(None))
            return int(await conn.scalar(query) or 0)

    async def _lease(self, only: Collection[int] | None = None) -> Job | None:
        now = self.clock()
        free = sa.or_(outbox.c.leased_until.is_(None), outbox.c.leased_until <= now)
        due = sa.and_(outbox.c.done_at.is_(None), outbox.c.due_at <= now, free)
        if only is not None:
            due = sa.and_(due, outbox.c.id.in_(list(only)))
        columns = (
            outbox.c.id,
            outbox.c.kind,
            outbox.c.referral_id,
            outbox.c.event_id,
            outbox.c.nudge_id,
            outbox.c.target,
            outbox.c.mail_id,
            outbox.c.created_at,
        )
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(*columns, outbox.c.attempts, outbox.c.leased_until)
                    .where(due)
                    .order_by(outbox.c.id)
                    .limit(5)
                )
            ).all()
            for row in rows:
                # Compare-and-set: of several workers that read the same row, one takes it.
                taken = await conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.id == row.id, due)
                    .values(leased_until=now + self.lease, attempts=outbox.c.attempts + 1)
                )
                if taken.rowcount == 1:
                    return Job(
                        id=row.id,
                        kind=row.kind,
                        referral_id=row.referral_id,
                        event_id=row.event_id,
                        attempts=row.attempts + 1,
                        uncertain=row.leased_until is not None,
                        nudge_id=row.nudge_id,
                        target=row.target,
                        mail_id=row.mail_id,
                        created_at=row.created_at,
                    )
        return None

    async def _carry_out(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise Retry(f"no handler for {job.kind!r} in this process")
            note = await handler(job)
        except Defer as exc:
            await self._finish(job, due=self.clock() + timedelta(seconds=exc.after), undo=True)
            log.debug("outbox: job #%d (%s) waits: %s", job.id, job.kind, exc)
            return
        except asyncio.CancelledError:
            raise  # the lease expires and another worker takes the job up
        except Exception as exc:  # noqa: BLE001 - every failure is retried; nothing is lost
            reason = str(exc) if isinstance(exc, Retry) else f"{type(exc).__name__}: {exc}"
            reason = (reason.strip().splitlines() or ["?"])[0][:500]
            after = exc.after if isinstance(exc, Retry) and exc.after is not None else None
            delay = timedelta(seconds=after) if after is not None else backoff(job.attempts)
            await self._finish(job, due=self.clock() + delay, error=reason)
            log.log(
                logging.WARNING if isinstance(exc, Retry) else logging.ERROR,
                "outbox: job #%d (%s) failed, attempt %d, again in %ds: %s",
                job.id,
                job.kind,
                job.attempts,
                round(delay.total_seconds()),
                reason,
                exc_info=None if isinstance(exc, Retry) else exc,
            )
            return
        async with metrics.settling():  # a scrape sees the job done and counted, or neither
            await self._finish(job, done=True)
            metrics.OUTBOX_DONE.labels(kind=job.kind).inc()
        if note:
            log.info("%s", note)

    async def _finish(
        self,
        job: Job,
        *,
        done: bool = False,
        due: datetime | None = None,
        error: str | None = None,
        undo: bool = False,
    ) -> None:
        values: dict[str, object] = {"leased_until": None}
        if done:
            values.update(done_at=self.clock(), last_error=None)
        if due is not None:
            values["due_at"] = due
        if error is not None:
            values["last_error"] = error
        if undo:
            values["attempts"] = outbox.c.attempts - 1
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(outbox).where(outbox.c.id == job.id).values(**values))


async def enqueue(
    conn: AsyncConnection, kind: JobKind, referral_id: int, *, event_id: int | None = None
) -> None:
    """A Slack side effect of this transaction, carried out by the outbox after the commit."""
    if conn.info.get(NO_SLACK):
        return
    await conn.execute(INSERT_JOB, job_row(kind, referral_id, event_id=event_id))


def job_row(
    kind: JobKind,
    referral_id: int | None,
    *,
    event_id: int | None = None,
    nudge_id: int | None = None,
    target: str | None = None,
    mail_id: int | None = None,
) -> dict[str, object]:
    """One outbox row, due now (wall-clock time: the outbox runs on it)."""
    now = utcnow()
    return {
        "kind": str(kind),
        "referral_id": referral_id,
        "event_id": event_id,
        "nudge_id": nudge_id,
        "target": target,
        "mail_id": mail_id,
        "created_at": now,
        "due_at": now,
        "attempts": 0,
    }
