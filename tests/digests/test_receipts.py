"""Receipts: the partner hears at once that an intro is registered, who owns it, and that a
prospect was registered already (without the other partner's name), through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from bot.db import session_factory
from bot.demo.standin.smtp import Delivered
from bot.digests.partner_mail import PartnerMail
from bot.mail.outgoing import Postman
from bot.mail.smtp import Mailer
from bot.models import utcnow
from bot.outbox import Outbox
from bot.referrals.acting import Actor
from bot.referrals.actions import claim
from bot.referrals.partners import add_partner
from bot.vocabulary import Role
from tests.support.digests import DANA, LEE, Names, World, mail, reply
from tests.support.messages import message

GLOBEX = "gus@globex.example"


async def deliver(world: World) -> list[Delivered]:
    """Record and send every partner email due; what the SMTP server has received since."""
    before = len(world.smtp.inbox.received)
    mailer = Mailer(world.settings.smtp)  # type: ignore[arg-type]
    handlers = (
        Postman(world.engine, mailer, world.settings).handlers()
        | PartnerMail(world.engine, world.settings, Names()).handlers()
    )
    box = Outbox(world.engine, handlers)
    try:
        await box.drain(within=20)
        await box.drain(within=20)  # the email jobs the receipts recorded
    finally:
        await mailer.close()
    return world.smtp.inbox.received[before:]


async def receipts(world: World, *, on: bool) -> None:
    """`handoff partners add acme --receipts` / `--no-receipts`."""
    async with session_factory(world.engine)() as session:
        await add_partner(
            session=session,
            slug="acme",
            name=None,
            addresses=[],
            contacts=[],
            domains=[],
            receipts=on,
        )
        await session.commit()


def intro(sender: str = f"Dana Scully <{DANA}>", cc: str = "partners+acme@ours.example") -> bytes:
    return message(
        sender=sender,
        to="Jane Doe <jane.doe@hooli.example>",
        cc=f"{cc}, Sam Rivera <sam.rivera@ours.example>",
        subject="Intro: Jane (Hooli) <> Sam (Ours)",
    )


async def test_an_intro_gets_a_receipt_at_once_and_a_reply_to_it_lands_on_the_referral(
    world: World,
) -> None:
    result = await world.ingest(intro())
    assert result.kind == "new_intro"
    got = await deliver(world)
    assert sorted(d.rcpt_tos[0] for d in got) == [DANA, LEE]
    receipt = next(d for d in got if d.rcpt_tos == [DANA])
    assert str(receipt.message["Subject"]).startswith(f"{result.referral} registered: Jane Doe")
    text = " ".join(receipt.part("plain").split())
    # "ACME-3: Jane Doe (Hooli) registered to Acme Consulting at Mon 2026-12-07 12:05 UTC,
    # protected until Sun 2027-03-07."
    until = (utcnow() + timedelta(days=90)).date().isoformat()
    assert re.search(
        rf"{result.referral}: Jane Doe.* registered to Acme Consulting at "
        rf"\w{{3}} \d{{4}}-\d\d-\d\d \d\d:\d\d UTC, protected until \w{{3}} {until}\.",
        text,
    ), text
    assert receipt.message["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" in receipt.message
    # Answering it is answering about that referral.
    answered = await world.ingest(reply(receipt, "Great, Jane expects your call on Tuesday."))
    assert (answered.kind, answered.referral) == ("digest_reply", result.referral)
    assert (result.referral, "Great, Jane expects your call on Tuesday.") in await world.events()
    # One receipt per event: running the outbox again sends nothing more.
    assert await deliver(world) == []


async def test_a_claim_tells_the_partner_who_owns_it(world: World) -> None:
    result = await world.ingest(intro())
    await deliver(world)
    assert result.referral is not None
    await claim(
        engine=world.engine,
        ref=result.referral,
        actor=Actor("USAM", may_claim=True),
        role=Role.SOURCED,
        at=utcnow(),
        request="claim-1",
    )
    got = await deliver(world)
    assert sorted(d.rcpt_tos[0] for d in got) == [DANA, LEE]
    owned = got[0]
    assert str(owned.message["Subject"]) == f"{result.referral}: Sam Rivera owns it"
    assert f"Sam Rivera owns {result.referral}" in " ".join(owned.part("plain").split())


async def test_a_second_partner_hears_the_prospect_was_registered_without_the_first_named(
    world: World,
) -> None:
    async with session_factory(world.engine)() as session:
        await add_partner(
            session=session,
            slug="globex",
            name="Globex Partners",
            addresses=[],
            contacts=[GLOBEX],
            domains=[],
        )
        await session.commit()
    first = await world.ingest(intro())
    await deliver(world)
    second = await world.ingest(intro(sender=f"Gus <{GLOBEX}>", cc="partners+globex@ours.example"))
    assert second.conflict_with == first.referral
    got = await deliver(world)
    assert [d.rcpt_tos[0] for d in got] == [GLOBEX]
    text = " ".join(got[0].part("plain").split())
    today = utcnow().date().isoformat()
    assert re.search(rf"This prospect was already registered with us on \w{{3}} {today}\.", text)
    assert second.referral in text
    # The first partner's name, ref and people appear nowhere in it.
    for secret in ("Acme", "acme", str(first.referral), DANA):
        assert secret not in got[0].part("plain") and secret not in got[0].part("html")
    assert "already registered" in str(got[0].message["Subject"])


async def test_receipts_follow_the_partner_setting_and_skip_old_backfilled_intros(
    world: World,
) -> None:
    await receipts(world, on=False)
    assert (await world.ingest(intro())).kind == "new_intro"
    assert await deliver(world) == []
    await receipts(world, on=True)
    # An intro that arrived long ago (a backfill of an old mailbox) is registered silently.
    old = utcnow() - timedelta(days=30)
    result = await world.ingest_at(
        message(sender=f"Dana Scully <{DANA}>", to="Ann <ann@initech.example>"), old
    )
    assert result.kind == "new_intro"
    assert await deliver(world) == []
    async with world.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(mail)) == 0


async def test_a_claim_by_a_rep_slack_will_not_name_waits_then_says_the_team_owns_it(
    world: World,
) -> None:
    import pytest

    from bot.outbox import Job, Retry
    from bot.vocabulary import EventKind

    result = await world.ingest(intro())
    await deliver(world)
    assert result.referral is not None
    await claim(
        engine=world.engine,
        ref=result.referral,
        actor=Actor("UNKNOWN", may_claim=True),
        role=Role.SOURCED,
        at=utcnow(),
        request="claim-2",
    )
    async with world.engine.connect() as conn:
        event_id = await conn.scalar(
            sa.text("SELECT id FROM event WHERE kind = :k"), {"k": str(EventKind.CLAIMED)}
        )
    handler = PartnerMail(world.engine, world.settings, Names())

    def job(attempts: int) -> Job:
        return Job(1, "partner_mail", None, event_id, attempts, False)

    with pytest.raises(Retry, match="the owner's name is not known yet"):
        await handler.record(job(1))
    note = await handler.record(job(4))
    assert note is not None and "receipt" in note
    async with world.engine.connect() as conn:
        subjects = [
            r.subject
            for r in await conn.execute(
                sa.select(mail.c.subject).where(mail.c.event_id == event_id)
            )
        ]
    assert subjects == [f"{result.referral}: claimed"] * 2  # to Dana and to Lee


async def test_a_backfill_without_slack_emails_no_partner(world: World) -> None:
    assert (await world.ingest_at(intro(), None, slack=False)).kind == "new_intro"
    assert await deliver(world) == []
