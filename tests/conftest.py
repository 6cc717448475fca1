"""Fixtures: a fresh database per test on SQLite and again on PostgreSQL, and CLI helpers."""

from __future__ import annotations

import asyncio
import json
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

from bot import cli
from bot.db import async_url, create_engine, session_factory, upgrade
from bot.demo.cast import PARTNERS
from bot.models import SQLModel
from bot.referrals.directory import Directory, load_directory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = ROOT.parent / "shared" / "corpora"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "HANDOFF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


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


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    return session_factory(engine)


class Handoff:
    """Runs `handoff …` in-process, as a user would from the shell."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str, expect: int = 0) -> str:
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            cli.main(list(argv))
        out, err = self.capsys.readouterr()
        self.err = err
        assert exit_info.value.code == expect, f"exit {exit_info.value.code}: {err}{out}"
        return out

    def json(self, *argv: str) -> object:
        return json.loads(self(*argv, "--json"))

    def ingest(self, *paths: str | Path, dry_run: bool = False) -> list[dict[str, object]]:
        args = ["ingest", *map(str, paths), "--json"] + (["--dry-run"] if dry_run else [])
        return [json.loads(line) for line in self(*args).splitlines() if line.strip()]


@pytest.fixture
def handoff(capsys: pytest.CaptureFixture[str]) -> Handoff:
    return Handoff(capsys)


def register_scenario(handoff) -> None:  # type: ignore[no-untyped-def]
    """The partners the fixtures were written for (tests/fixtures/intake/README.md)."""
    for p in PARTNERS:
        options = ["--name", p.name]
        for flag, values in (
            ("--address", p.addresses),
            ("--contact", p.contacts),
            ("--domain", p.domains),
        ):
            for value in values:
                options += [flag, value]
        handoff("partners", "add", p.slug, *options)


@pytest.fixture
def scenario(db_url: str, handoff: Handoff) -> Handoff:
    """`handoff` on a database with the partners of tests/fixtures/intake registered."""
    register_scenario(handoff)
    return handoff


@pytest.fixture
async def directory(engine: AsyncEngine, scenario: Handoff) -> Directory:
    """The scenario's partners as intake sees them, for tests that drive Intake directly."""
    async with session_factory(engine)() as session:
        return await load_directory(
            session=session,
            internal_domains=frozenset({"ours.example"}),
            mailbox="partners@ours.example",
        )
