"""Engine, sessions, and migrations at start-up (every command migrates by itself)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ConfigError

T = TypeVar("T")
log = logging.getLogger("handoff")

MIGRATIONS = Path(__file__).parent / "migrations"
# Replicas starting together on PostgreSQL take turns migrating (pg_advisory_xact_lock).
_MIGRATION_LOCK = 0x48414E44  # "HAND"


def async_url(url: str) -> str:
    """Map the user's URL to the async driver SQLAlchemy needs (aiosqlite, asyncpg)."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # Never echo the URL: it may carry a password.
        raise ConfigError(
            "HANDOFF_DATABASE_URL: not a database URL (expected "
            "sqlite:///path/handoff.db or postgresql://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        query = dict(parsed.query)
        # asyncpg calls libpq's sslmode "ssl".
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        fixed = parsed.set(drivername="postgresql+asyncpg", query=query)
        return fixed.render_as_string(hide_password=False)
    raise ConfigError(f"HANDOFF_DATABASE_URL: unsupported backend {backend!r}")


BUSY_TIMEOUT_MS = 10_000  # SQLite: how long a writer waits for another one's lock, then fails


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; NORMAL sync is safe in WAL (an OS crash can lose
    # the last commits, never corrupt the file) and the IMAP state lives in the same database,
    # so a lost commit is simply fetched again.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()
    # The driver opens its implicit transaction at the first write with BEGIN IMMEDIATE, which
    # takes the write lock and so waits busy_timeout for another writer; a deferred BEGIN would
    # fail at once with "database is locked" when a read had to be upgraded to a write.
    dbapi_connection.isolation_level = "IMMEDIATE"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for HANDOFF_DATABASE_URL, with SQLite tuned for one writer, many readers."""
    engine = create_async_engine(async_url(url), pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def open_database(
    url: str, *, migrate: bool = True, patience: float = 0.0
) -> AsyncIterator[AsyncEngine]:
    """Open the database, bring its schema up to date, and dispose of the engine afterwards.

    `patience`: for how many seconds a database that is not there yet, or drops the
    connection, is waited for (`handoff serve`, started beside its database); 0 for commands.
    """
    engine = create_engine(url)
    deadline = time.monotonic() + patience
    wait = 0.5
    try:
        while True:
            try:
                if migrate:
                    await upgrade(engine)
                else:
                    await current_revision(engine)
                break
            except (OSError, sa.exc.DBAPIError) as exc:  # refused, wrong role, no such database…
                if transient(exc) and time.monotonic() + wait < deadline:
                    log.warning("database not reachable yet (%s); waiting", first_line(exc))
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, 5.0)
                    continue
                raise ConfigError(
                    f"HANDOFF_DATABASE_URL: cannot open the database: {first_line(exc)}"
                ) from None
        yield engine
    finally:
        await engine.dispose()


def upsert_insert(dialect: sa.Dialect, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL's and SQLite's are alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if dialect.name == "postgresql" else sqlite).insert(table)


def transient(exc: BaseException) -> bool:
    """Whether a database error is the database's passing state, never the data's fault.

    A lost or refused connection, a lock wait past SQLite's busy timeout, a serialization
    failure, a statement timed out, and SQLAlchemy's own state after a connection died under
    it (MissingGreenlet in a clean-up): the same work, tried again later, succeeds.
    """
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        # 40001 serialization failure, 40P01 deadlock, 57P01-03 admin shutdown / crash / cannot
        # connect now, 08xxx connection exceptions, 53300 too many connections.
        return bool(code) and (
            str(code) in {"40001", "40P01", "57P01", "57P02", "57P03", "53300"}
            or str(code).startswith("08")
        )
    return isinstance(exc, OSError | TimeoutError | sa.exc.MissingGreenlet)


def first_line(exc: BaseException) -> str:
    """A database or network error in one line (the driver's own message when there is one)."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__


# `revision = "0007"` and `down_revision = "0006"` (or None) in each migration's file.
_REVISION = re.compile(r"^(down_revision|revision)(?:\s*:[^=]*)?\s*=\s*['\"]?(\w+)['\"]?", re.M)
VERSION_TABLE = "alembic_version"


@functools.cache
def head_revision() -> str | None:
    """The newest migration, read off the migration files themselves: alembic (a third of a
    second to import) is loaded only when the schema is behind."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found: dict[str, str] = {m[1]: m[2] for m in _REVISION.finditer(path.read_text())}
        if "revision" in found:
            revisions.add(found["revision"])
        if found.get("down_revision") not in (None, "None"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"migrations have several heads: {sorted(heads)}")
    return heads.pop() if heads else None


def _current_revision(connection: sa.Connection) -> str | None:
    """The schema's revision as alembic records it; None for a database it never touched."""
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return None
    return connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Migrate to the newest schema; returns (revision before, revision after).

    A schema already current costs one query; only one behind takes the migration lock (on
    PostgreSQL, replicas starting together take turns) and loads alembic.
    """
    head = head_revision()
    current = await current_revision(engine)
    if current == head:
        return current, current
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        before = await connection.run_sync(_current_revision)
        if before != head:
            await connection.run_sync(_run_upgrade)
        after = await connection.run_sync(_current_revision)
    return before, after


def _run_upgrade(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def share_one_cpu() -> int | None:
    """Keep this process's threads on the CPU it runs on now; returns that CPU (Linux only).

    aiosqlite runs every statement on its own thread, so each statement is two thread wake-ups;
    when the event loop and that thread sit on different CPUs each wake-up is an inter-processor
    interrupt, which on a small VM costs more than the SQL itself (bench/ingest.py: 2x faster on
    one CPU). Python's GIL already keeps the process's Python on one core at a time, so sharing
    a CPU loses nothing. PostgreSQL (asyncpg) needs no thread and is left alone.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = cpus()
        with open("/proc/self/stat", "rb") as stat:
            current = int(stat.read().rsplit(b")", 1)[1].split()[36])  # field 39: processor
        cpu = current if current in allowed else min(allowed)
        os.sched_setaffinity(0, {cpu})
        _SHARED_CPU[:] = [cpu]
        return cpu
    except (OSError, ValueError, IndexError):
        return None


_ALLOWED: set[int] = set()  # the CPUs this process could run on before share_one_cpu
_SHARED_CPU: list[int] = []  # the one it was kept on


def cpus() -> set[int]:
    """The CPUs this process may use, as it started (share_one_cpu narrows only its threads)."""
    if not _ALLOWED:
        try:
            _ALLOWED.update(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            _ALLOWED.update(range(os.cpu_count() or 1))
    return set(_ALLOWED)


def other_cpus() -> set[int]:
    """Where a helper process of ours runs: beside the CPU this process was kept on, if any."""
    allowed = cpus()
    return allowed - set(_SHARED_CPU) or allowed


def quoted(text: str) -> str:
    """`text` as a SQL string literal, for SQL that Handoff writes out itself."""
    return "'" + text.replace("'", "''") + "'"


@overload
def as_utc(value: datetime | str) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...


def as_utc(value: datetime | str | None) -> datetime | None:
    """An aggregate's datetime in UTC (None stays None): max() over a UTCDateTime column comes
    back untyped on SQLite, as a string without offset."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def per_transaction(conn: AsyncConnection, key: str, load: Callable[[], Awaitable[T]]) -> T:
    """What `load` read, kept for the rest of this transaction (under `key` on the connection):
    a question every event of a batch asks, answered once per batch."""
    sync = conn.sync_connection
    assert sync is not None  # inside a transaction
    transaction = sync.get_transaction()
    cached = sync.info.get(key)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cast(T, cached[1])
    value = await load()
    sync.info[key] = (transaction, value)
    return value


def stage_is(column: sa.ColumnElement[str], *stages: str) -> sa.ColumnElement[bool]:
    """`stage = 'new'` or `stage IN ('claimed', 'contacted')`, the values written in the SQL
    (sorted), not bound: SQLite uses a partial index only for a query whose WHERE holds its
    index's terms as written (https://sqlite.org/partialindex.html), and a bound value is not
    known when the plan is made (models.Referral's partial indexes)."""
    values = sorted(str(s) for s in stages)
    if len(values) == 1:
        return column == sa.bindparam(None, values[0], literal_execute=True)
    return column.in_(sa.bindparam(None, values, expanding=True, literal_execute=True))
