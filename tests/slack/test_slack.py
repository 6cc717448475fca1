"""Slack end to end: `handoff serve` posts intros to a Slack stand-in and answers signed clicks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.failures import rate_limited, server_error
from bot.demo.standin.signing import signed_headers
from bot.slack import blocks
from tests.support.handoff import Handoff
from tests.support.intros import (
    INTAKE,
    INTRO,
    claimed,
    count,
    ingest,
    outbox_empty,
    shown,
    stage_is,
    stage_values,
)
from tests.support.messages import message, write
from tests.support.slackbot import SECRET, running_bot, text_of


async def test_a_new_intro_is_posted_with_claim_buttons_and_its_place_is_kept(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        assert post["channel"] == "C0INTROS"  # HANDOFF_SLACK_CHANNEL's default, by name
        seen = text_of(post)
        for part in ("Jane Doe", "jane.doe@hooli.example", "Acme", "Claim · Sourced"):
            assert part in seen
        actions = [b for b in post["blocks"] if b["type"] == "actions"][0]["elements"]
        assert [a["action_id"] for a in actions] == [
            blocks.CLAIM_SOURCED,
            blocks.CLAIM_INFLUENCED,
            blocks.INTRO_MORE,
        ]
        assert actions[0]["style"] == "primary"
        assert post["metadata"]["event_payload"] == {"ref": "ACME-1"}
    referral = await shown(scenario, "ACME-1")
    assert referral["slack"] == {"channel": "C0INTROS", "ts": post["ts"]}


async def test_an_intro_whose_subject_says_channel_broadcasts_nothing(
    engine: AsyncEngine, scenario: Handoff, tmp_path: Path
) -> None:
    raw = message(
        subject="<!channel> hi <!here> <@U0BOSS> <http://evil.example|https://bank.example>",
        body="<!everyone> urgent, see <https://evil.example|our portal>\n",
    )
    async with running_bot(engine) as bot:
        await ingest(scenario, write(tmp_path, "shout.eml", raw))
        post = await bot.post_of("ACME-1")
    sent = json.dumps(bot.slack.calls_to("chat.postMessage"))
    for control in ("<!channel>", "<!here>", "<!everyone>", "<@U0BOSS>", "<http"):
        assert control not in sent
    assert "&lt;!channel&gt; hi" in text_of(post)


async def test_a_claim_makes_the_clicker_owner_and_updates_the_post_in_place(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        answer = await bot.click(blocks.CLAIM_SOURCED, user="U0REP1", value="ACME-1", ref_post=post)
        assert answer.status == 200
        await bot.slack.wait_for("chat.update")
        updated = bot.slack.messages[(post["channel"], post["ts"])]
        seen = text_of(updated)
        assert "<@U0REP1>" in seen and "Sourced" in seen
        assert blocks.CLAIM_SOURCED not in seen  # the claim buttons are gone
        for control in (blocks.FIRST_RESPONSE, blocks.NEXT_STEP, blocks.UPDATE_STAGE):
            assert control in seen
        thread = await bot.until("a thread line", lambda: bot.slack.thread(*post_key(post)))
        assert "<@U0REP1>" in thread[0]["text"]
    referral = await shown(scenario, "ACME-1")
    assert (referral["owner"], referral["role"], referral["stage"]) == (
        "U0REP1",
        "sourced",
        "claimed",
    )
    claimed = [e for e in referral["events"] if e["kind"] == "claimed"]
    assert [(e["actor"], e["detail"]) for e in claimed] == [("slack:U0REP1", "claimed as Sourced")]


def post_key(post: dict[str, Any]) -> tuple[str, str]:
    return post["channel"], post["ts"]


async def test_fifty_simultaneous_claims_give_one_owner_and_tell_the_others(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        users = [f"U{n:04d}" for n in range(50)]
        answers = await asyncio.gather(
            *(bot.click(blocks.CLAIM_SOURCED, user=u, value="ACME-1", ref_post=post) for u in users)
        )
        assert {a.status for a in answers} == {200}
        await bot.until("49 refusals", lambda: len(bot.slack.ephemerals) >= 49, seconds=30)
        referral = await shown(scenario, "ACME-1")
        winner = referral["owner"]
        assert winner in users
        told = {e["user"]: e["text"] for e in bot.slack.ephemerals}
        assert set(told) == set(users) - {winner}
        assert set(told.values()) == {f"ACME-1 is already claimed by <@{winner}>."}
    assert [e["actor"] for e in referral["events"] if e["kind"] == "claimed"] == [f"slack:{winner}"]


async def test_a_retried_request_applies_once(engine: AsyncEngine, scenario: Handoff) -> None:
    async with running_bot(engine) as bot:
        await claimed(bot, scenario)
        body = bot.submit_body(blocks.STAGE_MODAL, "ACME-1", stage_values("meeting"), user="U0REP1")
        first = await bot.send(body)
        again = await bot.send(body, retry=1)  # Slack's retry: the same request once more
        assert (first.status, again.status) == (200, 200)
        await bot.until("the stage", lambda: stage_is(scenario, "meeting"))
        await asyncio.sleep(0.5)  # the retry's work runs after its ack too
        await bot.until("the outbox to empty", lambda: outbox_empty(engine))
    referral = await shown(scenario, "ACME-1")
    assert referral["stage"] == "meeting"
    assert [e["kind"] for e in referral["events"]].count("stage_changed") == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param(signed_headers("other body", SECRET), id="signature-of-another-body"),
        pytest.param(signed_headers("x", "not-the-secret"), id="wrong-secret"),
        pytest.param("stale", id="six-minutes-old"),
    ],
)
async def test_unsigned_or_stale_requests_are_rejected_and_change_nothing(
    engine: AsyncEngine, scenario: Handoff, headers: Any
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        body = bot.click_body(blocks.CLAIM_SOURCED, user="U0EVIL", value="ACME-1", post=post)
        if headers == "stale":
            answer = await bot.send(body, timestamp=int(time.time()) - 360)
        else:
            if headers and headers["X-Slack-Signature"] and "x" not in headers:
                pass
            answer = await bot.send(body, headers=headers or {"X-Unsigned": "1"})
        assert answer.status == 401
        await asyncio.sleep(0.3)
        assert bot.slack.calls_to("chat.update") == []
    assert (await shown(scenario, "ACME-1"))["owner"] is None


async def test_slack_rate_limits_and_errors_delay_the_post_but_lose_nothing(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        # No call retries by itself: the outbox waits (Retry-After, then its backoff) and,
        # since an earlier try may have landed, looks in the channel before posting again.
        bot.slack.fail("chat.postMessage", rate_limited(1), server_error(500))
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1", seconds=20)
        calls = [c.method for c in bot.slack.calls if c.method.startswith(("chat.", "conv"))]
        assert calls[-3:] == [
            "chat.postMessage",  # refused: 500
            "conversations.history",  # did it land after all? no
            "chat.postMessage",  # posted
        ]
        assert calls.count("chat.postMessage") == 3  # 429, 500, posted
        assert len([m for m in bot.slack.messages.values() if not m.get("thread_ts")]) == 1
    assert (await shown(scenario, "ACME-1"))["slack"]["ts"] == post["ts"]


async def test_a_partner_with_its_own_channel_gets_its_intros_there(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    await asyncio.to_thread(scenario, "partners", "add", "acme", "--slack-channel", "#acme-deals")
    async with running_bot(engine) as bot:
        bot.slack.channels["acme-deals"] = "C0ACMEDEALS"
        await ingest(scenario, INTRO, INTAKE / "02-globex-outlook-intro-iso8859-encoded-name.eml")
        assert (await bot.post_of("ACME-1"))["channel"] == "C0ACMEDEALS"
        assert (await bot.post_of("GLOBEX-1"))["channel"] == "C0INTROS"
    listed = await asyncio.to_thread(scenario.json, "partners", "list")
    assert [p["slack_channel"] for p in listed if p["slug"] == "acme"] == ["acme-deals"]  # type: ignore[union-attr,index]


async def test_a_missing_channel_keeps_the_post_waiting_and_says_why(
    engine: AsyncEngine, scenario: Handoff, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(engine, slack_channel="no-such-channel") as bot:
        await ingest(scenario, INTRO)
        await bot.until("a refused post", lambda: bot.slack.calls_to("chat.postMessage"))
        await bot.until("the log line", lambda: "channel_not_found" in caplog.text)
        bot.slack.channels["no-such-channel"] = "C0CREATED"  # someone creates the channel
        async with engine.begin() as conn:  # and the retry comes now rather than in 2-4 s
            await conn.execute(text("UPDATE outbox SET due_at = created_at"))
        assert (await bot.post_of("ACME-1"))["channel"] == "C0CREATED"
    assert "create the channel or set HANDOFF_SLACK_CHANNEL" in caplog.text


async def test_a_backfill_with_no_slack_stores_referrals_but_posts_nothing(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        results = await asyncio.to_thread(
            scenario,
            "ingest",
            str(INTRO),
            str(INTAKE / "09-rep-reply-all-to-01-first-response.eml"),
            "--no-slack",
        )
        assert "ingested 2" in scenario.err + results
        assert await count(engine, "SELECT count(*) FROM outbox") == 0
        await ingest(scenario, INTAKE / "02-globex-outlook-intro-iso8859-encoded-name.eml")
        await bot.post_of("GLOBEX-1")  # later mail, ingested as usual, is posted
        assert not [m for m in bot.slack.messages.values() if "ACME-1" in m.get("text", "")]
    assert (await shown(scenario, "ACME-1"))["first_response_at"] is not None
