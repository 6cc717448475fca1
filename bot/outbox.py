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
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
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
# Set on a connection: queue no side effects through enqueue (a backfill): no Slack post or
# line, no partner email.
NO_SLACK = "handoff.no_slack"
# Set on a connection by `gathering`: the jobs enqueue queues, written at the block's end.
GATHERED = "handoff.gathered_jobs"

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
    delivery_id: int | None = None  # the webhook to deliver
    created_at: datetime | None = None  # when it was queued: no attempt came before


Write = Callable[[AsyncConnection], Awaitable[None]]  # a handler's own record of the outcome


class Retry(Exception):  # noqa: N818 - an outcome, not a crash
    """The job failed for now; try again after `after` seconds (else the usual backoff).

    `also` is written in the transaction that puts the job back (the handler's own record
    of the attempt), so that the two never disagree.
    """

    def __init__(
        self, reason: str, *, after: float | None = None, also: Write | None = None
    ) -> None:
        super().__init__(reason)
        self.after = after
        self.also = also


@dataclass(frozen=True)
class Done:
    """A handler's outcome written in the transaction that marks its job done."""

    note: str | None
    also: Write


class Defer(Exception):  # noqa: N818
    """The job cannot run yet (it waits on another job): try again soon, without counting."""

    def __init__(self, reason: str, *, after: float = 2.0) -> None:
        super().__init__(reason)
        self.after = after


# Returns a line for the log, or None; or Done, to write its outcome with the job's.
Handler = Callable[[Job], Awaitable["str | Done | None"]]


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … up to 15 minutes, with jitter so that workers do not retry in step."""
    seconds = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** min(attempts - 1, 20))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class Outbox:
    """Runs due jobs of its handlers' kinds through them, until stopped.

    Each lane is an Outbox of its own (`handoff serve` runs one for Slack and email, one for
    webhooks), so that a slow webhook endpoint never holds a Slack post back. `workers` jobs
    run at once; `eligible` narrows which due jobs may be taken now (a webhook waits for the
    one before it on the same referral and endpoint).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: Mapping[str, Handler],
        *,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
        workers: int = 1,
        eligible: sa.ColumnElement[bool] | None = None,
        name: str = "outbox",
    ) -> None:
        self.engine = engine
        self.handlers = dict(handlers)
        self.lease = lease
        self.clock = clock
        self.workers = workers
        self.eligible = eligible
        self.name = name
        self._wake = asyncio.Event()
        self._stopping = False
        self._also: list[Outbox] = []

    def also_wakes(self, lane: Outbox) -> None:
        """Wake `lane` whenever this one is woken: the same commits queue jobs for both."""
        self._also.append(lane)

    def stop(self) -> None:
        """Finish the job at hand, then return from run()."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """New jobs were committed in this process: look now rather than at the next poll."""
        self._wake.set()
        for lane in self._also:
            lane.wake()

    async def run(self) -> None:
        """Work until stop(), `workers` jobs at a time."""
        await asyncio.gather(*(self._work() for _ in range(self.workers)))

    async def _work(self) -> None:
        """One worker: until stop(); a database outage is logged once and waited out."""
        down = False
        while not self._stopping:
            # Cleared before looking, so that a wake() while we look is not lost.
            self._wake.clear()
            try:
                worked = await self.run_once()
                if down:
                    log.info("%s: database reachable again", self.name)
                down = False
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                if not down:
                    log.warning("%s: database unavailable, waiting: %s", self.name, first_line(exc))
                down, worked = True, False
            if worked:
                self._wake.set()  # the others look too: there may be more
            elif not self._stopping:
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
        """Jobs of this lane not done yet, due or not."""
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(outbox.c.done_at.is_(None), self._mine())
            return int(await conn.scalar(query) or 0)

    def _mine(self) -> sa.ColumnElement[bool]:
        return outbox.c.kind.in_(sorted(self.handlers))

    async def _lease(self, only: Collection[int] | None = None) -> Job | None:
        now = self.clock()
        free = sa.or_(outbox.c.leased_until.is_(None), outbox.c.leased_until <= now)
        due = sa.and_(outbox.c.done_at.is_(None), outbox.c.due_at <= now, free, self._mine())
        if self.eligible is not None:
            due = sa.and_(due, self.eligible)
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
            outbox.c.delivery_id,
            outbox.c.created_at,
        )
        query = (
            sa.select(*columns, outbox.c.attempts, outbox.c.leased_until)
            .where(due)
            .order_by(outbox.c.id)
            .limit(5)
        )
        if self.engine.dialect.name == "postgresql":
            # Rows another worker is leasing are passed over, not waited on: without this,
            # workers reading the same rows queue on each one's row lock.
            query = query.limit(1).with_for_update(skip_locked=True, of=outbox)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
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
                        delivery_id=row.delivery_id,
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
            also = exc.also if isinstance(exc, Retry) else None
            await self._finish(job, due=self.clock() + delay, error=reason, also=also)
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
        also = None
        if isinstance(note, Done):
            also = note.also
            note = note.note
        async with metrics.settling():  # a scrape sees the job done and counted, or neither
            await self._finish(job, done=True, also=also)
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
        also: Write | None = None,
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
            if also is not None:
                await also(conn)


async def enqueue(
    conn: AsyncConnection, kind: JobKind, referral_id: int, *, event_id: int | None = None
) -> None:
    """A Slack side effect of this transaction, carried out by the outbox after the commit."""
    if conn.info.get(NO_SLACK):
        return
    row = job_row(kind, referral_id, event_id=event_id)
    gathered = conn.info.get(GATHERED)
    if gathered is not None:
        gathered.append(row)
        return
    await conn.execute(INSERT_JOB, row)


@contextlib.contextmanager
def gathering(conn: sa.Connection) -> Iterator[None]:
    """The jobs `enqueue` queues inside the block, written together at its end: one INSERT of
    many rows instead of one statement each (intake's batches, about 1.5 jobs a message).

    Use it inside the transaction, around all of its work: a job is still written in the
    transaction that causes it, and an error inside the block writes none of them. Nothing may
    read enqueue's jobs (Slack posts and lines, partner mail) inside the block; nothing does,
    as only the outbox worker reads them. Other jobs (webhooks, CRM) are written at once.
    """
    rows: list[dict[str, object]] = []
    conn.info[GATHERED] = rows
    try:
        yield
    except BaseException:
        # A connection lost inside the block refuses even its info (the error raised must stay
        # the loss, which is tried again); the pool clears the info when it connects anew.
        with contextlib.suppress(Exception):
            del conn.info[GATHERED]
        raise
    del conn.info[GATHERED]
    if rows:
        conn.execute(INSERT_JOB, rows)


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
