"""Partner digests through a real SMTP server, and replies to them through intake."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from bot.db import session_factory
from bot.demo.standin.smtp import Delivered
from bot.mail.outgoing import Postman
from bot.mail.smtp import Mailer
from bot.models import utcnow
from bot.outbox import Outbox
from tests.support.digests import (
    DANA,
    LEE,
    MONDAY_9,
    Names,
    World,
    mail,
    outbox,
    reply,
    sent_digest,
)
from tests.support.world import add_referral


async def test_the_monday_digest_reaches_each_contact_once_with_its_headers(world: World) -> None:
    run = await sent_digest(world)
    assert [(p.partner, p.recipients) for p in run.planned] == [("acme", (DANA, LEE))]
    got = {d.rcpt_tos[0]: d for d in world.smtp.inbox.received}
    assert sorted(got) == [DANA, LEE]
    dana = got[DANA].message
    assert dana["Auto-Submitted"] == "auto-generated"
    assert dana["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert re.fullmatch(r"partners\+r-\d+-0-[0-9a-f]{16}@ours\.example", str(dana["Reply-To"]))
    assert re.fullmatch(
        r"<mailto:partners\+u-\d+-[0-9a-f]{16}@ours\.example\?subject=unsubscribe>",
        str(dana["List-Unsubscribe"]).strip(),
    )
    # Each contact unsubscribes only itself.
    assert dana["List-Unsubscribe"] != got[LEE].message["List-Unsubscribe"]
    # The Message-ID carries the reply token and is recorded with the mail.
    token = str(dana["Reply-To"]).split("+r-")[1].split("@")[0]
    assert token in str(dana["Message-ID"])
    async with world.engine.connect() as conn:
        recorded = (
            await conn.execute(sa.select(mail.c.message_id, mail.c.status, mail.c.recipient))
        ).all()
    assert {(f"<{r.message_id}>", r.status) for r in recorded if r.recipient == DANA} == {
        (str(dana["Message-ID"]), "sent")
    }
    # Delivery reports come back to the mail's own address (the envelope sender).
    assert got[DANA].mail_from == str(dana["Reply-To"])
    text, html = got[DANA].part("plain"), got[DANA].part("html")
    for shown in ("ACME-1", "ACME-2", "Wayne Enterprises", "Sam Rivera", "Demo with their CTO"):
        assert shown in text and shown in html
    assert "mailto:partners+r-" in html  # "reply about ACME-1"

    # The same slot again, and a later run the same week: nothing more is sent.
    again = await world.digests().sweep(as_of=MONDAY_9 + timedelta(hours=5))
    assert again.planned == [] and again.job_ids == []
    await world.deliver()
    assert len(world.smtp.inbox.received) == 2


async def test_a_week_without_news_sends_nothing_unless_asked(world: World) -> None:
    await sent_digest(world)
    quiet = await world.digests().sweep(as_of=MONDAY_9 + timedelta(days=7, minutes=1))
    assert [(p.recipients, p.why_not) for p in quiet.planned] == [((), "nothing new")]
    forced = await world.digests().send(
        "acme", as_of=MONDAY_9 + timedelta(days=7, hours=1), always=True
    )
    assert forced.planned[0].recipients == (DANA, LEE)
    await world.deliver()
    assert len(world.smtp.inbox.received) == 4


async def test_a_reply_lands_on_the_referral_it_names_and_in_its_thread(world: World) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    result = await world.ingest(reply(digest, "Great news: ACME-2 wants a call next week."))
    assert (result.kind, result.referral, result.reason) == ("digest_reply", "ACME-2", None)
    assert await world.events() == [("ACME-2", "Great news: ACME-2 wants a call next week.")]
    async with world.engine.connect() as conn:
        threaded = await conn.scalar(
            sa.select(sa.func.count()).where(
                outbox.c.kind == "slack_thread", outbox.c.referral_id == world.refs["ACME-2"]
            )
        )
    assert threaded == 1
    # The same reply delivered twice is one event.
    again = await world.ingest(reply(digest, "Great news: ACME-2 wants a call next week."))
    assert again.kind == "duplicate"
    assert len(await world.events()) == 1


async def test_reply_about_one_referral_and_without_reply_to(world: World) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    about = re.search(r"Reply about ACME-1: (\S+)", digest.part("plain"))
    assert about is not None
    result = await world.ingest(reply(digest, "They loved the demo.", to=about.group(1)))
    assert (result.kind, result.referral) == ("digest_reply", "ACME-1")
    # A client that dropped Reply-To answers From: the digest's Message-ID still routes it,
    # here to the referral named.
    bare = await world.ingest(reply(digest, "ACME-1: budget approved.", to="partners@ours.example"))
    assert (bare.kind, bare.referral) == ("digest_reply", "ACME-1")
    assert [ref for ref, _ in await world.events()] == ["ACME-1", "ACME-1"]


async def test_what_is_not_applied_is_kept_for_managers(world: World) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    reply_to = str(digest.message["Reply-To"])
    forged = re.sub(r"-[0-9a-f]{16}@", "-0123456789abcdef@", reply_to)
    cases = {
        "forged token": reply(digest, "ACME-1 is lost.", to=forged),
        # Reply-To naming Dana does not make Eve Dana: From decides.
        "wrong sender": reply(
            digest,
            "ACME-1 is lost.",
            sender="Eve <eve@evil.example>",
            headers={"Reply-To": DANA},
        ),
        "names nothing": reply(digest, "Thanks for the update, all good here."),
    }
    results = {name: await world.ingest(raw) for name, raw in cases.items()}
    assert {n: r.kind for n, r in results.items()} == dict.fromkeys(cases, "digest_reply")
    assert "does not verify" in (results["forged token"].reason or "")
    assert "eve@evil.example is not one of acme's contacts" in (
        results["wrong sender"].reason or ""
    )
    assert "names no referral" in (results["names nothing"].reason or "")
    assert await world.events() == []
    async with session_factory(world.engine)() as session:
        from bot.referrals.lookup import triage

        waiting = await triage(session=session)
    assert len([t for t in waiting if t["kind"] == "digest_reply"]) == 3


async def test_out_of_office_answers_and_bounces_never_become_events(world: World) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    ooo = await world.ingest(
        reply(digest, "I am out until Monday.", headers={"Auto-Submitted": "auto-replied"})
    )
    assert ooo.kind == "auto_reply"
    # From a contact, with no header but the subject: still an auto-reply to our digest.
    subject = await world.ingest(
        reply(digest, "Back on the 5th. ACME-1 questions to Mo.", subject="Out of Office: Re: x")
    )
    assert subject.kind == "auto_reply"
    lee = world.smtp.inbox.to(LEE)[0]
    bounce = await world.ingest(dsn(lee, LEE))
    assert bounce.kind == "bounce"
    assert "contact marked" in (bounce.reason or "")
    assert await world.events() == []
    assert (await world.contact(LEE)).bounced_at is not None
    # The next digest (there is news: ACME-3) goes to Dana only; nothing answers the bounce.
    await add_referral(world.engine, world.partner_id, received=MONDAY_9 + timedelta(days=1))
    await sent_digest(world, MONDAY_9 + timedelta(days=7))
    assert len(world.smtp.inbox.to(DANA)) == 2 and len(world.smtp.inbox.to(LEE)) == 1


async def test_unsubscribe_is_honoured(world: World) -> None:
    await sent_digest(world)
    lee = world.smtp.inbox.to(LEE)[0]
    target = str(lee.message["List-Unsubscribe"]).strip().strip("<>").removeprefix("mailto:")
    target = target.split("?")[0]
    raw = (
        f"From: {LEE}\r\nTo: {target}\r\nSubject: unsubscribe\r\n"
        "Message-ID: <unsub-1@acmeconsulting.example>\r\n\r\nunsubscribe\r\n"
    ).encode()
    result = await world.ingest(raw)
    assert result.kind == "unsubscribe"
    assert (await world.contact(LEE)).unsubscribed_at is not None
    await add_referral(world.engine, world.partner_id, received=MONDAY_9 + timedelta(days=1))
    await sent_digest(world, MONDAY_9 + timedelta(days=7))
    assert len(world.smtp.inbox.to(LEE)) == 1 and len(world.smtp.inbox.to(DANA)) == 2


async def test_smtp_refusals_temporary_and_permanent(world: World) -> None:
    world.smtp.inbox.refuse[LEE] = "550 5.1.1 <lee@acmeconsulting.example>: no such user"
    world.smtp.inbox.refuse[DANA] = "451 4.3.0 try again later"
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    await world.deliver()
    assert world.smtp.inbox.received == []
    lee = await world.contact(LEE)
    assert lee.bounced_at is not None and "550 5.1.1" in lee.bounce_reason
    async with world.engine.connect() as conn:
        rows = {
            r.recipient: (r.status, r.error)
            for r in await conn.execute(sa.select(mail.c.recipient, mail.c.status, mail.c.error))
        }
        waiting = (
            await conn.execute(
                sa.select(outbox.c.last_error).where(
                    outbox.c.kind == "email", outbox.c.done_at.is_(None)
                )
            )
        ).all()
    assert rows[LEE][0] == "refused" and rows[DANA][0] == "queued"
    assert [w.last_error for w in waiting] == ["451 4.3.0 try again later"]
    # The server takes it later: the retry sends it, once.
    del world.smtp.inbox.refuse[DANA]
    async with world.engine.begin() as conn:
        await conn.execute(sa.update(outbox).values(due_at=utcnow() - timedelta(seconds=1)))
    await world.deliver()
    await world.deliver()
    assert [d.rcpt_tos for d in world.smtp.inbox.received] == [[DANA]]


async def test_smtp_down_is_retried(world: World) -> None:
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    world.smtp.stop()
    await world.deliver()
    async with world.engine.connect() as conn:
        errors = [
            r.last_error
            for r in await conn.execute(sa.select(outbox.c.last_error, outbox.c.done_at))
            if r.done_at is None
        ]
    assert len(errors) == 2 and all("unreachable" in (e or "") for e in errors)
    world.smtp.restart()
    async with world.engine.begin() as conn:
        await conn.execute(sa.update(outbox).values(due_at=utcnow() - timedelta(seconds=1)))
    await world.deliver()
    assert sorted(d.rcpt_tos[0] for d in world.smtp.inbox.received) == [DANA, LEE]


def dsn(original: Delivered, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) for our message, as Postfix writes one."""
    message = original.message
    boundary = "DSN-boundary-1"
    return (
        "From: MAILER-DAEMON@mx.acmeconsulting.example (Mail Delivery System)\r\n"
        f"To: {original.mail_from}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.acmeconsulting.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acmeconsulting.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message['Message-ID']}\r\n"
        f"Subject: {message['Subject']}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


async def test_a_partner_who_asked_hears_of_a_meeting_at_once(world: World) -> None:
    from bot.digests.notices import Notices
    from bot.models import Partner
    from bot.referrals.acting import Actor
    from bot.referrals.actions import set_stage
    from bot.vocabulary import Stage

    async with world.engine.begin() as conn:
        await conn.execute(
            sa.update(Partner.__table__).values(stage_emails=True)  # type: ignore[attr-defined]
        )
    at = utcnow()
    sam = Actor("USAM")
    await set_stage(
        engine=world.engine,
        ref="ACME-1",
        actor=sam,
        stage=Stage.OPPORTUNITY,
        amount=None,
        at=at,
        request="r1",
    )
    await set_stage(
        engine=world.engine,
        ref="ACME-1",
        actor=sam,
        stage=Stage.WON,
        amount=12000.0,
        at=at,
        request="r2",
    )
    mailer = Mailer(world.settings.smtp)  # type: ignore[arg-type]
    handlers = (
        Postman(world.engine, mailer, world.settings).handlers()
        | Notices(world.engine, world.settings, Names()).handlers()
    )
    box = Outbox(world.engine, handlers)
    try:
        await box.drain(within=20)
        await box.drain(within=20)  # a retried notice job records nothing twice
    finally:
        await mailer.close()
    # Opportunity is not a stage partners are told of at once; won is.
    got = world.smtp.inbox.received
    assert sorted(d.rcpt_tos[0] for d in got) == [DANA, LEE]
    notice = got[0]
    assert "ACME-1" in str(notice.message["Subject"]) and "won" in str(notice.message["Subject"])
    assert notice.message["Auto-Submitted"] == "auto-generated"
    # Its Reply-To is about that referral: a reply naming nothing lands on ACME-1.
    result = await world.ingest(
        reply(got[0] if got[0].rcpt_tos == [DANA] else got[1], "Fantastic, thank you!")
    )
    assert (result.kind, result.referral) == ("digest_reply", "ACME-1")


def test_a_partner_reply_in_the_thread_mentions_the_owner_and_stays_inert() -> None:
    from bot.slack.thread import thread_line

    line = thread_line(
        "partner_reply",
        f"email:{DANA}",
        "<!channel> She signed! <https://evil.example|x>",
        owner="USAM",
    )
    assert line.startswith(f":envelope_with_arrow: {DANA} replied by email (<@USAM>)")
    assert "<!channel>" not in line and "<https://evil" not in line
    assert "She signed!" in line
