"""Inline digest answers end to end: intros posted from the mailbox (Dovecot), the digest sent
over SMTP (aiosmtpd), the partner's inline answers appended to the mailbox, and each answer in
its own referral's Slack thread (the stand-in), the owner mentioned where there is one."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.demo.standin.smtp import SmtpServer
from bot.digests.sweep import Digests
from bot.slack import blocks
from tests.support.digests import Names, answered, reply
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro
from tests.support.slackbot import running_bot, text_of

DANA = "dana@acmeconsulting.example"
SECRET = "test-secret-" + "y" * 20


async def test_inline_answers_reach_each_referrals_thread(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str, smtp: SmtpServer
) -> None:
    mail = {
        "smtp_url": smtp.url,
        "partner_mailbox": "partners@ours.example",
        "mail_from": "Ours Partnerships <partners@ours.example>",
        "secret": SECRET,
        "internal_domains": "ours.example",
    }
    async with running_bot(engine, imap_url=dovecot_server.url(user), **mail) as bot:
        await dovecot_server.append(user, intro(1))
        await dovecot_server.append(user, intro(2))
        first, second = await bot.post_of("ACME-1"), await bot.post_of("ACME-2")
        await bot.click(blocks.CLAIM_SOURCED, user="U0REP1", value="ACME-1", ref_post=first)
        await bot.until("the claim", lambda: bot.slack.calls_to("chat.update"))

        settings = load_settings(**mail)
        await Digests(engine, settings, Names()).send("acme", always=True)
        # Dana also got receipts of each intro: the digest is the mail whose subject says so.
        digests = await bot.until(
            "the digest, by SMTP",
            lambda: [d for d in smtp.inbox.to(DANA) if "Acme Consulting:" in d.message["Subject"]],
        )
        body = answered(
            digests[0],
            {
                "ACME-1 ·": "They want a second demo, for the CFO.",
                "ACME-2 ·": "Prospect 2 asked us to wait until January.",
            },
            end="Von meinem iPhone gesendet",
        )
        await dovecot_server.append(user, reply(digests[0], body, sender=DANA, quote=False))

        def replies(post: dict[str, str]) -> list[str]:
            thread = bot.slack.thread(post["channel"], post["ts"])
            return [text_of(m) for m in thread if "replied by email" in text_of(m)]

        await bot.until("ACME-1's answer in its thread", lambda: replies(first), seconds=20)
        await bot.until("ACME-2's answer in its thread", lambda: replies(second))
        await asyncio.sleep(0.5)  # nothing else arrives in either thread
        one, two = replies(first), replies(second)
    assert len(one) == 1 and len(two) == 1
    assert "They want a second demo, for the CFO." in one[0]
    assert "<@U0REP1>" in one[0]  # the owner is told
    assert "January" not in one[0] and "iPhone" not in one[0]
    assert "Prospect 2 asked us to wait until January." in two[0]
    assert "second demo" not in two[0]
