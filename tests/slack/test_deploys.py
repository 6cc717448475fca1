"""Clicks survive a deploy: what Slack was answered 200 for is applied once, whether serve is
stopped (SIGTERM: it waits for them) or killed (the next start applies them)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.failures import slow
from bot.demo.standin.slack import SlackStandIn
from bot.slack import blocks
from tests.support.handoff import Handoff
from tests.support.imap import intro
from tests.support.ports import free_port
from tests.support.slackbot import Bot, running_bot, serve_env, start_serve

CLICKS = 20
REPS = "S0REPS"


def users() -> list[str]:
    return [f"U0REP{n:02d}" for n in range(CLICKS)]


async def twenty_referrals(scenario: Handoff, folder: Path) -> None:
    paths = []
    for n in range(1, CLICKS + 1):
        path = folder / f"intro-{n}.eml"
        path.write_bytes(intro(n))
        paths.append(str(path))
    await asyncio.to_thread(scenario, "ingest", "--no-slack", *paths)


def slow_roster(slack: SlackStandIn) -> None:
    """Each click waits on Slack for its user group (HANDOFF_REP_GROUP): applying it takes a
    while after its acknowledgement, as a busy database or Slack would make it."""
    slack.usergroups[REPS] = users()
    slack.fail("usergroups.users.list", *(slow(4) for _ in range(2 * CLICKS)))


async def click_all(bot: Bot) -> None:
    """Twenty reps claim twenty referrals at once; Slack hears 200 for each."""
    answers = await asyncio.gather(
        *(
            bot.click(blocks.CLAIM_SOURCED, user=user, value=f"ACME-{n}")
            for n, user in enumerate(users(), start=1)
        )
    )
    assert [a.status for a in answers] == [200] * CLICKS


async def claims(engine: AsyncEngine) -> dict[str, list[str]]:
    """Each referral's claimed events, by actor."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT r.ref, e.actor FROM referral r LEFT JOIN event e "
                "ON e.referral_id = r.id AND e.kind = 'claimed' ORDER BY r.id, e.id"
            )
        )
        shown: dict[str, list[str]] = {}
        for ref, actor in rows:
            shown.setdefault(ref, []).extend([actor] if actor else [])
        return shown


def expected() -> dict[str, list[str]]:
    return {f"ACME-{n}": [f"slack:{u}"] for n, u in enumerate(users(), start=1)}


async def test_stopping_serve_right_after_twenty_clicks_applies_each_once(
    engine: AsyncEngine, scenario: Handoff, tmp_path: Path
) -> None:
    await twenty_referrals(scenario, tmp_path)
    async with running_bot(engine, rep_group=REPS) as bot:
        slow_roster(bot.slack)
        await click_all(bot)
    # serve has returned (SIGTERM's path): it waited for what it had acknowledged.
    assert await claims(engine) == expected()
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM pending_action")) == 0


@pytest.fixture
async def standin() -> Any:
    slack = await SlackStandIn().start()
    yield slack
    await slack.close()


async def test_killing_serve_right_after_twenty_clicks_applies_each_once_on_restart(
    db_url: str, engine: AsyncEngine, scenario: Handoff, standin: SlackStandIn, tmp_path: Path
) -> None:
    await twenty_referrals(scenario, tmp_path)
    slow_roster(standin)
    env = serve_env(db_url, standin, HANDOFF_REP_GROUP=REPS)
    first = start_serve(env)
    try:
        async with aiohttp.ClientSession() as http:
            bot = Bot(standin, int(env["HANDOFF_PORT"]), http)
            await bot.until("serve to listen", bot.up, seconds=30)
            await click_all(bot)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    standin.clear_failures()  # Slack answers at once now
    second = start_serve({**env, "HANDOFF_PORT": str(free_port())})
    try:
        async with aiohttp.ClientSession() as http:
            bot = Bot(standin, 0, http)

            async def all_claimed() -> bool:
                return await claims(engine) == expected()

            await bot.until("every acknowledged claim applied", all_claimed, seconds=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    assert await claims(engine) == expected()
