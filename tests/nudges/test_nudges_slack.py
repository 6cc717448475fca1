"""Nudges as people see them in Slack: `handoff serve`'s scheduler, `handoff jobs`, the buttons."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.failures import server_error
from bot.demo.standin.slack import SlackStandIn
from bot.slack import nudges as reminders
from tests.support.handoff import Handoff
from tests.support.intros import INTRO
from tests.support.slackbot import running_bot, text_of
from tests.support.world import add_partner, add_referral, referral, update

PEOPLE = {
    "UREP": {"id": "UREP", "name": "rep", "tz": "Europe/Berlin"},
    "UMGR1": {"id": "UMGR1", "name": "boss", "tz": "UTC"},
}


def know_people(slack: SlackStandIn) -> None:
    slack.users.update(PEOPLE)


def buttons(message: dict[str, object]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []  # type: ignore[attr-defined]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def row(engine: AsyncEngine, ref_id: int) -> sa.Row:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(referral).where(referral.c.id == ref_id))).one()


async def test_serve_nudges_an_unclaimed_intro_in_its_thread_then_tells_the_managers(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, claim_sla="1s", sweep_every="1s", managers="UMGR1") as bot:
        know_people(bot.slack)
        await asyncio.to_thread(scenario.ingest, INTRO)
        post = await bot.post_of("ACME-1")
        nudge = await bot.until(
            "the thread nudge", lambda: bot.slack.thread(post["channel"], post["ts"])
        )
        assert "ACME-1" in text_of(nudge[0]) and "for an owner" in text_of(nudge[0])
        dm = await bot.until("the managers' DM", lambda: bot.slack.dms("UMGR1"))
        assert "Still unclaimed" in text_of(dm[0]) and "Jane Doe" in text_of(dm[0])
        await asyncio.sleep(2.5)  # two more sweeps
        assert len(bot.slack.thread(post["channel"], post["ts"])) == 1
        assert len(bot.slack.dms("UMGR1")) == 1


async def test_the_thread_nudge_mentions_the_rep_group_given_by_its_handle(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    # Issue 23, bug: HANDOFF_REP_GROUP=@sales-reps mentioned nobody.
    async with running_bot(
        engine, claim_sla="1s", sweep_every="1s", rep_group="@sales-reps"
    ) as bot:
        bot.slack.usergroups["S0REPS"] = ["U0REP1"]
        bot.slack.usergroup_handles["S0REPS"] = "sales-reps"
        await asyncio.to_thread(scenario.ingest, INTRO)
        post = await bot.post_of("ACME-1")
        nudge = await bot.until(
            "the thread nudge", lambda: bot.slack.thread(post["channel"], post["ts"])
        )
        assert nudge[0]["text"].startswith(":hourglass_flowing_sand: <!subteam^S0REPS> ACME-1 ")


async def test_a_claim_before_the_sla_means_no_nudge(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, claim_sla="2s", sweep_every="1s", managers="UMGR1") as bot:
        know_people(bot.slack)
        await asyncio.to_thread(scenario.ingest, INTRO)
        post = await bot.post_of("ACME-1")
        await bot.click("claim_sourced", user="UREP", value="ACME-1", ref_post=post)
        await bot.until("the claim line", lambda: bot.slack.thread(post["channel"], post["ts"]))
        await asyncio.sleep(4.5)
        lines = [text_of(m) for m in bot.slack.thread(post["channel"], post["ts"])]
        assert len(lines) == 1 and "claimed it" in lines[0]
        assert bot.slack.dms("UMGR1") == []


async def test_the_owner_is_reminded_by_dm_and_answers_with_its_buttons(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    now = datetime.now(UTC)
    answered = await add_referral(engine, acme, received=now - timedelta(days=2))
    snoozed = await add_referral(engine, acme, received=now - timedelta(days=2))
    for ref in (answered, snoozed):
        await update(
            engine, ref, owner="UREP", stage="claimed", claimed_at=now - timedelta(hours=25)
        )
    async with running_bot(engine, sweep_every="1s", managers="UMGR1") as bot:
        know_people(bot.slack)
        dms = await bot.until(
            "two reminders", lambda: len(bot.slack.dms("UREP")) == 2 and bot.slack.dms("UREP")
        )
        assert all("no first response is recorded" in text_of(m) for m in dms)
        assert buttons(dms[0]) == [reminders.RESPONDED, reminders.SNOOZE_RESPONSE]
        by_ref = {("ACME-1" if "ACME-1" in text_of(m) else "ACME-2"): m for m in dms}
        place = {"channel": SlackStandIn.dm("UREP")}
        await bot.click(
            reminders.RESPONDED, user="UREP", value="ACME-1", ref_post=place | by_ref["ACME-1"]
        )
        await bot.click(
            reminders.SNOOZE_RESPONSE,
            user="UREP",
            value="ACME-2",
            ref_post=place | by_ref["ACME-2"],
        )
        await bot.until("both answers", lambda: len(bot.slack.responses) == 2)
        done = [json.dumps(r) for r in bot.slack.responses]
        assert any("Marked responded by <@UREP>" in r for r in done)
        assert any("Snoozed for a day" in r for r in done)
        assert all(r["replace_original"] for r in bot.slack.responses)
    assert (await row(engine, answered)).first_response_at is not None
    until = (await row(engine, snoozed)).response_snoozed_until
    assert until is not None and until - now > timedelta(hours=23)


async def test_a_due_next_step_is_dmed_and_done_from_the_dm(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    now = datetime.now(UTC)
    ref = await add_referral(engine, acme, received=now - timedelta(days=5))
    await update(
        engine,
        ref,
        owner="UREP",
        stage="meeting",
        claimed_at=now - timedelta(days=5),
        first_response_at=now - timedelta(days=5),
        next_step="Joint demo with Acme",
        next_step_due=datetime.combine(now.date() - timedelta(days=3), datetime.min.time(), UTC),
    )
    async with running_bot(engine, sweep_every="1s") as bot:
        know_people(bot.slack)
        dm = (await bot.until("the reminder", lambda: bot.slack.dms("UREP")))[0]
        assert "Overdue since" in text_of(dm) and "Joint demo with Acme" in text_of(dm)
        assert buttons(dm) == [
            reminders.STEP_DONE,
            reminders.STEP_SNOOZE,
            reminders.STEP_RESCHEDULE,
        ]
        place = {"channel": SlackStandIn.dm("UREP")} | dm
        await bot.click(reminders.STEP_DONE, user="UREP", value="ACME-1", ref_post=place)
        await bot.until("the answer", lambda: bot.slack.responses)
    after = await row(engine, ref)
    assert after.next_step is None and after.next_step_due is None
    assert bot.slack.calls_to("users.info")  # the owner's time zone came from Slack


async def test_a_nudge_that_slack_fails_is_retried_and_sent_once(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, claim_sla="1s", sweep_every="1s") as bot:
        await asyncio.to_thread(scenario.ingest, INTRO)
        post = await bot.post_of("ACME-1")
        # The next post is the nudge: Slack fails it twice (the outbox retries it, looking in
        # the thread first each time).
        bot.slack.fail("chat.postMessage", *(server_error(500) for _ in range(2)))
        await bot.until(
            "the nudge after the retries",
            lambda: bot.slack.thread(post["channel"], post["ts"]),
            seconds=20,
        )
        await asyncio.sleep(2.5)
        assert len(bot.slack.thread(post["channel"], post["ts"])) == 1
    assert len(bot.slack.calls_to("chat.postMessage")) >= 4  # the post, 2 failures, the nudge
    assert len(bot.slack.calls_to("conversations.replies")) >= 2  # looked before each retry


@pytest.fixture
async def slack() -> SlackStandIn:
    standin = await SlackStandIn().start()
    know_people(standin)
    yield standin  # type: ignore[misc]
    await standin.close()


async def test_jobs_run_prints_sends_and_never_repeats(
    engine: AsyncEngine, handoff: Handoff, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = await add_partner(engine)
    claimed = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    ref = await add_referral(engine, acme, received=claimed)
    await update(engine, ref, owner="UREP", stage="claimed", claimed_at=claimed)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("HANDOFF_MANAGERS", "UMGR1")
    at = "2026-11-22T09:00:00Z"  # 48 hours after the claim: owner and managers are due

    dry = await asyncio.to_thread(
        handoff, "jobs", "run", "first-response", "--now", at, "--dry-run"
    )
    assert "would send first_response    ACME-1 level 1" in dry
    assert "would send 2 nudge(s), 2 Slack message(s)" in dry
    assert slack.dms("UREP") == [] and slack.dms("UMGR1") == []

    out = await asyncio.to_thread(handoff, "jobs", "run", "first-response", "--now", at)
    assert "DM to the owner UREP" in out and "DM to managers UMGR1" in out
    assert "sent 2 nudge(s), 2 Slack message(s)" in out and out.rstrip().endswith("delivered")
    assert len(slack.dms("UREP")) == 1 and len(slack.dms("UMGR1")) == 1  # before it exited

    again = await asyncio.to_thread(handoff, "jobs", "run", "first-response", "--now", at)
    assert "sent 0 nudge(s)" in again
    listed = await asyncio.to_thread(handoff.json, "jobs", "list")
    job = {j["name"]: j for j in listed}["first-response"]  # type: ignore[index]
    assert job["last_as_of"].startswith("2026-11-22T09:00") and job["last_sent"] == 0
    assert job["schedule"] == "every 1m" and job["next_run"]
    assert {j["name"] for j in listed} == {  # type: ignore[union-attr]
        "digests",
        "unclaimed",
        "first-response",
        "next-steps",
        "inactive-partners",
        "expiring",
        "unconfirmed",
    }


async def test_jobs_run_inactive_partners_dms_what_it_counted_as_of_now(
    engine: AsyncEngine, handoff: Handoff, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 23, bug: the DM was checked against the wall clock, not --now, and dropped partners
    # the job had counted.
    acme = await add_partner(engine)
    last = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    await add_referral(engine, acme, received=last)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("HANDOFF_MANAGERS", "UMGR1")
    at = (last + timedelta(days=75)).strftime("%Y-%m-%dT%H:%M:%SZ")  # 45 days from now
    out = await asyncio.to_thread(handoff, "jobs", "run", "inactive-partners", "--now", at)
    assert "sent 1 nudge(s)" in out and out.rstrip().endswith("delivered"), out
    [dm] = slack.dms("UMGR1")
    assert "(acme): last referral" in text_of(dm) and "75d 0h ago" in text_of(dm)


async def test_jobs_run_explains_what_it_cannot_do(handoff: Handoff, db_url: str) -> None:
    await asyncio.to_thread(handoff, "jobs", "run", "nudge-everyone", expect=2)
    assert "no job 'nudge-everyone' (one of: unclaimed, first-response" in handoff.err
    await asyncio.to_thread(handoff, "jobs", "run", "unclaimed", expect=2)
    assert "SLACK_BOT_TOKEN: not set" in handoff.err and "--dry-run" in handoff.err
    await asyncio.to_thread(handoff, "jobs", "run", "unclaimed", "--now", "tomorrow", expect=2)
    assert "not an ISO-8601 instant" in handoff.err
