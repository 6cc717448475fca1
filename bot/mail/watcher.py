"""Watch one IMAP folder: catch up by UID, oldest first, then wait for news, forever.

Progress is the last processed UID under the folder's UIDVALIDITY (RFC 3501 section 2.3.1.1),
stored in `imap_folder` and advanced in the same transaction that stores each message, so a
crash at any point neither loses nor repeats one. The watcher only fetches: what a message means
is decided by the same intake as `handoff ingest`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import first_line, session_factory
from bot.email.parse import parse
from bot.intake.pipeline import IngestResult, Intake, Superseded
from bot.intake.sources import Incoming
from bot.locks import run_exclusive
from bot.mail.imap import ImapConnection, ImapError, ImapRefused
from bot.mail.imap_wire import Fetched, FolderStatus
from bot.models import ImapFolder, InboundMessage, utcnow
from bot.referrals.directory import Directory, load_directory
from bot.servers import ImapTarget

log = logging.getLogger(__name__)
FOLDERS = ImapFolder.__table__  # type: ignore[attr-defined]
INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
BATCH_MESSAGES = 100  # messages per FETCH and per transaction while catching up
BATCH_BYTES = 16 * 1024 * 1024  # … or fewer, so a batch of large messages stays in memory bounds
PROGRESS_SECONDS = 5.0
Observer = Callable[[list[IngestResult]], None]


@dataclass(frozen=True)
class WatchSettings:
    poll_seconds: float = 60.0
    idle_seconds: float = 540.0
    timeout: float = 30.0
    move_to: str | None = None
    internal_domains: frozenset[str] = frozenset()
    partner_mailbox: str | None = None
    protection: timedelta = timedelta(days=90)
    secret: bytes | None = field(default=None, repr=False)  # HANDOFF_SECRET, for reply tokens
    lock_retry_seconds: float = 5.0
    backoff_first: float = 1.0
    backoff_max: float = 300.0


class Backoff:
    """Exponential, with jitter so that many watchers do not all knock at the same instant."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next(self) -> float:
        ceiling = min(self.cap, self.first * 2 ** min(self.failures, 30))
        self.failures += 1
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0


@dataclass
class FolderState:
    uidvalidity: int
    last_uid: int
    resync_until: int


