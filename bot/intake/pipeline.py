"""Raw message -> referral, event or triage row, stored together. Intake's only writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.db import first_line, transient
from bot.hops import Hop, facing, finish, greenlet_hop, shared_worker, workable, worker_hop
from bot.intake import parsers
from bot.intake.decide import decide
from bot.intake.sources import Incoming
from bot.intake.store import IngestResult, Received, arrived, bare, store
from bot.outbox import NO_SLACK, gathering
from bot.referrals.directory import Directory
from bot.vocabulary import Kind

log = logging.getLogger(__name__)
T = TypeVar("T")
# Seconds between tries of a message the database failed on for a passing reason (a lost
# connection, a lock held past the busy timeout); then the caller keeps it for later.
TRANSIENT_WAITS = (0.05, 0.2, 0.5, 1.0, 2.0)


class Superseded(Exception):  # noqa: N818 - a state, not a failure
    """A checkpoint found the message already processed by another writer: nothing was stored."""


class Intake:
    """Ingests messages in order, exactly as the IMAP watcher will.

    A message, or a batch of them, is one transaction, handed to the database in one hop
    (bot/hops.py): on SQLite to a thread with a plain sqlite3 connection, on PostgreSQL to
    the AsyncConnection's own run_sync.
    """

    def __init__(
        self,
        *,
        hop: Hop,
        directory: Directory,
        protection: timedelta,
        dry_run: bool = False,
        slack: bool = True,
        bulk: bool = False,
    ) -> None:
        self.hop = hop
        self.parsers = parsers.shared() if bulk else None
        self.slack = slack
        self.directory = directory
        self.protection = protection
        self.dry_run = dry_run
        # One connection runs one transaction at a time: callers sharing an Intake take turns.
        self._turn = asyncio.Lock()

    async def write(self, work: Callable[[AsyncConnection], Coroutine[Any, Any, T]]) -> T:
        """The caller's own bookkeeping (IMAP progress, a refusal kept for triage), run where
        intake writes, in a transaction of its own."""

        def run(conn: sa.Connection) -> T:
            with self._transaction(conn):
                return finish(work(facing(conn)))

        async with self._turn:
            return await self.hop(run)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        *,
        engine: AsyncEngine,
        directory: Directory,
        protection: timedelta,
        dry_run: bool = False,
        slack: bool = True,
        bulk: bool = False,
    ) -> AsyncIterator[Intake]:
        """An Intake writing where its database is written best; a dry run rolls everything
        back at the end.

        With slack=False (a backfill of old mail) nothing it stores is posted to Slack. With
        bulk=True (many messages in a row) each batch is parsed ahead in a process of its own,
        when the machine has a second core (`reading`).

        A SQLite file is written from a worker thread (bot/hops.py): the process's shared one,
        or for a dry run or slack=False one of its own, since those leave marks on the
        connection. Other databases write on a connection of the engine's pool.
        """
        async with contextlib.AsyncExitStack() as stack:
            if workable(engine) and (dry_run or not slack):
                hop = await stack.enter_async_context(worker_hop(engine))
            elif workable(engine):
                hop = shared_worker(engine)
            else:
                hop = greenlet_hop(await stack.enter_async_context(engine.connect()))
            intake = cls(
                hop=hop,
                directory=directory,
                protection=protection,
                dry_run=dry_run,
                slack=slack,
                bulk=bulk,
            )
            async with intake._kept():
                yield intake

    @asynccontextmanager
    async def _kept(self) -> AsyncIterator[None]:
        """A dry run's outer transaction, rolled back at the end; a backfill's no-Slack mark."""
        await self.hop(self._start)
        try:
            yield
        finally:
            await self.hop(self._end)

    def _start(self, conn: sa.Connection) -> None:
        if not self.slack:
            conn.info[NO_SLACK] = True
        if self.dry_run:
            conn.begin()
            if conn.dialect.name == "sqlite":
                # The driver begins transactions only at a write; without this BEGIN,
                # releasing a message's SAVEPOINT would commit it.
                conn.exec_driver_sql("BEGIN")

    def _end(self, conn: sa.Connection) -> None:
        if conn.invalidated:
            # One that died under us is not asked (that would reconnect outside the hop).
            return
        if self.dry_run:
            conn.rollback()
        # The pooled connection outlives this Intake: leave it as it was.
        conn.info.pop(NO_SLACK, None)

    async def ingest(
        self, raw: bytes, *, arrival_at: datetime | None = None, source: str = ""
    ) -> IngestResult:
        """Store the raw message with all it causes in one transaction; on our error, keep it.

        The stored message commits together with what it causes, never after it; when
        processing fails, the bytes are stored as `rejected`, with the cause, on their own.
        """
        [result] = await self.ingest_batch([Incoming(raw, source, arrival_at)])
        return result

    async def ingest_batch(self, messages: list[Incoming]) -> list[IngestResult]:
        """Several messages in one transaction, in order: a backfill's throughput.

        If any of them fails, the whole batch is rolled back and each message is ingested again
        in a transaction of its own, so the others still land and the failing one is kept.
        """
        return await self.ingest_read(await self.reading(messages))

    def reading(self, messages: list[Incoming]) -> Coroutine[Any, Any, list[Received]]:
        """The batch parsed and timed, for `ingest_read`. A bulk Intake's batch is parsed in the
        parser process from now on, while the caller writes the batch before it
        (bot/intake/parsers.py); otherwise in a thread when awaited, so that Slack's acks and
        /healthz never wait on mail (a hostile 256 KB body takes a few hundred ms)."""
        parsing = (self.parsers or parsers.here).ahead([m.raw for m in messages])

        async def read() -> list[Received]:
            parsed = await parsing
            return [arrived(m, p) for m, p in zip(messages, parsed, strict=True)]

        return read()

    async def ingest_read(self, received: list[Received]) -> list[IngestResult]:
        """`ingest_batch` of messages already read (`reading`)."""
        async with self._turn:
            results = await self._batch(received)
        if not self.dry_run:
            metrics.count_intake(r.kind for r in results)  # committed, each counted once
        return results

    async def _batch(self, received: list[Received]) -> list[IngestResult]:
        if not self.dry_run and len(received) > 1:
            try:
                return await self.hop(lambda conn: self._together(conn, received))
            except Exception:  # noqa: BLE001 - redone one by one below, which says why
                pass
        return [await self._ingest(m) for m in received]

    def _together(self, conn: sa.Connection, received: list[Received]) -> list[IngestResult]:
        with self._transaction(conn):
            return [self._processed(conn, m) for m in received]

    def _processed(self, conn: sa.Connection, message: Received) -> IngestResult:
        """Decide and store one message, and record the source's progress, in the caller's
        transaction."""
        result = finish(process(conn=facing(conn), message=message, intake=self))
        finish(_checkpoint(facing(conn), message))
        return result

    @contextmanager
    def _transaction(self, conn: sa.Connection) -> Iterator[None]:
        try:
            with conn.begin(), gathering(conn):
                if not self.slack:
                    # Set again in each transaction: a connection lost and made anew forgets it.
                    conn.info[NO_SLACK] = True
                yield
        except BaseException:
            # A connection lost mid-transaction keeps it until rolled back, and refuses to
            # reconnect for the next try until then.
            if conn.in_transaction():
                with contextlib.suppress(Exception):
                    conn.rollback()
            raise

    def _one(self, conn: sa.Connection, message: Received) -> IngestResult:
        with self._transaction(conn):
            return self._processed(conn, message)

    def _tried(self, conn: sa.Connection, message: Received) -> IngestResult:
        """A dry run's message, inside a savepoint: what it would do, then undone."""
        try:
            with conn.begin_nested():
                return finish(process(conn=facing(conn), message=message, intake=self))
        except Exception as exc:  # noqa: BLE001 - reported; the dry run goes on
            log.error("intake failed on a message from %s", message.source, exc_info=exc)
            reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
            return IngestResult(Kind.REJECTED, reason=reason, source=message.source)

    async def _ingest(self, message: Received) -> IngestResult:
        if self.dry_run:
            return await self.hop(lambda conn: self._tried(conn, message))
        waits = iter(TRANSIENT_WAITS)
        integrity = 0
        while True:
            try:
                return await self.hop(lambda conn: self._one(conn, message))
            except Superseded:
                raise
            except IntegrityError as exc:
                # Another writer committed the same intro (or took the same sequence number)
                # first: go again, and the message is a duplicate or takes the next number.
                integrity += 1
                if integrity == 3:
                    return await self._keep_rejected(message, exc)
            except Exception as exc:  # noqa: BLE001 - our fault, but the message is kept
                if not transient(exc):
                    return await self._keep_rejected(message, exc)
                # The database's passing state, not the message's fault: the same message,
                # with the same arrival time, again; if the database stays away, the caller
                # keeps it (no UID advanced, no delivery answered) and tries later.
                wait = next(waits, None)
                if wait is None:
                    raise
                log.info("intake: %s; trying again in %.1fs", first_line(exc), wait)
                await asyncio.sleep(wait)

    async def _keep_rejected(self, message: Received, exc: Exception) -> IngestResult:
        """Store a message intake failed on as `rejected`, with the cause, so none is lost."""
        log.error("intake failed on a message from %s", message.source or "input", exc_info=exc)
        reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
        result = IngestResult(Kind.REJECTED, reason=reason)

        def keep(conn: sa.Connection, kept: Received) -> None:
            with self._transaction(conn):
                finish(store(conn=facing(conn), message=kept, result=result))
                finish(_checkpoint(facing(conn), message))

        try:
            await self.hop(lambda conn: keep(conn, message))
        except Superseded:
            raise
        except Exception as stored_exc:
            if transient(stored_exc):
                raise  # kept by the caller for later, as any message the database could not take
            # Maybe a field was the trouble: keep the bytes alone.
            stripped = replace(message, parsed=bare(message))
            await self.hop(lambda conn: keep(conn, stripped))
        return result


async def _checkpoint(conn: AsyncConnection, message: Received) -> None:
    if message.checkpoint is not None:
        await message.checkpoint(conn)


async def process(*, conn: AsyncConnection, message: Received, intake: Intake) -> IngestResult:
    """Decide (bot/intake/decide.py), then store the message with what was decided."""
    result, partner_id, referral_id = await decide(
        conn,
        message,
        directory=intake.directory,
        protection=intake.protection,
        dry_run=intake.dry_run,
    )
    await store(
        conn=conn, message=message, result=result, partner_id=partner_id, referral_id=referral_id
    )
    return result
