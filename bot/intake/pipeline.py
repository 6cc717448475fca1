"""Raw message -> referral, event or triage row, stored together. Intake's only writer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.db import first_line, transient
from bot.intake.decide import decide
from bot.intake.sources import Incoming
from bot.intake.store import IngestResult, Received, arrived, bare, store
from bot.outbox import NO_SLACK
from bot.referrals.directory import Directory
from bot.vocabulary import Kind

log = logging.getLogger(__name__)
# Seconds between tries of a message the database failed on for a passing reason (a lost
# connection, a lock held past the busy timeout); then the caller keeps it for later.
TRANSIENT_WAITS = (0.05, 0.2, 0.5, 1.0, 2.0)


class Superseded(Exception):  # noqa: N818 - a state, not a failure
    """A checkpoint found the message already processed by another writer: nothing was stored."""


class Intake:
    """Ingests messages in order, exactly as the IMAP watcher will.

    One connection serves the whole run; a message, or a batch of them, is one transaction.
    Every statement costs a thread hand-off with aiosqlite and every commit a WAL write, so
    intake keeps both few (bench/ingest.py measures it).
    """

    def __init__(
        self,
        *,
        conn: AsyncConnection,
        directory: Directory,
        protection: timedelta,
        dry_run: bool = False,
        slack: bool = True,
    ) -> None:
        self.conn = conn
        self.slack = slack
        self.directory = directory
        self.protection = protection
        self.dry_run = dry_run
        # One connection runs one statement at a time: callers sharing an Intake take turns.
        self._turn = asyncio.Lock()

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
    ) -> AsyncIterator[Intake]:
        """An Intake on its own connection; a dry run rolls everything back at the end.

        With slack=False (a backfill of old mail) nothing it stores is posted to Slack.
        """
        async with engine.connect() as conn:
            intake = cls(
                conn=conn, directory=directory, protection=protection, dry_run=dry_run, slack=slack
            )
            if not slack:
                conn.info[NO_SLACK] = True
            try:
                if not dry_run:
                    yield intake
                    return
                await conn.begin()
                if conn.dialect.name == "sqlite":
                    # The driver begins transactions only at a write; without this BEGIN,
                    # releasing a message's SAVEPOINT would commit it.
                    await conn.exec_driver_sql("BEGIN")
                try:
                    yield intake
                finally:
                    await conn.rollback()
            finally:
                # The pooled connection outlives this Intake: leave it as it was. One that died
                # under it is not asked (that would reconnect outside the loop's greenlet).
                if not conn.invalidated:
                    conn.info.pop(NO_SLACK, None)

    async def ingest(
        self, raw: bytes, *, arrival_at: datetime | None = None, source: str = ""
    ) -> IngestResult:
        """Store the raw message with all it causes in one transaction; on our error, keep it.

        The stored message commits together with what it causes, never after it; when
        processing fails, the bytes are stored as `rejected`, with the cause, on their own.
        """
        # Parsing is CPU work (up to a few hundred ms for a hostile 256 KB body): in a thread,
        # so that Slack's acks and /healthz never wait on mail.
        message = await asyncio.to_thread(arrived, Incoming(raw, source, arrival_at))
        async with self._turn:
            result = await self._ingest(message)
        if not self.dry_run:
            metrics.count_intake([result.kind])
        return result

    async def ingest_batch(self, messages: list[Incoming]) -> list[IngestResult]:
        """Several messages in one transaction, in order: a backfill's throughput.

        If any of them fails, the whole batch is rolled back and each message is ingested again
        in a transaction of its own, so the others still land and the failing one is kept.
        """
        received = await asyncio.to_thread(lambda: [arrived(m) for m in messages])
        async with self._turn:
            results = await self._batch(received)
        if not self.dry_run:
            metrics.count_intake(r.kind for r in results)  # committed, each counted once
        return results

    async def _batch(self, received: list[Received]) -> list[IngestResult]:
        if not self.dry_run and len(received) > 1:
            try:
                async with self._transaction():
                    results = []
                    for m in received:
                        results.append(await process(conn=self.conn, message=m, intake=self))
                        await _checkpoint(self.conn, m)
                    return results
            except Exception:  # noqa: BLE001 - redone one by one below, which says why
                pass
        return [await self._ingest(m) for m in received]

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self.conn.begin():
            if not self.slack:
                # Set again in each transaction: a connection lost and made anew forgets it.
                self.conn.info[NO_SLACK] = True
            yield

    async def _ingest(self, message: Received) -> IngestResult:
        if self.dry_run:
            try:
                async with self.conn.begin_nested():
                    return await process(conn=self.conn, message=message, intake=self)
            except Exception as exc:  # noqa: BLE001 - reported; the dry run goes on
                log.error("intake failed on a message from %s", message.source, exc_info=exc)
                reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
                return IngestResult(Kind.REJECTED, reason=reason, source=message.source)
        waits = iter(TRANSIENT_WAITS)
        integrity = 0
        while True:
            try:
                async with self._transaction():
                    result = await process(conn=self.conn, message=message, intake=self)
                    await _checkpoint(self.conn, message)
                    return result
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
        try:
            async with self._transaction():
                await store(conn=self.conn, message=message, result=result)
                await _checkpoint(self.conn, message)
        except Superseded:
            raise
        except Exception as stored_exc:
            if transient(stored_exc):
                raise  # kept by the caller for later, as any message the database could not take
            # Maybe a field was the trouble: keep the bytes alone.
            stripped = replace(message, parsed=bare(message))
            async with self._transaction():
                await store(conn=self.conn, message=stripped, result=result)
                await _checkpoint(self.conn, message)
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
