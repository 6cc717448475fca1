"""The watcher's catch-up while PostgreSQL keeps losing connections: every message stored once
and none rejected, nothing advanced past what did not commit, and serve stays up."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro, serving, until

BACKLOG = 300
# A storm, not a siege: each kill of the watcher's lock connection costs it up to a heartbeat
# and a retry (~15 s), so a slower machine stores less per kill; the storm ends after this many.
KILLS = 150


async def kill_connections(url: str, stop: asyncio.Event) -> int:
    """Terminate one of the other connections to the database every 10-80 ms, until stopped
    or KILLS are done."""
    killer = create_engine(url)
    killed = 0
    try:
        while not stop.is_set() and killed < KILLS:
            with contextlib.suppress(sa.exc.DBAPIError):
                async with killer.connect() as conn:
                    result = await conn.execute(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM ("
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1) AS one"
                        )
                    )
                    killed += int(result.scalar_one())
            await asyncio.sleep(random.uniform(0.01, 0.08))
    finally:
        await killer.dispose()
    return killed


async def counts(engine: AsyncEngine) -> dict[str, int] | None:
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT kind, count(*) FROM inbound_message GROUP BY kind")
            )
            return {kind: n for kind, n in rows}
    except sa.exc.DBAPIError:
        return None  # killed too: ask again


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_catching_up_while_connections_die_stores_every_message_once(
    db_url: str, engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    await asyncio.to_thread(
        dovecot_server.append_all, user, [intro(n) for n in range(1, BACKLOG + 1)]
    )
    stop = asyncio.Event()
    async with serving(engine, dovecot_server.url(user)):
        killing = asyncio.create_task(kill_connections(db_url, stop))

        async def half_way() -> bool:
            return killing.done() or sum((await counts(engine) or {}).values()) >= BACKLOG // 2

        await until(half_way, f"half of the backlog stored or {KILLS} kills", seconds=180)
        stop.set()
        killed = await killing
        assert killed > 0

        async def all_stored() -> bool:
            return sum((await counts(engine) or {}).values()) >= BACKLOG

        await until(all_stored, "the whole backlog stored", seconds=180)
    assert await counts(engine) == {"new_intro": BACKLOG}  # none rejected, none twice
    async with engine.connect() as conn:
        prospects = await conn.scalar(
            sa.text("SELECT count(DISTINCT prospect_email) FROM referral")
        )
    assert prospects == BACKLOG
