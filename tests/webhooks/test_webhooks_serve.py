"""Webhooks in `handoff serve`: a kill -9 mid-delivery loses nothing, and an endpoint that
never answers holds back neither Slack nor intake."""

from __future__ import annotations

import asyncio
import signal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.slack import SlackStandIn
from tests.support.handoff import Handoff
from tests.support.intros import INTRO, count, ingest
from tests.support.receiver import Answer, Receiver
from tests.support.slackbot import running_bot, serve_env, start_serve
from tests.webhooks.test_webhooks import receiver, register  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("receiver")


async def delivered(engine: AsyncEngine) -> int:
    return await count(engine, "SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'")


async def test_a_process_killed_mid_delivery_delivers_after_restart(
    db_url: str,
    engine: AsyncEngine,
    scenario: Handoff,
    receiver: Receiver,  # noqa: F811
) -> None:
    await asyncio.to_thread(register, scenario, receiver)
    hold = asyncio.Event()  # never set: the first attempt is in flight when the process dies
    receiver.plan.append(Answer(hold=hold))
    await ingest(scenario, INTRO)
    slack = await SlackStandIn().start()
    env = serve_env(db_url, slack, HANDOFF_WEBHOOK_TIMEOUT_SECONDS="1.5")
    first = start_serve(env)
    try:
        await receiver.until("the delivery in flight", lambda: receiver.arrived)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert await delivered(engine) == 0
    second = start_serve(serve_env(db_url, slack, HANDOFF_WEBHOOK_TIMEOUT_SECONDS="1.5"))
    try:
        await receiver.until("the delivery after restart", lambda: delivered(engine))
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
        hold.set()
        await slack.close()
    assert await delivered(engine) == 1
    assert len(receiver.arrived) == 2
    assert len(set(receiver.arrived)) == 1, "the retry carries the same webhook-id"
    assert all(g.type == "referral.created" and g.verified for g in receiver.got)


async def test_an_endpoint_that_never_answers_holds_back_neither_slack_nor_intake(
    engine: AsyncEngine,
    scenario: Handoff,
    receiver: Receiver,  # noqa: F811
) -> None:
    await asyncio.to_thread(register, scenario, receiver)
    hold = asyncio.Event()
    receiver.always = Answer(hold=hold)
    async with running_bot(engine, webhook_timeout_seconds=60) as bot:
        await ingest(scenario, INTRO)
        await receiver.until("the webhook in flight", lambda: receiver.arrived)
        post = await bot.post_of("ACME-1")
        assert "ACME-1" in post["text"]
        assert receiver.got == [], "the webhook is still unanswered while Slack has its post"
        hold.set()
        await receiver.until("the webhook answered", lambda: receiver.got)
