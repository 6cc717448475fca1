"""Meetings count themselves through `handoff serve` (issue 23, part 3): an Outlook invitation
appended to the partner mailbox (Dovecot) moves the referral to a meeting at its start time; the
post in the Slack stand-in says so, and its thread has the line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import count
from tests.support.messages import message
from tests.support.slackbot import running_bot, text_of

INVITATION = Path(__file__).parent.parent / "fixtures" / "calendar" / "03-outlook-invitation.eml"


async def test_an_invitation_in_the_mailbox_books_the_meeting_on_the_post(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    intro = message(
        sender="Hank <hank@globexpartners.example>",
        to="Ines Alvarez <ines.alvarez@contosofreight.example>",
        cc="globex-intros@ours.example",
        subject="Intro: Ines (Contoso Freight) <> Sam",
    )
    async with running_bot(engine, imap_url=dovecot_server.url(user)) as bot:
        await dovecot_server.append(user, intro)
        post = await bot.post_of("GLOBEX-1")
        await dovecot_server.append(user, INVITATION.read_bytes())

        def shows_meeting() -> bool:
            current = bot.slack.messages[(post["channel"], post["ts"])]
            # 10:00 Pacific on 14 January 2027, as the invitation's own VTIMEZONE says.
            return ":calendar: Meeting <!date^" in str(current["blocks"]) and (
                "|2027-01-14 18:00 UTC>" in str(current["blocks"])
            )

        await bot.until("the post to show the meeting", shows_meeting, seconds=20)
        await bot.until(
            "the thread line",
            lambda: any(
                "saw a meeting booked" in text_of(m)
                for m in bot.slack.thread(post["channel"], post["ts"])
            ),
        )
    stage = await count(engine, "SELECT count(*) FROM referral WHERE stage = 'meeting'")
    assert stage == 1
    assert await count(engine, "SELECT count(*) FROM inbound_message WHERE kind = 'meeting'") == 1
