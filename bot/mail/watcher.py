"""Watch one IMAP folder: catch up by UID, oldest first, then wait for news, forever.

Progress is the last processed UID under the folder's UIDVALIDITY (RFC 3501 section 2.3.1.1),
stored in `imap_folder` and advanced in the same transaction that stores each message, so a
crash at any point neither loses nor repeats one. The watcher only fetches: what a message means
is decided by the same intake as `handoff ingest`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import first_line, session_factory
from bot.email.parse import parse
from bot.intake import unfetchable
from bot.intake.pipeline import IngestResult, Intake, Superseded
from bot.intake.sources import Incoming
from bot.locks import run_exclusive
from bot.mail.imap import FetchFailed, ImapConnection, ImapError, ImapRefused
from bot.mail.imap_wire import Fetched
from bot.mail.progress import (
    BATCH_MESSAGES,
    Backoff,
    Fetch,
    FolderState,
    Refusal,
    Steps,
    abandon,
    advance,
    batches,
    folder_state,
    taken,
)
from bot.models import ImapFolder, InboundMessage
from bot.referrals.directory import Directory, load_directory
from bot.servers import ImapTarget
from bot.vocabulary import Kind

log = logging.getLogger(__name__)
FOLDERS = ImapFolder.__table__  # type: ignore[attr-defined]
INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
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
    authserv_id: str | None = None  # HANDOFF_TRUSTED_AUTHSERV_ID
    unfetchable_retry_seconds: float = 3600.0  # how often a message the server refused is tried


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
        self._narrow: set[int] = set()  # UIDs of a batch the server refused: one at a time
        self._retry_at = time.monotonic() + settings.unfetchable_retry_seconds
        self._awaiting_retry = False  # the folder has messages the server would not hand over
        self._progress = 0  # batches committed, ever: a failing round that made some is a blip

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
            progress = self._progress
            try:
                async with self._connect() as conn:
                    while True:
                        await self.sync(conn)
                        # Over only now: a server that lets us in and then fails every
                        # round (one message it cannot read) is an outage too, not a loop.
                        if down_since is not None:
                            back = time.monotonic() - down_since
                            log.info("%s: back after %.0fs", self.name, back)
                            down_since = None
                        backoff.reset()
                        await conn.wait_for_news(
                            idle_seconds=self._until_retry(self.settings.idle_seconds),
                            poll_seconds=self._until_retry(self.settings.poll_seconds),
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
            if self._progress != progress:
                backoff.reset()  # messages went in before it failed: a blip, not a wall
            await asyncio.sleep(backoff.next())

    def _until_retry(self, seconds: float) -> float:
        """`seconds`, or less when a refused message is due to be asked for again."""
        if not self._awaiting_retry:
            return seconds
        return max(1.0, min(seconds, self._retry_at - time.monotonic()))

    def _connect(self) -> Any:
        return ImapConnection.open(self.target, seconds=self.settings.timeout)

    async def sync(self, conn: ImapConnection) -> int:
        """Process every message above the last processed UID, oldest first; return how many."""
        state = await folder_state(self.engine, self.target.key, conn.status, self.name)
        refused = await self._refused(state)
        self._awaiting_retry = bool(refused)
        move_to = self.settings.move_to
        if move_to:
            # Processed but still here: the move did not happen before a crash. A message the
            # server would not hand over stays where its retries look for it.
            through = await conn.uids_through(state.last_uid)
            await conn.move([u for u in through if u not in refused], move_to)
        uids = await conn.uids_after(state.last_uid)
        retry = bool(refused) and time.monotonic() >= self._retry_at
        if not uids and not retry:
            return 0
        # Once per round: partners registered meanwhile count from the next message on.
        async with session_factory(self.engine)() as session:
            directory = await load_directory(
                session=session,
                internal_domains=self.settings.internal_domains,
                mailbox=self.settings.partner_mailbox,
                secret=self.settings.secret,
                authserv_id=self.settings.authserv_id,
            )
        total = await self._take_new(conn, uids, state, directory) if uids else 0
        if retry:
            # After what is new: a server that hangs up on the retry costs it nothing.
            await self._retry(conn, state, directory, refused)
        return total

    async def _take_new(
        self, conn: ImapConnection, uids: list[int], state: FolderState, directory: Directory
    ) -> int:
        move_to = self.settings.move_to
        sizes = await conn.sizes(uids)
        total, done, said = len(sizes), 0, time.monotonic()
        if total > BATCH_MESSAGES:
            log.info("%s: catching up %d messages", self.name, total)
        kinds: Counter[str] = Counter()
        async with Intake.open(
            engine=self.engine, directory=directory, protection=self.settings.protection, bulk=True
        ) as intake:
            # Each batch is fetched and being parsed (bot/intake/parsers.py) while the one
            # before it is written; an error fetching it waits until that one is written.
            todo = batches(sizes)
            upcoming: Fetch | None = await self._fetched(conn, intake, todo[0], state)
            try:
                for n, batch in enumerate(todo):
                    items, lost, steps = taken(upcoming)
                    upcoming = None
                    if lost is None and n + 1 < len(todo):
                        upcoming = await self._fetched(conn, intake, todo[n + 1], state)
                    results = await self._write(intake, items, steps, state)
                    self._progress += 1
                    kinds.update(str(r.kind) for r in results)
                    fetched = [m.uid for m in items if isinstance(m, Fetched)]
                    if move_to:
                        await conn.move(fetched, move_to)
                    if self.observer is not None:
                        self.observer(results)
                    if lost is not None:
                        self._narrow.difference_update(m.uid for m in items)
                        raise lost  # the server hung up after refusing one: reconnect, go on
                    self._narrow.difference_update(batch)
                    done += len(batch)
                    if total > BATCH_MESSAGES and time.monotonic() - said >= PROGRESS_SECONDS:
                        log.info("%s: %d/%d messages", self.name, done, total)
                        said = time.monotonic()
            finally:
                if isinstance(upcoming, tuple):  # fetched, but the batch before it failed
                    abandon(upcoming[2])
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        log.info("%s: %d new (%s)", self.name, total, summary or "already stored")
        return total

    async def _fetched(
        self, conn: ImapConnection, intake: Intake, batch: list[int], state: FolderState
    ) -> Fetch:
        """A batch fetched, its messages being read; or what stopped the fetch, kept to be
        raised once the batch before it is written."""
        try:
            items, lost = await self._fetch(conn, batch)
        except Exception as exc:  # noqa: BLE001 - raised by taken(), after the write before it
            return exc
        return items, lost, self._read(intake, items, state)

    async def _fetch(
        self, conn: ImapConnection, batch: list[int]
    ) -> tuple[list[Fetched | Refusal], FetchFailed | None]:
        """The batch's messages, with a Refusal for each the server would not hand over.

        A server that cannot read one message fails the whole FETCH: the batch is then fetched
        one message at a time (on the next connection, if the server hung up), so only that
        one is refused. Returns the error to raise once what came before it is processed.
        """
        if not self._narrow.intersection(batch):
            try:
                return list(await conn.fetch(batch)), None
            except FetchFailed as exc:
                if len(batch) > 1 and not exc.lost:
                    log.warning("%s: %s; fetching one at a time", self.name, exc)
                self._narrow.update(batch)
                if exc.lost and len(batch) > 1:
                    raise
        items: list[Fetched | Refusal] = []
        for uid in batch:
            try:
                items += await conn.fetch([uid])
            except FetchFailed as exc:
                items.append(Refusal(uid, exc.words))
                if exc.lost:
                    return items, exc
        return items, None

    async def _refused(self, state: FolderState) -> dict[int, unfetchable.Unfetchable]:
        """This folder's messages the server would not hand over, by UID."""
        prefix = self._source(state.uidvalidity, "")
        async with self.engine.connect() as db:
            rows = await unfetchable.under(db, prefix)
        return {int(r.source.removeprefix(prefix)): r for r in rows}

    async def _retry(
        self,
        conn: ImapConnection,
        state: FolderState,
        directory: Directory,
        refused: dict[int, unfetchable.Unfetchable],
    ) -> None:
        """Ask again for each message the server would not hand over; take those it now does."""
        self._retry_at = time.monotonic() + self.settings.unfetchable_retry_seconds
        for uid, row in refused.items():
            try:
                fetched = await conn.fetch([uid])
            except FetchFailed as exc:
                async with self.engine.begin() as db:
                    await unfetchable.retried(db, row, _refusal_reason(uid, exc.words))
                if exc.lost:
                    raise
                continue
            async with Intake.open(
                engine=self.engine, directory=directory, protection=self.settings.protection
            ) as intake:
                if not fetched:
                    await intake.write(partial(unfetchable.forget, row=row))
                    log.warning("%s: UID %d is gone from the folder, unread", self.name, uid)
                    continue
                message = fetched[0]

                async def replace(db: AsyncConnection, row: unfetchable.Unfetchable = row) -> None:
                    if not await unfetchable.forget(db, row):
                        raise Superseded(f"UID {row.source} was already read by another watcher")

                incoming = Incoming(message.raw, row.source, message.internal_date, replace)
                [result] = await intake.ingest_batch([incoming])
            log.info("%s: UID %d could be read at last: %s", self.name, uid, result.kind)
            if self.settings.move_to:
                await conn.move([uid], self.settings.move_to)
            if self.observer is not None:
                self.observer([result])

    def _read(self, intake: Intake, fetched: list[Fetched | Refusal], state: FolderState) -> Steps:
        """The batch in order: runs of messages being read (parsed) from now on, and alone
        those that need a look first (refused by the server; maybe stored before the folder's
        UIDVALIDITY changed)."""
        steps: Steps = []
        run: list[Incoming] = []
        for message in fetched:
            if isinstance(message, Refusal) or message.uid <= state.resync_until:
                if run:
                    steps.append(intake.reading(run))
                    run = []
                steps.append(message)
            else:
                run.append(self._incoming(message, state))
        if run:
            steps.append(intake.reading(run))
        return steps

    async def _write(
        self, intake: Intake, fetched: list[Fetched | Refusal], steps: Steps, state: FolderState
    ) -> list[IngestResult]:
        """The batch's steps in order, each message stored with its progress."""
        results: list[IngestResult] = []
        todo = iter(steps)
        try:
            for step in todo:
                if isinstance(step, Refusal):
                    results.append(await self._keep_refused(intake, step, state))
                elif isinstance(step, Fetched):
                    if await self._stored(intake, step):
                        key, uid, validity = self.target.key, step.uid, state.uidvalidity
                        await intake.write(partial(advance, key=key, uid=uid, uidvalidity=validity))
                    else:
                        results += await intake.ingest_batch([self._incoming(step, state)])
                else:
                    results += await intake.ingest_read(await step)
        finally:
            abandon(list(todo))  # not written (an error stopped the batch): not read either
        state.last_uid = max([state.last_uid] + [m.uid for m in fetched])
        return results

    async def _keep_refused(
        self, intake: Intake, refusal: Refusal, state: FolderState
    ) -> IngestResult:
        """Triage for a message the server would not hand over, and progress past it."""
        source = self._source(state.uidvalidity, refusal.uid)
        reason = _refusal_reason(refusal.uid, refusal.words)

        async def kept(db: AsyncConnection) -> None:
            await unfetchable.keep(db, source=source, reason=reason)
            await advance(db, self.target.key, refusal.uid, state.uidvalidity)

        await intake.write(kept)
        self._awaiting_retry = True
        every = timedelta(seconds=self.settings.unfetchable_retry_seconds)
        log.warning("%s: %s; kept in triage, asked again every %s", self.name, reason, every)
        return IngestResult(Kind.UNFETCHABLE, reason=reason, source=source)

    def _incoming(self, message: Fetched, state: FolderState) -> Incoming:
        uid, validity = message.uid, state.uidvalidity

        async def checkpoint(conn: AsyncConnection) -> None:
            await advance(conn, self.target.key, uid, validity)

        return Incoming(message.raw, self._source(validity, uid), message.internal_date, checkpoint)

    def _source(self, uidvalidity: int, uid: int | str) -> str:
        """An RFC 5092 IMAP URL naming the message: where an operator can find it again."""
        t = self.target
        mailbox = f"{quote(t.user, safe='')}@{t.host}:{t.port}/{quote(t.folder, safe='')}"
        return f"imap://{mailbox};UIDVALIDITY={uidvalidity}/;UID={uid}"

    async def _stored(self, intake: Intake, message: Fetched) -> bool:
        key = parse(message.raw).dedupe_key
        query = sa.select(INBOUND.c.id).where(INBOUND.c.dedupe_key == key).limit(1)

        async def stored(db: AsyncConnection) -> bool:
            return (await db.execute(query)).first() is not None

        return await intake.write(stored)


def _refusal_reason(uid: int, words: str) -> str:
    return f"the IMAP server would not hand over UID {uid}: {words}"
