"""`handoff serve` with Slack: Socket Mode, /healthz, start-up errors, a kill mid-post."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.demo.standin.failures import Failure
from bot.demo.standin.slack import SlackStandIn
from bot.slack import blocks
from bot.slack.web import start_web, web_app
from tests.support.handoff import Handoff
from tests.support.intros import INTRO, ingest, outbox_empty, shown
from tests.support.slackbot import free_port, running_bot, serve_env, start_serve


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    slack = await SlackStandIn().start()
    yield slack
    await slack.close()


async def test_socket_mode_receives_clicks_over_the_websocket(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(
        engine, slack_app_token="xapp-test-token", slack_signing_secret=""
    ) as bot:
        await bot.slack.socket_connected.wait()
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        payload = {
            "type": "block_actions",
            "user": {"id": "U0REP1", "team_id": "T0TEAM"},
            "team": {"id": "T0TEAM"},
            "api_app_id": "A0APP",
            "container": {"type": "message", "message_ts": post["ts"], "channel_id": "C0INTROS"},
            "channel": {"id": "C0INTROS"},
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "action_id": blocks.CLAIM_SOURCED,
                    "type": "button",
                    "value": "ACME-1",
                    "action_ts": "1.5",
                }
            ],
        }
        ack = await bot.slack.socket_send("interactive", payload)
        assert "envelope_id" in ack
        await bot.until("the claim", lambda: bot.slack.calls_to("chat.update"))
        # In Socket Mode nothing answers Slack over HTTP: /slack/events is not there.
        async with bot.http.post(bot.events_url, data=b"x") as response:
            assert response.status == 404
    assert (await shown(scenario, "ACME-1"))["owner"] == "U0REP1"


async def test_healthz_says_when_the_database_is_unreachable() -> None:
    port = free_port()
    engine = create_engine("postgresql://nobody@127.0.0.1:9/nowhere")
    runner = await start_web(web_app(engine=engine, bolt=None), host="127.0.0.1", port=port)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 503
            assert (await response.text()).startswith("database unreachable: ")
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_healthz_is_ok_while_serving(engine: AsyncEngine, scenario: Handoff) -> None:
    async with (
        running_bot(engine) as bot,
        bot.http.get(f"http://127.0.0.1:{bot.port}/healthz") as response,
    ):
        assert (response.status, await response.text()) == (200, "ok\n")


async def serve_until_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`handoff serve` as a subprocess that is expected to stop by itself (a start-up error)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_start_up_stops_on_a_token_slack_refuses(
    db_url: str, scenario: Handoff, standin: SlackStandIn
) -> None:
    env = serve_env(db_url, standin, SLACK_BOT_TOKEN="xoxb-revoked")
    done = await serve_until_exit(env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "handoff: SLACK_BOT_TOKEN: Slack says invalid_auth "
        "(SLACK_BOT_TOKEN is not valid for this workspace)"
    )
    assert "xoxb-revoked" not in done.stderr


async def test_http_mode_without_a_signing_secret_is_refused(
    db_url: str, scenario: Handoff, standin: SlackStandIn
) -> None:
    env = serve_env(db_url, standin, SLACK_SIGNING_SECRET="")
    done = await serve_until_exit(env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("handoff: SLACK_SIGNING_SECRET: not set")


@pytest.mark.parametrize("landed", [True, False], ids=["slack-took-it", "slack-never-got-it"])
async def test_a_process_killed_mid_post_posts_once_after_restart(
    db_url: str, engine: AsyncEngine, scenario: Handoff, standin: SlackStandIn, landed: bool
) -> None:
    # The first post is in flight when the process dies: Slack either completes it (the answer
    # never reaches us) or never sees it. Either way the restarted process posts it exactly once.
    standin.fail("chat.postMessage", Failure(delay=1.5, disconnect=not landed))
    env = serve_env(db_url, standin)
    await ingest(scenario, INTRO)
    first = start_serve(env)
    try:
        await until("the post in flight", lambda: standin.calls_to("chat.postMessage"))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = start_serve({**env, "HANDOFF_PORT": str(free_port())})
    try:
        await until("the outbox to empty", lambda: outbox_empty(engine), seconds=30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    posts = [m for m in standin.messages.values() if not m.get("thread_ts")]
    assert len(posts) == 1
    referral = await shown(scenario, "ACME-1")
    assert referral["slack"]["ts"] == posts[0]["ts"]


async def until(what: str, check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_bot_module_runs(tmp_path: Path) -> None:
    assert subprocess.run([sys.executable, "-m", "bot", "--version"], check=False).returncode == 0
