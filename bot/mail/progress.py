"""A folder's progress: the last processed UID under its UIDVALIDITY (RFC 3501 section
2.3.1.1), advanced in the transaction that stores each message; fetch batches, each read while
the one before it is written; reconnect backoff.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.intake.pipeline import Superseded
from bot.intake.store import Received
from bot.mail.imap_errors import FetchFailed
from bot.mail.imap_wire import Fetched, FolderStatus
from bot.models import ImapFolder, utcnow

log = logging.getLogger("bot.mail.watcher")
FOLDERS = ImapFolder.__table__  # type: ignore[attr-defined]
BATCH_MESSAGES = 100  # messages per FETCH and per transaction while catching up
BATCH_BYTES = 16 * 1024 * 1024  # … or fewer, so a batch of large messages stays in memory bounds


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


async def folder_state(
    engine: AsyncEngine, key: str, status: FolderStatus, name: str
) -> FolderState:
    """The folder's progress; a new or changed UIDVALIDITY starts over from UID 1."""
    async with engine.begin() as db:
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
                name,
                row.uidvalidity,
                status.uidvalidity,
            )
            await db.execute(sa.update(FOLDERS).where(FOLDERS.c.key == key).values(**values))
    return FolderState(status.uidvalidity, 0, resync_until)


# Run once a message: built once (a statement built per call is keyed for the cache each time).
_ADVANCE = (
    sa.update(FOLDERS)
    .where(
        FOLDERS.c.key == sa.bindparam("b_key"),
        FOLDERS.c.uidvalidity == sa.bindparam("b_validity"),
        FOLDERS.c.last_uid < sa.bindparam("b_uid"),
    )
    .values(last_uid=sa.bindparam("b_uid"), updated_at=sa.bindparam("b_at"))
)


async def advance(conn: AsyncConnection, key: str, uid: int, uidvalidity: int) -> None:
    """Record `uid` as processed, in the caller's transaction; refuse to go backwards."""
    result = await conn.execute(
        _ADVANCE, {"b_key": key, "b_validity": uidvalidity, "b_uid": uid, "b_at": utcnow()}
    )
    if result.rowcount != 1:
        raise Superseded(f"UID {uid} was already processed by another watcher")


def batches(sizes: list[tuple[int, int]]) -> list[list[int]]:
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


@dataclass(frozen=True)
class Refusal:
    """A message the server would not hand over, and its words."""

    uid: int
    words: str


# A batch in order: messages being read (bot/intake/parsers.py), and those that need a look first.
Steps = list["Coroutine[Any, Any, list[Received]] | Fetched | Refusal"]
# A batch fetched (its messages, the error to raise after them, its steps), or why not.
Fetch = tuple[list["Fetched | Refusal"], "FetchFailed | None", Steps] | Exception


def taken(fetch: Fetch | None) -> tuple[list[Fetched | Refusal], FetchFailed | None, Steps]:
    """A fetched batch, or the error that stopped its fetch raised now."""
    if fetch is None or isinstance(fetch, Exception):
        raise fetch or RuntimeError("no batch fetched")
    return fetch


def abandon(steps: Steps) -> None:
    """Stop reading messages that will not be written now (they are fetched again)."""
    for step in steps:
        if not isinstance(step, Refusal | Fetched):
            step.close()