class FolderWatcher:
    """One folder of one mailbox, watched by at most one process at a time."""

    def __init__(
        self,
        target: ImapTarget,
        *,
        engine: AsyncEngine,
        settings: WatchSettings,
        observer: Observer | None = None,
    ) -> None:
        self.target = target
        self.engine = engine
        self.settings = settings
        self.observer = observer
        self.name = f"imap {target.key}"

    async def check(self) -> None:
        """At start-up: refuse wrong credentials, a missing folder or MOVE_TO folder at once.

        A server that cannot be reached yet is not refused: the watcher keeps trying.
        """
        try:
            async with self._connect() as conn:
                move_to = self.settings.move_to
                if move_to and not await conn.folder_exists(move_to):
                    raise ImapRefused(
                        "HANDOFF_IMAP_MOVE_TO", f"folder {move_to!r} not found on {conn.where}"
                    )
        except ImapRefused:
            raise
        except ImapError as exc:
            log.warning("%s: %s; will keep trying", self.name, exc)

    async def run(self) -> None:
        """Watch forever; with several replicas, only the one holding the folder's lock works."""
        await run_exclusive(
            self.engine, self.name, self._watch, retry_seconds=self.settings.lock_retry_seconds
        )

    async def _watch(self) -> None:
        backoff = Backoff(self.settings.backoff_first, self.settings.backoff_max)
        down_since: float | None = None
        while True:
            try:
                async with self._connect() as conn:
                    if down_since is not None:
                        log.info("%s: back after %.0fs", self.name, time.monotonic() - down_since)
                        down_since = None
                    backoff.reset()
                    while True:
                        await self.sync(conn)
                        await conn.wait_for_news(
                            idle_seconds=self.settings.idle_seconds,
                            poll_seconds=self.settings.poll_seconds,
                        )
            except (ImapError, Superseded, OSError, sa.exc.DBAPIError) as exc:
                # One line per outage, not per attempt; the watcher never gives up.
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("%s: %s; reconnecting", self.name, first_line(exc))
            except Exception as exc:  # noqa: BLE001 - a watcher's error never ends serve
                # Unforeseen (SQLAlchemy's state after a lost connection, or a bug of ours):
                # said once, with its traceback, and handled as an outage. Nothing was
                # advanced past what committed, so the next round takes it up again.
                if down_since is None:
                    down_since = time.monotonic()
                    log.error("%s: %s; reconnecting", self.name, first_line(exc), exc_info=exc)
            await asyncio.sleep(backoff.next())

    def _connect(self) -> Any:
        return ImapConnection.open(self.target, seconds=self.settings.timeout)

    async def sync(self, conn: ImapConnection) -> int:
        """Process every message above the last processed UID, oldest first; return how many."""
        state = await self._state(conn.status)
        move_to = self.settings.move_to
        if move_to:
            # Processed but still here: the move did not happen before a crash.
            await conn.move(await conn.uids_through(state.last_uid), move_to)
        uids = await conn.uids_after(state.last_uid)
        if not uids:
            return 0
        sizes = await conn.sizes(uids)
        total, done, said = len(sizes), 0, time.monotonic()
        if total > BATCH_MESSAGES:
            log.info("%s: catching up %d messages", self.name, total)
        kinds: Counter[str] = Counter()
        # Once per round: partners registered meanwhile count from the next message on.
        async with session_factory(self.engine)() as session:
            directory = await load_directory(
                session=session,
                internal_domains=self.settings.internal_domains,
                mailbox=self.settings.partner_mailbox,
                secret=self.settings.secret,
            )
        for batch in _batches(sizes):
            fetched = await conn.fetch(batch)
            results = await self._ingest(fetched, state, directory)
            kinds.update(str(r.kind) for r in results)
            if move_to:
                await conn.move([m.uid for m in fetched], move_to)
            done += len(batch)
            if self.observer is not None:
                self.observer(results)
            if total > BATCH_MESSAGES and time.monotonic() - said >= PROGRESS_SECONDS:
                log.info("%s: %d/%d messages", self.name, done, total)
                said = time.monotonic()
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        log.info("%s: %d new (%s)", self.name, total, summary or "already stored")
        return total

    async def _state(self, status: FolderStatus) -> FolderState:
        """The folder's progress; a new or changed UIDVALIDITY starts over from UID 1."""
        key = self.target.key
        async with self.engine.begin() as db:
            row = (await db.execute(sa.select(FOLDERS).where(FOLDERS.c.key == key))).one_or_none()
            if row is not None and row.uidvalidity == status.uidvalidity:
                return FolderState(row.uidvalidity, row.last_uid, row.resync_until)
            # What is in the folder now may be stored already (a backfill from an export, or
            # the same messages under their old UIDs): those are compared before intake.
            resync_until = (status.uidnext - 1) if status.uidnext else 2**32 - 1
            values = {
                "uidvalidity": status.uidvalidity,
                "last_uid": 0,
                "resync_until": resync_until,
                "updated_at": utcnow(),
            }
            if row is None:
                await db.execute(sa.insert(FOLDERS).values(key=key, **values))
            else:
                log.warning(
                    "%s: UIDVALIDITY changed from %s to %s (folder recreated or restored); "
                    "reading it again, skipping what is already stored",
                    self.name,
                    row.uidvalidity,
                    status.uidvalidity,
                )
                await db.execute(sa.update(FOLDERS).where(FOLDERS.c.key == key).values(**values))
        return FolderState(status.uidvalidity, 0, resync_until)

    async def _ingest(
        self, fetched: list[Fetched], state: FolderState, directory: Directory
    ) -> list[IngestResult]:
        results: list[IngestResult] = []
        async with Intake.open(
            engine=self.engine, directory=directory, protection=self.settings.protection
        ) as intake:
            pending: list[Incoming] = []
            for message in fetched:
                if message.uid <= state.resync_until and await self._stored(intake, message):
                    # Flush first: progress only ever moves forward.
                    results += await intake.ingest_batch(pending) if pending else []
                    pending = []
                    async with intake.conn.begin():
                        await self._advance(intake.conn, message.uid, state.uidvalidity)
                    continue
                pending.append(self._incoming(message, state))
            if pending:
                results += await intake.ingest_batch(pending)
        state.last_uid = max([state.last_uid] + [m.uid for m in fetched])
        return results

    def _incoming(self, message: Fetched, state: FolderState) -> Incoming:
        uid, validity = message.uid, state.uidvalidity

        async def checkpoint(conn: AsyncConnection) -> None:
            await self._advance(conn, uid, validity)

        return Incoming(message.raw, self._source(validity, uid), message.internal_date, checkpoint)

    def _source(self, uidvalidity: int, uid: int) -> str:
        """An RFC 5092 IMAP URL naming the message: where an operator can find it again."""
        t = self.target
        mailbox = f"{quote(t.user, safe='')}@{t.host}:{t.port}/{quote(t.folder, safe='')}"
        return f"imap://{mailbox};UIDVALIDITY={uidvalidity}/;UID={uid}"

    async def _advance(self, conn: AsyncConnection, uid: int, uidvalidity: int) -> None:
        """Record `uid` as processed, in the caller's transaction; refuse to go backwards."""
        result = await conn.execute(
            sa.update(FOLDERS)
            .where(
                FOLDERS.c.key == self.target.key,
                FOLDERS.c.uidvalidity == uidvalidity,
                FOLDERS.c.last_uid < uid,
            )
            .values(last_uid=uid, updated_at=utcnow())
        )
        if result.rowcount != 1:
            raise Superseded(f"UID {uid} was already processed by another watcher")

    async def _stored(self, intake: Intake, message: Fetched) -> bool:
        key = parse(message.raw).dedupe_key
        query = sa.select(INBOUND.c.id).where(INBOUND.c.dedupe_key == key).limit(1)
        async with intake.conn.begin():
            return (await intake.conn.execute(query)).first() is not None


def _batches(sizes: list[tuple[int, int]]) -> list[list[int]]:
    """UIDs in fetch batches bounded by count and bytes (a large message goes alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for uid, length in sizes:
        if current and (len(current) >= BATCH_MESSAGES or size + length > BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(uid)
        size += length
    if current:
        batches.append(current)
    return batches
