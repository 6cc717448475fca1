"""Fixtures: a fresh database per test on SQLite and again on PostgreSQL, and a clean environment.

The CLI runner, the IMAP server and the SMTP inbox come from tests/support (pytest_plugins).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db import async_url, create_engine, session_factory, upgrade
from bot.models import SQLModel
from tests.support.paths import IN_CI, POSTGRES_URL

# Fixtures defined next to the helpers they go with, for every folder of tests to use.
pytest_plugins = ["tests.support.handoff", "tests.support.imap", "tests.support.digests"]


def _postgres_reachable(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            return None
    except OSError as exc:
        return f"PostgreSQL at {parts.hostname}:{parts.port} unreachable: {exc}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away database on the local PostgreSQL, migrated once for the whole run."""
    problem = _postgres_reachable(POSTGRES_URL)
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)")
        pytest.skip(problem)
    name = f"handoff_test_{uuid.uuid4().hex[:10]}"
    admin = async_url(POSTGRES_URL)

    async def create() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        migrated = create_engine(_with_db(POSTGRES_URL, name))
        await upgrade(migrated)
        await migrated.dispose()

    async def drop() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    asyncio.run(create())
    yield _with_db(POSTGRES_URL, name)
    asyncio.run(drop())


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "handoff.db"

    async def make() -> None:
        engine = create_engine(f"sqlite:///{path}")
        await upgrade(engine)
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(make())
    return path


def _truncate_all(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)

    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            # A connection an earlier test left in a transaction fails this test, by name,
            # rather than hanging the run.
            await conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
            await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_template: Path,
) -> str:
    """An empty, migrated database; every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "handoff.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_server")
        _truncate_all(url)
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    return url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see only the settings they set (no developer .env, no stray HANDOFF_*)."""
    for key in list(os.environ):
        if key.startswith(("HANDOFF_", "SLACK_")) and key != "HANDOFF_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANDOFF_INTERNAL_DOMAINS", "ours.example")
    monkeypatch.setenv("HANDOFF_PARTNER_MAILBOX", "partners@ours.example")
    monkeypatch.setenv("HANDOFF_PORT", "0")  # /healthz on any free port: tests run side by side
    # Every summary a test makes is also computed from the referrals directly, and a rollup
    # that disagrees fails the test (bot/reports/summary.py).
    monkeypatch.setenv("HANDOFF_REPORT_CHECK", "1")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    return session_factory(engine)
