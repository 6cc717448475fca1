"""Slack Connect (issue 19, finding 11): a guest from another workspace sees posts, never acts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.signing import block_actions, event_callback, slash_command
from bot.slack import blocks
from tests.support.handoff import Handoff
from tests.support.intros import INTRO, ingest, shown
from tests.support.slackbot import running_bot

GUEST_TEAM = "T0GUESTS"


async def test_a_guest_from_another_workspace_cannot_claim_ask_or_open_a_home(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with running_bot(engine) as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        click = block_actions(
            blocks.CLAIM_SOURCED,
            user="U0GUEST",
            channel=post["channel"],
            ts=post["ts"],
            response_url=bot.slack.response_url(),
            value="ACME-1",
            team=GUEST_TEAM,
        )
        assert (await bot.send(click)).status == 200
        command = slash_command(
            "/attribution",
            "",
            user="U0GUEST",
            channel=post["channel"],
            response_url=bot.slack.response_url(),
            team=GUEST_TEAM,
        )
        asked = await bot.send(command)
        assert asked.text == "Handoff answers only members of the workspace it is installed in."
        home = {"type": "app_home_opened", "user": "U0GUEST", "user_team": GUEST_TEAM}
        assert (await bot.send(event_callback(home), content_type="application/json")).status == 200
        # A member's click after the guest's: the referral was still unclaimed, and is theirs.
        await bot.click(blocks.CLAIM_SOURCED, user="U0REP1", value="ACME-1", ref_post=post)
        await bot.until("the member's claim", lambda: bot.slack.calls_to("chat.update"))
        assert bot.slack.views == {}
        assert bot.slack.ephemerals == []
        assert bot.slack.responses == []
    referral = await shown(scenario, "ACME-1")
    assert referral["owner"] == "U0REP1"
    assert [e["actor"] for e in referral["events"] if e["kind"] == "claimed"] == ["slack:U0REP1"]
