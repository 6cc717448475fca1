"""A real Dovecot for the tests (one for the session, or a test's own), a fresh mailbox on it,
an intro to append, and `handoff serve` running in the test's event loop."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.wiring import serve
from tests.support.dovecot import Dovecot, missing
from tests.support.messages import message
from tests.support.paths import IN_CI

_users = itertools.count(1)


def _need_dovecot() -> None:
    problem = missing()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; CI=true: IMAP tests must run")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    _need_dovecot()
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., Dovecot]]:
    """Servers of a test's own, for restarts and other configurations."""
    _need_dovecot()
    made: list[Dovecot] = []

    def make(**options: Any) -> Dovecot:
        server = Dovecot(**options)
        server.start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.cleanup()


@pytest.fixture
def user(dovecot_server: Dovecot) -> str:
    """A fresh mailbox on the shared server."""
    name = f"partners{next(_users)}-{os.getpid()}@ours.example"
    dovecot_server.add_user(name)
    return name


def intro(n: int, **options: object) -> bytes:
    """Acme's intro of prospect n (each to a different company, so none conflict)."""
    return message(
        to=f"Prospect {n} <p{n}@prospect{n}.example>",
        subject=f"Intro: Prospect {n} <> Sam",
        **options,  # type: ignore[arg-type]
    )


async def until(check: Callable[[], object], what: str, seconds: float = 20.0) -> None:
    """Wait for an asynchronous check to hold, or fail saying what never happened."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        if await check():  # type: ignore[misc]
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def serving(engine: AsyncEngine, url: str, **overrides: object) -> AsyncIterator[None]:
    """`handoff serve` in this event loop, stopped (as by SIGTERM) on the way out."""
    settings = load_settings(imap_url=url, **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, engine, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(sql))).scalar_one())


async def referrals_reach(engine: AsyncEngine, n: int, seconds: float = 20.0) -> None:
    async def check() -> bool:
        return await count(engine, "SELECT count(*) FROM referral") >= n

    await until(check, f"{n} referrals", seconds)
