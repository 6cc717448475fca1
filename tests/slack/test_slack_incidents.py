"""Slack on a bad day: every write lands once although Slack answers late, answers 500 after
doing the work, or rate-limits; a rate limit delays only what it limits."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.failures import rate_limited, server_error, slow
from bot.models import OutboxJob, utcnow
from tests.support.handoff import Handoff
from tests.support.intros import INTAKE, INTRO, claimed, ingest, outbox_empty, shown
from tests.support.slackbot import Bot, running_bot

outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
GLOBEX = INTAKE / "02-globex-outlook-intro-iso8859-encoded-name.eml"

# Slack did the work, then: a 500; or an answer after the client gave up (timeout 1 s).
INCIDENTS = {
    "500 after the work": server_error(500, after_work=True),
    "late": slow(3, after_work=True),
}


def top_posts(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.messages.values() if not m.get("thread_ts")]


async def settled(bot: Bot, engine: AsyncEngine) -> None:
    await bot.until("the outbox to empty", lambda: outbox_empty(engine), seconds=30)


@pytest.mark.parametrize("incident", INCIDENTS)
async def test_an_intro_post_slack_took_is_not_posted_again(
    engine: AsyncEngine, scenario: Handoff, incident: str
) -> None:
    async with running_bot(engine, slack_timeout_seconds=1) as bot:
        bot.slack.fail("chat.postMessage", INCIDENTS[incident])
        await ingest(scenario, INTRO)
        await settled(bot, engine)
        assert len(top_posts(bot)) == 1
        assert len(bot.slack.calls_to("chat.postMessage")) == 1  # found, not redone
        [post] = top_posts(bot)
    assert (await shown(scenario, "ACME-1"))["slack"]["ts"] == post["ts"]


@pytest.mark.parametrize("incident", INCIDENTS)
async def test_a_thread_line_slack_took_is_not_posted_again(
    engine: AsyncEngine, scenario: Handoff, incident: str
) -> None:
    async with running_bot(engine, slack_timeout_seconds=1) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        bot.slack.fail("chat.postMessage", INCIDENTS[incident])  # the claim's thread line
        await claimed(bot, scenario)
        await settled(bot, engine)
        thread = bot.slack.thread(post["channel"], post["ts"])
        assert len(thread) == 1 and "<@U0REP1>" in thread[0]["text"]


async def test_a_nudge_slack_took_is_not_sent_again(engine: AsyncEngine, scenario: Handoff) -> None:
    async with running_bot(engine, claim_sla="1s", sweep_every="1s") as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        bot.slack.fail("chat.postMessage", server_error(500, after_work=True))  # the nudge
        thread = await bot.until(
            "the nudge", lambda: bot.slack.thread(post["channel"], post["ts"]), seconds=20
        )
        await settled(bot, engine)
        assert len(bot.slack.thread(post["channel"], post["ts"])) == len(thread) == 1
        assert bot.slack.calls_to("conversations.replies")  # the retry looked first


async def test_a_post_is_found_after_hundreds_of_other_messages(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        bot.slack.fail("chat.postMessage", server_error(500, after_work=True))
        await ingest(scenario, INTRO)
        first = await bot.post_of("ACME-1")
        # The channel is busy before the retry: 250 messages by others (one history page
        # holds 200 at most).
        for n in range(250):
            ts = bot.slack.next_ts()
            message = {"type": "message", "user": "U0OTHER", "ts": ts, "text": f"chat {n}"}
            bot.slack.messages[first["channel"], ts] = message | {"thread_ts": None}
        await settled(bot, engine)
        assert [m for m in top_posts(bot) if "ACME-1" in m.get("text", "")] == [
            bot.slack.messages[first["channel"], first["ts"]]
        ]
    assert (await shown(scenario, "ACME-1"))["slack"]["ts"] == first["ts"]


async def test_a_retry_that_cannot_look_first_does_not_post(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        bot.slack.fail("chat.postMessage", server_error(500, after_work=True))
        bot.slack.fail("conversations.history", server_error(503))  # the first look fails
        await ingest(scenario, INTRO)
        await settled(bot, engine)
        assert len(top_posts(bot)) == 1
        assert len(bot.slack.calls_to("conversations.history")) >= 2
        assert len(bot.slack.calls_to("chat.postMessage")) == 1


async def test_a_rate_limit_delays_only_the_post_it_limits(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        bot.slack.fail("chat.postMessage", rate_limited(120))  # ACME-1's post
        await ingest(scenario, INTRO)
        await bot.until("the 429", lambda: bot.slack.calls_to("chat.postMessage"))
        await ingest(scenario, GLOBEX)
        await bot.post_of("GLOBEX-1")  # not held behind ACME-1's 120 s

        async def only_acme_waits() -> list[Any] | None:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(outbox.c.due_at, outbox.c.last_error).where(
                        outbox.c.done_at.is_(None)
                    )
                )
                waiting = rows.all()
            return waiting if len(waiting) == 1 else None

        [(due, error)] = await bot.until("GLOBEX-1's job done", only_acme_waits)
        assert "rate-limits" in error and "120s" in error
        assert 100 < (due - utcnow()).total_seconds() <= 120
