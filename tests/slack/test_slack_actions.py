"""What reps and managers do after a claim: modals, roles, release, permissions, App Home."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Referral
from bot.slack import blocks
from tests.support.handoff import Handoff
from tests.support.intros import (
    INTAKE,
    claimed,
    ingest,
    outbox_empty,
    shown,
    stage_is,
    stage_values,
)
from tests.support.messages import message, write
from tests.support.slackbot import running_bot, text_of


async def test_next_joint_step_is_set_in_a_modal_and_shown_on_the_post(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        post = await claimed(bot, scenario)
        await bot.click(blocks.NEXT_STEP, user="U0REP1", value="ACME-1", ref_post=post)
        opened = await bot.slack.wait_for("views.open")
        assert opened[0]["view"]["callback_id"] == blocks.NEXT_STEP_MODAL
        assert opened[0]["view"]["private_metadata"] == "ACME-1"
        values = {
            "step": {"text": {"type": "plain_text_input", "value": "Joint call with Dana & Jane"}},
            "due": {"date": {"type": "datepicker", "selected_date": "2031-01-15"}},
        }
        answer = await bot.submit(blocks.NEXT_STEP_MODAL, "ACME-1", values, user="U0REP1")
        assert answer.status == 200
        await bot.until("the post to show the step", lambda: "Joint call" in last_update(bot))
        assert "Joint call with Dana &amp; Jane" in last_update(bot)
        assert "2031-01-15" in last_update(bot)
    referral = await shown(scenario, "ACME-1")
    assert referral["next_step"] == "Joint call with Dana & Jane"
    assert referral["next_step_due"].startswith("2031-01-15")
    step = [e for e in referral["events"] if e["kind"] == "next_step"]
    assert step[0]["actor"] == "slack:U0REP1"


def last_update(bot: Any) -> str:
    updates = bot.slack.calls_to("chat.update")
    return text_of(updates[-1]) if updates else ""


async def test_won_asks_for_the_amount_before_it_is_recorded(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await claimed(bot, scenario)
        refused = await bot.submit(blocks.STAGE_MODAL, "ACME-1", stage_values("won"), user="U0REP1")
        # The modal stays open with the error on the amount field (response_action=errors).
        assert refused.status == 200
        assert refused.json() == {
            "response_action": "errors",
            "errors": {"amount": "A won deal needs its amount."},
        }
        assert (await shown(scenario, "ACME-1"))["stage"] == "claimed"
        done = await bot.submit(
            blocks.STAGE_MODAL, "ACME-1", stage_values("won", "48000"), user="U0REP1"
        )
        assert done.status == 200
        await bot.until("the stage", lambda: stage_is(scenario, "won"))
    referral = await shown(scenario, "ACME-1")
    assert (referral["stage"], referral["amount"]) == ("won", 48000.0)


async def test_only_the_rep_group_may_claim(engine: AsyncEngine, scenario: Handoff) -> None:
    async with running_bot(engine, rep_group="S0REPS") as bot:
        bot.slack.usergroups["S0REPS"] = ["U0REP1"]
        await ingest(scenario, INTAKE / "01-acme-gmail-intro-cc-partner-plus-address.eml")
        post = await bot.post_of("ACME-1")
        await bot.click(blocks.CLAIM_SOURCED, user="U0OUTSIDER", value="ACME-1", ref_post=post)
        told = await bot.until("a refusal", lambda: bot.slack.ephemerals)
        assert told[0]["user"] == "U0OUTSIDER"
        assert "Only members of the reps' user group can claim" in told[0]["text"]
        assert (await shown(scenario, "ACME-1"))["owner"] is None
        await bot.click(blocks.CLAIM_INFLUENCED, user="U0REP1", value="ACME-1", ref_post=post)
        await bot.until("the claim", lambda: bot.slack.calls_to("chat.update"))
    referral = await shown(scenario, "ACME-1")
    assert (referral["owner"], referral["role"]) == ("U0REP1", "influenced")


async def test_managers_release_and_change_roles_of_others_referrals_and_reps_may_not(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, managers="U0BOSS,S0LEADS") as bot:
        bot.slack.usergroups["S0LEADS"] = ["U0LEAD"]
        post = await claimed(bot, scenario, user="U0REP1")
        role = "role:attached:ACME-1"
        await bot.click(blocks.CHANGE_ROLE, user="U0REP2", option=role, ref_post=post)
        await bot.click(blocks.CLAIMED_MORE, user="U0REP2", option="release::ACME-1", ref_post=post)
        await bot.until("two refusals", lambda: len(bot.slack.ephemerals) == 2)
        told = bot.slack.ephemerals
        assert all("Only ACME-1's owner <@U0REP1> or a manager" in t["text"] for t in told)
        assert (await shown(scenario, "ACME-1"))["role"] == "sourced"

        await bot.click(blocks.CHANGE_ROLE, user="U0LEAD", option=role, ref_post=post)  # group
        await bot.until("the role", lambda: role_is(scenario, "attached"))
        await bot.click(blocks.CLAIMED_MORE, user="U0BOSS", option="release::ACME-1", ref_post=post)
        await bot.until("the release", lambda: role_is(scenario, None))
        await bot.until("the outbox to empty", lambda: outbox_empty(engine))
        # Released, the post offers the claim buttons again.
        assert blocks.CLAIM_SOURCED in last_update(bot)
    referral = await shown(scenario, "ACME-1")
    assert (referral["owner"], referral["stage"]) == (None, "new")
    kinds = [(e["kind"], e["actor"]) for e in referral["events"]]
    assert ("role_changed", "slack:U0LEAD") in kinds and ("released", "slack:U0BOSS") in kinds


async def role_is(handoff: Handoff, role: str | None) -> bool:
    return (await shown(handoff, "ACME-1"))["role"] == role


async def test_a_rep_reply_all_is_the_first_response_in_the_posts_thread(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        post = await claimed(bot, scenario)
        await ingest(scenario, INTAKE / "09-rep-reply-all-to-01-first-response.eml")
        lines = await bot.until(
            "the first response in the thread",
            lambda: [
                m for m in bot.slack.thread(post["channel"], post["ts"]) if "first" in m["text"]
            ],
        )
        assert "sam.rivera@ours.example" in lines[0]["text"]
        await bot.until("the post to lose its button", lambda: outbox_empty(engine))
        assert blocks.FIRST_RESPONSE not in last_update(bot)


async def test_a_conflicting_intro_warns_on_both_posts(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTAKE / "01-acme-gmail-intro-cc-partner-plus-address.eml")
        first = await bot.post_of("ACME-1")
        await ingest(scenario, INTAKE / "13-globex-intro-same-prospect-as-01-conflict.eml")
        later = await bot.post_of("GLOBEX-1")
        assert "ACME-1" in text_of(later) and "Disputed" in text_of(later)
        await bot.until("the outbox to empty", lambda: outbox_empty(engine))
        earlier = bot.slack.messages[(first["channel"], first["ts"])]
        assert "GLOBEX-1" in text_of(earlier)


async def test_app_home_shows_a_reps_referrals_and_a_managers_queues(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, managers="U0BOSS") as bot:
        await claimed(bot, scenario, user="U0REP1")
        async with engine.begin() as conn:  # a next step whose day is over
            await conn.execute(
                sa.update(Referral.__table__).values(  # type: ignore[attr-defined]
                    next_step="Joint demo", next_step_due=datetime(2024, 5, 3, tzinfo=UTC)
                )
            )
        await ingest(scenario, INTAKE / "02-globex-outlook-intro-iso8859-encoded-name.eml")
        await bot.post_of("GLOBEX-1")
        for user in ("U0REP1", "U0BOSS"):
            answer = await bot.event({"type": "app_home_opened", "user": user, "tab": "home"})
            assert answer.status == 200
        await bot.until("two homes", lambda: len(bot.slack.views) == 2)
    rep = json.dumps(bot.slack.views["U0REP1"], ensure_ascii=False)
    boss = json.dumps(bot.slack.views["U0BOSS"], ensure_ascii=False)
    assert "ACME-1" in rep and "GLOBEX-1" not in rep and "Unclaimed" not in rep
    assert "Unclaimed" in boss and "GLOBEX-1" in boss and "Disputed" in boss
    overdue = boss[boss.index("Overdue next steps") :]
    assert "ACME-1" in overdue and "Joint demo" in overdue and "due Fri 2024-05-03" in overdue


async def test_a_manager_dismisses_what_waits_in_triage_from_app_home(
    engine: AsyncEngine, scenario: Handoff, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    forged = message(sender="Mallory <mallory@evil.example>")
    await ingest(scenario, write(tmp_path, "forged.eml", forged))
    [waiting] = await asyncio.to_thread(scenario.json, "triage")
    button = f"triage_dismiss:{waiting['id']}"
    async with running_bot(engine, managers="U0BOSS") as bot:
        for user in ("U0BOSS", "U0REP1"):
            bot.slack.users[user] = {"id": user, "name": user.lower(), "tz": "UTC"}
        await bot.event({"type": "app_home_opened", "user": "U0BOSS", "tab": "home"})
        await bot.until("the manager's home", lambda: "U0BOSS" in bot.slack.views)
        home = json.dumps(bot.slack.views["U0BOSS"], ensure_ascii=False)
        assert f"rejected #{waiting['id']} from mallory@evil.example" in home and button in home
        # A rep may not; a manager may.
        await bot.click(button, user="U0REP1", value=str(waiting["id"]))
        refusal = await bot.until("the refusal", lambda: bot.slack.dms("U0REP1"))
        assert "Only partner managers can dismiss" in text_of(refusal[0])
        await bot.click(button, user="U0BOSS", value=str(waiting["id"]))
        await bot.until(
            "the home without it",
            lambda: button not in json.dumps(bot.slack.views["U0BOSS"]),
        )
    assert await asyncio.to_thread(scenario.json, "triage") == []


async def test_attribution_answers_with_help_not_an_error(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    from bot.demo.standin.signing import command_body

    async with running_bot(engine) as bot:
        body = command_body(
            command="/attribution",
            text="help",
            user_id="U0REP1",
            team_id="T0TEAM",
            channel_id="C0INTROS",
            trigger_id="1.2.3",
            response_url=bot.slack.response_url(),
        )
        answer = await bot.send(body)
    assert answer.status == 200
    assert answer.json()["response_type"] == "ephemeral"
    help_text = answer.json()["text"]
    assert "/attribution export" in help_text and "/attribution set ACME-12" in help_text


async def test_a_modal_opens_only_for_someone_allowed_to_submit_it(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine, managers="U0BOSS") as bot:
        post = await claimed(bot, scenario, user="U0REP1")
        await bot.click(blocks.UPDATE_STAGE, user="U0REP2", value="ACME-1", ref_post=post)
        await bot.click(
            blocks.CLAIMED_MORE, user="U0REP1", option="reassign::ACME-1", ref_post=post
        )
        await bot.until("two refusals", lambda: len(bot.slack.ephemerals) == 2)
        # Two clicks at once: each gets its own refusal, in whichever order they finish.
        assert sorted(e["text"] for e in bot.slack.ephemerals) == [
            "Only ACME-1's owner <@U0REP1> or a manager can change it.",
            "Only managers can reassign referrals.",
        ]
        assert bot.slack.calls_to("views.open") == []
        await bot.click(
            blocks.CLAIMED_MORE, user="U0BOSS", option="reassign::ACME-1", ref_post=post
        )
        opened = await bot.slack.wait_for("views.open")
        assert opened[0]["view"]["callback_id"] == blocks.REASSIGN_MODAL
        values = {"owner": {"user": {"type": "users_select", "selected_user": "U0REP2"}}}
        await bot.submit(blocks.REASSIGN_MODAL, "ACME-1", values, user="U0BOSS")
        await bot.until("the post to show the new owner", lambda: "<@U0REP2>" in last_update(bot))
    referral = await shown(scenario, "ACME-1")
    assert referral["owner"] == "U0REP2"
    assert any(
        e["kind"] == "reassigned" and e["actor"] == "slack:U0BOSS" for e in referral["events"]
    )
