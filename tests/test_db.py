"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import async_url, current_revision, head_revision, open_database, upgrade
from bot.models import SQLModel, UTCDateTime
from tests.support.ports import free_port


async def test_migrated_schema_matches_models(engine: AsyncEngine) -> None:
    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await current_revision(engine) == head_revision()


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    before, after = await upgrade(engine)
    assert before == after == head_revision()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 16, 17, 12, 30, tzinfo=UTC),
        datetime(2026, 11, 16, 17, 12, 30, 5, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, 0, 999_999, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_sqlite_stores_utc_datetimes_as_sqlalchemy_writes_them(moment: datetime) -> None:
    """UTCDateTime writes SQLite's text itself (faster): the very text SQLAlchemy's DATETIME
    writes for the same instant in UTC, so that rows old and new compare and sort alike."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    stock = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and stock is not None
    assert ours(moment) == stock(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        ours(moment.replace(tzinfo=None))


def test_url_mapping() -> None:
    assert async_url("sqlite:///./handoff.db") == "sqlite+aiosqlite:///./handoff.db"
    assert async_url("postgres://u:p@h/db?sslmode=require") == (
        "postgresql+asyncpg://u:p@h/db?ssl=require"
    )


async def test_serve_waits_for_a_database_that_is_not_up_yet(
    postgres_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """serve is started beside its database: a refused connection is waited for (a minute),
    not taken for a wrong setting."""
    port = free_port()
    parts = urlsplit(postgres_server)
    url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}").geturl()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(parts.hostname, parts.port or 5432)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    opening = asyncio.create_task(_open(url))
    while not any("not reachable yet" in r.getMessage() for r in caplog.records):
        assert not opening.done(), opening.exception()
        await asyncio.sleep(0.02)
    proxy = await asyncio.start_server(forward, "127.0.0.1", port)  # the database comes up
    try:
        assert await asyncio.wait_for(opening, 30) == head_revision()
    finally:
        proxy.close()


async def _open(url: str) -> str | None:
    async with open_database(url, patience=30) as engine:
        return await current_revision(engine)


async def test_a_hop_runs_each_transaction_in_one_worker_thread(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`handoff ingest` hands SQLite a whole batch at once, in a thread of its own, on a
    connection tuned as every other (WAL, BEGIN IMMEDIATE); the data is the same file's."""
    import threading

    from bot.db import create_engine
    from bot.hops import worker_hop

    engine = create_engine(f"sqlite:///{tmp_path / 'hop.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
        threads: set[int] = set()

        def work(conn: sa.Connection) -> tuple[str, str]:
            threads.add(threading.get_ident())
            with conn.begin():
                conn.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
                level = conn.connection.driver_connection.isolation_level  # type: ignore[union-attr]
                return conn.execute(sa.text("PRAGMA journal_mode")).scalar_one(), level

        async with worker_hop(engine) as hop:
            seen = [await hop(work) for _ in range(3)]
        async with engine.connect() as conn:
            total = (await conn.execute(sa.text("SELECT sum(a) FROM t"))).scalar_one()
    finally:
        await engine.dispose()
    assert seen == [("wal", "IMMEDIATE")] * 3
    assert total == 9
    assert len(threads) == 1 and threading.get_ident() not in threads


async def test_serve_writes_intake_through_one_thread_that_ends_with_the_engine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The IMAP watchers, LMTP and webhook deliveries of one process share a worker thread on
    SQLite (no two connections of ours wait on each other's lock); disposing of the engine
    ends it, and a later use starts another."""
    import threading

    from bot.db import create_engine
    from bot.hops import shared_worker

    engine = create_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    where = threading.get_ident
    try:
        first, second = shared_worker(engine), shared_worker(engine)
        assert first is second
        thread = await first(lambda conn: where())
        assert thread != where()
        assert thread in {t.ident for t in threading.enumerate()}
        await engine.dispose()
        assert thread not in {t.ident for t in threading.enumerate()}
        again = shared_worker(engine)
        assert again is not first
        assert await again(lambda conn: conn.exec_driver_sql("SELECT 7").scalar_one()) == 7
    finally:
        await engine.dispose()


def test_work_in_a_hop_may_not_wait_on_the_event_loop() -> None:
    from bot.hops import Waited, finish

    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(Waited):
        finish(waits())


def test_the_head_read_off_the_files_is_alembics() -> None:
    """Commands skip loading alembic when the schema is current: the head they compare with,
    read off the migration files, is the one alembic itself finds."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert head_revision() is not None
