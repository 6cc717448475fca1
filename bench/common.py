"""What the benchmarks share: a throw-away database per backend, and the bot's running conditions.

SQLite is a file in a folder the caller removes; PostgreSQL a database of its own on the server
of an admin URL (127.0.0.1:5432, user postgres, trust auth by default), dropped before and after.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db import async_url, first_line, share_one_cpu

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def scaled(n: int) -> int:
    """A default size, times HANDOFF_BENCH_SCALE (tests run every benchmark at 0.01 of it)."""
    scale = float(os.environ.get("HANDOFF_BENCH_SCALE") or 1)
    return max(2, round(n * scale))


def own_settings() -> None:
    """Forget the shell's HANDOFF_* and SLACK_* settings: a benchmark sets up what it measures.

    Run from an operator's shell, a mailbox or a Slack token exported there would otherwise
    join the measurement (and HANDOFF_INTERNAL_DOMAINS would change what intake decides).
    """
    for name in list(os.environ):
        if name.startswith(("HANDOFF_", "SLACK_")) and name != "HANDOFF_BENCH_SCALE":
            del os.environ[name]


async def emptied(url: str) -> None:
    """Drop Handoff's tables from the database at `url`: a run given a database starts clean.

    Run twice against the same `--database-url`, a benchmark would otherwise measure (and
    trip over) what the first run left.
    """
    from bot.db import create_engine
    from bot.models import SQLModel

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile q (0-100) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@asynccontextmanager
async def database(
    backend: str, sqlite_file: Path, admin_url: str, pg_database: str
) -> AsyncIterator[str]:
    """A fresh, empty database for one data set: its URL (SQLite: sqlite_file, left in place)."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    admin = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        try:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)'))
                await conn.execute(sa.text(f'CREATE DATABASE "{pg_database}"'))
        except (OSError, sa.exc.DBAPIError) as exc:
            where = urlsplit(admin_url)
            raise SystemExit(
                f"PostgreSQL at {where.hostname}:{where.port or 5432}: {first_line(exc)} "
                "(see --postgres-url, or run with --backend sqlite)"
            ) from None
        try:
            yield urlsplit(admin_url)._replace(path=f"/{pg_database}").geturl()
        finally:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@contextmanager
def as_the_bot_runs(backend: str) -> Iterator[None]:
    """As `handoff` runs (bot/cli/): one CPU for the process on SQLite only, given back after."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if backend == "sqlite":
        share_one_cpu()
    try:
        yield
    finally:
        if allowed is not None:
            os.sched_setaffinity(0, allowed)


async def analyze(engine: AsyncEngine, *, vacuum: bool = False) -> None:
    """PostgreSQL: what autovacuum does after a bulk load, so the planner has statistics;
    `vacuum` as well: since PostgreSQL 13 autovacuum also vacuums a table after many inserts,
    which marks its pages all-visible, so that index-only scans need not visit the table.

    SQLite has no autovacuum-like ANALYZE, and Handoff runs none: it is left as the bot has it.
    """
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(sa.text("VACUUM ANALYZE" if vacuum else "ANALYZE"))


async def acme_engine(url: str, *, given: bool) -> AsyncEngine:
    """An engine on a migrated database holding one partner, Acme (`partners+acme@…`), as
    `handoff serve` runs it (one CPU on SQLite). `given`: the operator's database, emptied
    first."""
    from bot.db import create_engine, session_factory, upgrade
    from bot.referrals.partners import add_partner

    if given:
        await emptied(url)
    if url.startswith("sqlite"):
        share_one_cpu()
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as session:
        await add_partner(
            session=session,
            slug="acme",
            name="Acme Consulting",
            addresses=["partners+acme@ours.example"],
            contacts=[],
            domains=["acmeconsulting.example"],
        )
        await session.commit()
    return engine
