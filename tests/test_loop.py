"""The loop a new user sees: mail lands in the mailbox, the intro is posted, a rep claims it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.slack import blocks
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro
from tests.support.intros import shown
from tests.support.slackbot import running_bot, text_of


async def test_mail_in_the_mailbox_is_posted_and_claimed_in_one_serve(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_server: Dovecot,
    user: str,
) -> None:
    async with running_bot(engine, imap_url=dovecot_server.url(user)) as bot:
        await dovecot_server.append(user, intro(7))
        post = await bot.post_of("ACME-1", seconds=20)
        assert "p7@prospect7.example" in text_of(post)
        await bot.click(blocks.CLAIM_SOURCED, user="U0REP1", value="ACME-1", ref_post=post)
        await bot.until("the claim on the post", lambda: bot.slack.calls_to("chat.update"))
        assert "<@U0REP1>" in text_of(bot.slack.messages[(post["channel"], post["ts"])])
    referral = await shown(scenario, "ACME-1")
    assert (referral["owner"], referral["role"]) == ("U0REP1", "sourced")
