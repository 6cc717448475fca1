"""A partner's answer to its digest, end to end: sent through SMTP (aiosmtpd), answered into
the partner mailbox on a real IMAP server (Dovecot), picked up by `handoff serve`."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.digests import DANA, World, outbox, reply, sent_digest
from tests.support.dovecot import Dovecot
from tests.support.imap import serving, until


async def test_a_reply_to_the_digest_in_the_mailbox_lands_on_the_referral_it_names(
    world: World, dovecot_server: Dovecot, user: str
) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    answer = reply(digest, "Good news: ACME-2 signed the NDA, they want a call Thursday.")
    secret = world.settings.secret
    assert secret is not None
    # The reply goes to partners+r-…@ours.example; the mailbox delivers it to the watched
    # folder, and routing is by that plus tag against HANDOFF_PARTNER_MAILBOX.
    async with serving(
        world.engine,
        dovecot_server.url(user),
        partner_mailbox="partners@ours.example",
        secret=secret.get_secret_value(),
    ):
        uid = await dovecot_server.append(user, answer)

        async def applied() -> bool:
            return bool(await world.events())

        await until(applied, "the reply's partner_reply event")
    assert await world.events() == [
        ("ACME-2", "Good news: ACME-2 signed the NDA, they want a call Thursday.")
    ]
    async with world.engine.connect() as conn:
        query = "SELECT kind, source, reason, referral_id FROM inbound_message"
        stored = (await conn.execute(sa.text(query))).one()
        threaded = (
            await conn.execute(
                sa.select(outbox.c.kind, outbox.c.done_at).where(
                    outbox.c.referral_id == world.refs["ACME-2"], outbox.c.kind == "slack_thread"
                )
            )
        ).all()
    assert (stored.kind, stored.reason, stored.referral_id) == (
        "digest_reply",
        None,
        world.refs["ACME-2"],
    )
    assert stored.source.endswith(f";UID={uid}")
    # Its post's thread gets it once Slack is there (serve ran without SLACK_BOT_TOKEN).
    assert [(t.kind, t.done_at) for t in threaded] == [("slack_thread", None)]
