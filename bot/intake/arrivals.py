"""Mail handed to Handoff by someone else (an MTA over LMTP, a mail service's webhook): each
message stored with what it causes before its sender hears it was taken.

One writer per process: deliveries that arrive together are stored in one transaction (a group
commit), so one at a time a message waits for nothing, and in a burst one commit serves many. On
SQLite, connections of one process that wait for each other's write lock would sleep in SQLite's
busy handler (tens of ms each).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db import first_line, transient
from bot.intake.pipeline import IngestResult, Intake
from bot.intake.sources import Incoming
from bot.models import utcnow
from bot.referrals.directory import Directory, settings_directory

log = logging.getLogger("handoff.intake")
BATCH = 50  # deliveries stored in one transaction at most
Observer = Callable[[list[IngestResult]], None]


def trace(mail_from: str | None, recipients: list[str]) -> bytes:
    """The trace fields a final delivery adds on top (RFC 5321 section 4.4): Return-Path (when
    the envelope sender is known) and one Delivered-To per envelope recipient, in order. Intake
    reads Delivered-To, so a Bcc'd intro is attributed from the address it was delivered to."""
    lines = [f"Return-Path: <{mail_from}>"] if mail_from is not None else []
    lines += [f"Delivered-To: {r}" for r in recipients]
    if not lines:
        return b""
    clean = [line.replace("\r", " ").replace("\n", " ") for line in lines]
    return ("\r\n".join(clean) + "\r\n").encode("utf-8", "surrogateescape")


class Arrivals:
    """Stores delivered messages through the same intake as IMAP and `handoff ingest`."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings, observer: Observer | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.observer = observer
        self.protection = timedelta(days=settings.protection_days)
        self._queue: list[tuple[Incoming, asyncio.Future[IngestResult]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def directory(self) -> Directory:
        return await settings_directory(self.engine, self.settings)

    async def store(self, raw: bytes, source: str) -> IngestResult | None:
        """Committed with all it causes when this returns it; None when nothing was stored
        (said in the log once): the sender keeps the message and offers it again."""
        waiting: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._queue.append((Incoming(raw, source, utcnow()), waiting))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="arrivals")
        try:
            result = await waiting
        except Exception as exc:  # noqa: BLE001 - not stored: the sender tries again
            if transient(exc):
                log.warning("%s: database unavailable (%s); not stored", source, first_line(exc))
            else:
                log.error("%s: a delivery failed; not stored", source, exc_info=exc)
            return None
        if self.observer is not None:
            self.observer([result])
        log.info("%s: %s %s", source, result.kind, result.referral or result.reason or "")
        return result

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                directory = await self.directory()
                async with Intake.open(
                    engine=self.engine, directory=directory, protection=self.protection
                ) as intake:
                    results = await intake.ingest_batch([incoming for incoming, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each sender hears it was not taken
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_exception(exc)
                continue
            for (_, waiting), result in zip(batch, results, strict=True):
                if not waiting.done():
                    waiting.set_result(result)
