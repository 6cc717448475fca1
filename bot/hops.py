"""Database work done in one hop: a whole transaction handed to where the connection lives.

Every statement run through an AsyncConnection pays for the trip: a greenlet switch in
SQLAlchemy, and with aiosqlite two thread wake-ups (bench/ingest.py measured 96 µs an INSERT
and 224 µs intake's lookup, against 56 µs and 69 µs on a plain connection). Intake runs some
five statements a message, so it hands a batch's transaction over once instead:

- `worker_hop`: SQLite through a plain sqlite3 connection in one thread of its own. The event
  loop never waits on the file, nor on another writer's lock; the thread is the only user of
  its connection. `shared_worker` is one such thread for the whole process (the IMAP watchers,
  LMTP and webhook deliveries of `handoff serve`): the process's intake writes queue there
  instead of each waiting on SQLite's busy handler for another connection's lock.
- `greenlet_hop`: any database through an AsyncConnection's run_sync (PostgreSQL, and an
  in-memory SQLite database): one greenlet switch for the batch; each statement still goes
  through the async driver.

The intake code between them is written once, as coroutines over an AsyncConnection's face.
Inside a hop it is given `Immediate(conn)`, whose awaits complete at once, and `finish` runs it
to its end without an event loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Work = Callable[[sa.Connection], T]


class Hop(Protocol):
    """Runs `work` with a sync connection where the connection lives; returns its result."""

    dialect: sa.Dialect

    def __call__(self, work: Work[T]) -> Awaitable[T]: ...


class Immediate:
    """A sync Connection with an AsyncConnection's face: each await completes at once.

    Only what intake's coroutines use: execute, scalar, exec_driver_sql, get_raw_connection,
    dialect and info.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self.sync = conn
        self.dialect = conn.dialect
        self.info = conn.info

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync.scalar(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self.sync.exec_driver_sql(statement, parameters)

    @property
    def sync_connection(self) -> sa.Connection:
        return self.sync

    async def get_raw_connection(self) -> Any:
        return self.sync.connection


def facing(conn: sa.Connection) -> AsyncConnection:
    """`Immediate(conn)`, typed as what the coroutines it is given expect."""
    return cast(AsyncConnection, Immediate(conn))


class Waited(RuntimeError):
    """A coroutine run by `finish` waited on something other than an Immediate connection."""


def finish(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits (its every await is an Immediate's) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise Waited("database work inside a hop waited on the event loop")


class _Greenlet:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    def __call__(self, work: Work[T]) -> Awaitable[T]:
        return self.conn.run_sync(work)


def greenlet_hop(conn: AsyncConnection) -> Hop:
    """Work run on `conn` itself, in one greenlet switch."""
    return _Greenlet(conn)


class _Worker:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handoff-sqlite")
        self._conn: sa.Connection | None = None
        self._closed = False

    def _run(self, work: Work[T]) -> T:
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
        return work(self._conn)

    def __call__(self, work: Work[T]) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._pool, self._run, work)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.engine.dispose()

    async def close(self) -> None:
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Closed after the work handed to it, waiting for it (an engine's dispose cannot
        await); closing twice is closing once."""
        if not self._closed:
            self._closed = True
            self._pool.submit(self._close).result()
            self._pool.shutdown()


def workable(engine: AsyncEngine) -> bool:
    """Whether `engine` is a SQLite file, which a worker thread can open beside it."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def _worker(engine: AsyncEngine) -> _Worker:
    if not workable(engine):
        raise ValueError("worker_hop: a SQLite file database only")
    from bot.db import sqlite_pragmas

    # The same file with the stdlib's driver, tuned as every Handoff connection is.
    sync = sa.create_engine(engine.url.set(drivername="sqlite"), poolclass=sa.pool.NullPool)
    sa.event.listen(sync, "connect", sqlite_pragmas)
    return _Worker(sync)


@asynccontextmanager
async def worker_hop(engine: AsyncEngine) -> AsyncIterator[Hop]:
    """SQLite work in one thread with a plain sqlite3 connection to `engine`'s file."""
    worker = _worker(engine)
    try:
        yield worker
    finally:
        await worker.close()


_SHARED: weakref.WeakKeyDictionary[sa.Engine, _Worker] = weakref.WeakKeyDictionary()


def shared_worker(engine: AsyncEngine) -> Hop:
    """The process's one worker thread for `engine`'s SQLite file, made at its first use and
    closed when the engine is disposed. Work that leaves state on the connection between hops
    (a dry run's outer transaction) takes a `worker_hop` of its own instead."""
    key = engine.sync_engine
    return _SHARED.get(key) or _share(key, _worker(engine))


def _share(key: sa.Engine, worker: _Worker) -> _Worker:
    _SHARED[key] = worker

    def disposed(_engine: sa.Engine) -> None:
        if _SHARED.get(key) is worker:
            del _SHARED[key]
        worker.close_now()

    sa.event.listen(key, "engine_disposed", disposed)
    return worker
