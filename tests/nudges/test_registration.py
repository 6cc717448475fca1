"""Deal-registration clocks (issue 23): a week before protection lapses on an open referral
whose stage has not moved, the owner gets a DM and the partner a "still active?" email; a
referral logged in Slack that its partner has not confirmed in a week is the rep's to chase."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Event, OutboxJob, Referral
from tests.support.world import T0, add_partner, add_referral, nudges, sweeper, update

event: sa.Table = Event.__table__  # type: ignore[attr-defined]
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
DAY = timedelta(days=1)


async def jobs(engine: AsyncEngine) -> list[tuple[str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(outbox.c.kind, outbox.c.target).order_by(outbox.c.id))
        return [(r.kind, r.target) for r in rows]


async def events(engine: AsyncEngine, kind: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(event.c.detail).where(event.c.kind == kind))
        return [r.detail for r in rows]


async def test_protection_about_to_lapse_asks_the_owner_and_the_partner_once(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    claimed = dict(owner="USAM", stage="claimed", claimed_at=T0 - 80 * DAY)
    lapsing = await add_referral(
        engine, acme, received=T0 - 85 * DAY, protected_until=T0 + 5 * DAY, **claimed
    )
    # Moved on (contacted), far from lapsing, or lapsed already: nothing to ask.
    await add_referral(
        engine,
        acme,
        received=T0 - 85 * DAY,
        protected_until=T0 + 5 * DAY,
        **(claimed | {"stage": "contacted"}),
    )
    await add_referral(engine, acme, received=T0, protected_until=T0 + 90 * DAY, **claimed)
    await add_referral(engine, acme, received=T0 - 95 * DAY, protected_until=T0 - 5 * DAY)
    # The later of two partners' intros, disputed: no "still active?" for a claim not its own.
    await add_referral(
        engine,
        acme,
        received=T0 - 85 * DAY,
        protected_until=T0 + 5 * DAY,
        role="disputed",
        stage="new",
    )

    run = await sweeper(engine).run("expiring", as_of=T0)
    assert [(p.due.subject, p.targets) for p in run.planned] == [(lapsing, ("USAM",))]
    assert await nudges(engine) == [("expiring", lapsing, 0)]
    [detail] = await events(engine, "expiry_notice")
    assert detail.startswith(f"protection ends {(T0 + 5 * DAY):%a} {(T0 + 5 * DAY).date()}")
    queued = await jobs(engine)
    assert ("slack_nudge", "USAM") in queued
    assert ("partner_mail", None) in queued  # the partner's "still active?"
    # The next minute, or after a restart: nothing again.
    again = await sweeper(engine).run("expiring", as_of=T0 + timedelta(minutes=1))
    assert again.planned == []
    # A new window (say, a manager extended it) is a new cycle.
    await update(engine, lapsing, protected_until=T0 + 6 * DAY)
    assert len((await sweeper(engine).run("expiring", as_of=T0 + DAY)).planned) == 1


async def test_an_unconfirmed_logged_referral_is_the_reps_after_the_wait(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    logged = dict(action_type="intro_call", logged_by="UREP", owner="UREP", stage="claimed")
    waiting = await add_referral(
        engine, acme, received=T0 - 9 * DAY, confirm_asked_at=T0 - 8 * DAY, **logged
    )
    await add_referral(
        engine,
        acme,
        received=T0 - 9 * DAY,
        confirm_asked_at=T0 - 8 * DAY,
        confirmed_at=T0 - 7 * DAY,
        **logged,
    )
    await add_referral(engine, acme, received=T0 - 2 * DAY, confirm_asked_at=T0 - DAY, **logged)

    run = await sweeper(engine).run("unconfirmed", as_of=T0)
    assert [(p.due.subject, p.targets) for p in run.planned] == [(waiting, ("UREP",))]
    assert await events(engine, "unconfirmed") == ["the partner has not confirmed it in 7d"]
    assert (await sweeper(engine).run("unconfirmed", as_of=T0 + DAY)).planned == []


async def test_the_owners_dm_says_when_protection_ends_and_that_the_partner_was_asked(
    engine: AsyncEngine,
) -> None:
    from bot.nudges.due import gone
    from bot.referrals import cards
    from bot.slack.nudges import nudge_post

    acme = await add_partner(engine)
    rid = await add_referral(
        engine, acme, owner="USAM", stage="claimed", protected_until=T0 + 5 * DAY
    )
    async with engine.connect() as conn:
        placed = await cards.placed(conn, referral_id=rid)
        row = (await conn.execute(sa.select(Referral.__table__))).one()  # type: ignore[attr-defined]
    assert placed is not None
    text = nudge_post("expiring", 0, placed.card, now=T0).text
    assert "protection of ACME-1" in text and "ends Sat 2026-11-28" in text
    assert "Acme was asked by email whether it is still active" in text
    assert gone("expiring", cycle_at=T0 + 5 * DAY, level=0, target="USAM", row=row) is None
    await update(engine, rid, stage="meeting")
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(Referral.__table__))).one()  # type: ignore[attr-defined]
    assert gone("expiring", cycle_at=T0 + 5 * DAY, level=0, target="USAM", row=row) == (
        "ACME-1 moved to meeting"
    )


async def test_serve_asks_the_owner_on_slack_and_the_partner_by_email(engine: AsyncEngine) -> None:
    from datetime import UTC, datetime

    from bot.db import session_factory
    from bot.demo.standin.smtp import SmtpServer
    from bot.referrals.partners import add_partner as register
    from tests.support.slackbot import running_bot, text_of

    async with session_factory(engine)() as session:
        acme, _ = await register(
            session=session,
            slug="acme",
            name="Acme Consulting",
            addresses=[],
            contacts=["dana@acmeconsulting.example"],
            domains=[],
        )
        await session.commit()
    now = datetime.now(UTC)
    assert acme.id is not None
    await add_referral(
        engine,
        acme.id,
        received=now - 85 * DAY,
        owner="UREP",
        stage="claimed",
        claimed_at=now - 84 * DAY,
        first_response_at=now - 83 * DAY,
        protected_until=now + 5 * DAY,
    )
    smtp = SmtpServer().start()
    try:
        async with running_bot(
            engine,
            smtp_url=smtp.url,
            partner_mailbox="partners@ours.example",
            mail_from="Ours Partnerships <partners@ours.example>",
            secret="test-secret-" + "x" * 20,
        ) as bot:
            bot.slack.users["UREP"] = {"id": "UREP", "name": "rep", "tz": "UTC"}
            [dm] = await bot.until("the owner's DM", lambda: bot.slack.dms("UREP"), seconds=20)
            assert "protection of *ACME-1*" in text_of(dm)
            [asked] = await bot.until("the partner's email", lambda: smtp.inbox.received)
    finally:
        smtp.stop()
    assert asked.rcpt_tos == ["dana@acmeconsulting.example"]
    assert str(asked.message["Subject"]) == "ACME-1 Prospect 1: still active?"
    assert "is protected until" in " ".join(asked.part("plain").split())
