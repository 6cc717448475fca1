"""The whole loop in `handoff serve`: an intro, a claim in Slack, the deal made in HubSpot, won
there, and the Slack post and the partner's digest showing it won with its amount."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.hubspot import HubSpotStandIn
from bot.slack import blocks
from tests.crm.test_hubspot import hubspot  # noqa: F401 - a fixture
from tests.support.handoff import Handoff
from tests.support.intros import INTRO, ingest
from tests.support.slackbot import running_bot, text_of


async def test_a_deal_won_in_hubspot_shows_won_in_slack_and_the_digest(
    engine: AsyncEngine,
    scenario: Handoff,
    hubspot: HubSpotStandIn,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await asyncio.to_thread(scenario, "hubspot", "setup")
    async with running_bot(engine, hubspot_sync_every="1s") as bot:
        await ingest(scenario, INTRO)
        post = await bot.post_of("ACME-1")
        await bot.click(blocks.CLAIM_SOURCED, user="U0REP1", value="ACME-1", ref_post=post)
        deal = await bot.until("the deal", lambda: hubspot.deal_by("handoff_ref", "ACME-1"))
        assert deal["properties"]["handoff_slack_url"].endswith(post["ts"].replace(".", ""))
        hubspot.update_deal(deal["id"], dealstage="closedwon", amount="48000")

        async def shown_won() -> bool:
            return "*Amount:* 48,000.00" in text_of(await bot.post_of("ACME-1"))

        await bot.until("the post to show the win", shown_won)
        # The partner's digest, previewed from the command line as an operator does.
        bot.slack.users["U0REP1"] = {
            "id": "U0REP1",
            "name": "sam",
            "tz": "UTC",
            "profile": {"display_name": "Sam Rivera", "email": "sam@ours.example"},
        }
        monkeypatch.setenv("HANDOFF_PARTNER_MAILBOX", "partners@ours.example")
        monkeypatch.setenv("HANDOFF_SECRET", "a-test-secret-of-enough-length")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_API_URL", bot.slack.api_url)
        digest = await asyncio.to_thread(scenario, "digest", "preview", "acme")
    assert "ACME-1 · Jane Doe (Hooli) · Won" in digest
    assert "Amount: 48,000.00" in digest
    # Issue 23's bugs: a won deal waits for no first response, and the owner has a name.
    assert "First response: not recorded" in digest and "awaiting" not in digest
    assert "Owner: Sam Rivera" in digest and "our team" not in digest
