"""Singleton work across processes: one holder per name, and another takes over when it dies.

PostgreSQL: a session advisory lock on a connection held for as long as the work runs; the server
releases it the moment that connection or its process dies. SQLite, which lives on one machine:
an flock on a file beside the database, which the kernel releases when the process dies.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import first_line

log = logging.getLogger(__name__)
T = TypeVar("T")


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key (PostgreSQL's bigint) for a name."""
    digest = hashlib.sha256(f"handoff:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def run_exclusive(
    engine: AsyncEngine,
    name: str,
    work: Callable[[], Awaitable[T]],
    *,
    retry_seconds: float = 5.0,
    check_seconds: float = 10.0,
) -> T:
    """Run `work` while no other process runs work under `name`, waiting for its turn.

    If the lock is lost (the database connection holding it broke), the work is cancelled and
    waits for the lock again: two holders never run at once.
    """
    while True:
        async with _hold(engine, name, retry_seconds, check_seconds) as lost:
            task: asyncio.Future[Any] = asyncio.ensure_future(work())
            try:
                await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not task.done():
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
            if task.done() and not task.cancelled():
                return cast(T, task.result())
        log.warning("%s: lost its database lock; waiting to take it again", name)


@asynccontextmanager
async def _hold(
    engine: AsyncEngine, name: str, retry: float, check: float
) -> AsyncIterator[asyncio.Future[None]]:
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine, name, retry, check) as lost:
            yield lost
        return
    database = engine.url.database
    if not database or database == ":memory:":
        # A private in-memory database has one process by definition.
        yield asyncio.get_running_loop().create_future()
        return
    async with _file_lock(Path(database), name, retry) as lost:
        yield lost


@asynccontextmanager
async def _advisory_lock(
    engine: AsyncEngine, name: str, retry: float, check: float
) -> AsyncIterator[asyncio.Future[None]]:
    key = lock_key(name)
    conn: AsyncConnection | None = None

    async def attempt() -> bool:
        nonlocal conn
        try:
            conn = await engine.connect()
            got = (
                await conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar()
            await conn.commit()  # a session lock outlives the transaction that took it
            if got:
                return True
        except (OSError, sa.exc.DBAPIError) as exc:
            log.warning("%s: cannot reach the database for its lock: %s", name, first_line(exc))
        if conn is not None:
            await conn.close()
        return False

    await _wait_turn(name, retry, attempt)
    assert conn is not None
    lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(check)
            try:
                await conn.execute(sa.text("SELECT 1"))
                await conn.commit()
            except (OSError, sa.exc.DBAPIError):
                lost.set_result(None)
                return

    beat = asyncio.ensure_future(heartbeat())
    try:
        yield lost
    finally:
        beat.cancel()
        with suppress(asyncio.CancelledError):
            await beat
        try:
            if not lost.done():
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
            await conn.close()
        except (OSError, sa.exc.DBAPIError):
            await conn.invalidate()


@asynccontextmanager
async def _file_lock(
    database: Path, name: str, retry: float
) -> AsyncIterator[asyncio.Future[None]]:
    # flock, unlike fcntl's record locks, belongs to the open file: two holders in one process
    # exclude each other too.
    fd = await asyncio.to_thread(_open_lock_file, database, name)
    try:

        async def attempt() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        await _wait_turn(name, retry, attempt)
        os.ftruncate(fd, 0)
        os.write(fd, f"{name}\npid {os.getpid()}\n".encode())
        yield asyncio.get_running_loop().create_future()
    finally:
        os.close(fd)  # releases the lock


async def _wait_turn(name: str, retry: float, attempt: Callable[[], Awaitable[bool]]) -> None:
    """Try to take the lock until it is ours, saying once that we stand by, once that we took it."""
    standing_by = False
    while not await attempt():
        if not standing_by:
            log.info("%s: another Handoff holds it; standing by", name)
            standing_by = True
        await asyncio.sleep(retry)
    if standing_by:
        log.info("%s: taking over", name)


def _open_lock_file(database: Path, name: str) -> int:
    folder = database.expanduser().parent / f"{database.name}-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return os.open(
        folder / f"{lock_key(name) & 0xFFFFFFFF:08x}.lock", os.O_RDWR | os.O_CREAT, 0o600
    )
