"""Referrals that did not come by email (issue 23, part 2), through `handoff serve`: the message
shortcut opens the modal with the message's address and permalink, its submission creates and
posts the referral (claimed for the rep who asked), the partner is asked "did you introduce …?"
over real SMTP, and its reply confirms the referral; /referral opens the same modal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.db import session_factory
from bot.demo.standin.signing import message_action, slash_command
from bot.demo.standin.smtp import SmtpServer
from bot.models import Referral
from bot.referrals.partners import add_partner
from bot.slack.log_modal import LOG_MODAL, LOG_SHORTCUT
from tests.support.digests import reply
from tests.support.dovecot import Dovecot
from tests.support.slackbot import Bot, running_bot, text_of

DANA = "dana@acmeconsulting.example"
REP = "U0REP1"
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]


class Loop(NamedTuple):
    bot: Bot
    smtp: SmtpServer
    append: Callable[[bytes], Awaitable[object]]  # a message into the partner mailbox


@pytest.fixture
async def bot(engine: AsyncEngine, dovecot_server: Dovecot, user: str) -> AsyncIterator[Loop]:
    """`handoff serve` with the Slack stand-in, aiosmtpd for partner mail and Dovecot for the
    partner mailbox."""
    async with session_factory(engine)() as session:
        await add_partner(
            session=session,
            slug="acme",
            name="Acme Consulting",
            addresses=[],
            contacts=[DANA],
            domains=["acmeconsulting.example"],
        )
        await session.commit()
    smtp = SmtpServer().start()
    try:
        async with running_bot(
            engine,
            imap_url=dovecot_server.url(user),
            smtp_url=smtp.url,
            partner_mailbox="partners@ours.example",
            mail_from="Ours Partnerships <partners@ours.example>",
            secret="test-secret-" + "x" * 20,
            internal_domains="ours.example",
        ) as running:
            running.slack.users[REP] = {
                "id": REP,
                "name": "sam",
                "real_name": "Sam Rivera",
                "tz": "UTC",
                "profile": {"display_name": "Sam Rivera", "email": "sam.rivera@ours.example"},
            }
            yield Loop(running, smtp, lambda raw: dovecot_server.append(user, raw))
    finally:
        smtp.stop()


def values(**fields: Any) -> dict[str, Any]:
    """The modal's state as Slack submits it."""
    state: dict[str, Any] = {
        "partner": {"partner": {"type": "static_select", "selected_option": {"value": "acme"}}},
        "email": {"email": {"type": "plain_text_input", "value": "jane.doe@hooli.example"}},
        "name": {"name": {"type": "plain_text_input", "value": "Jane Doe"}},
        "company": {"company": {"type": "plain_text_input", "value": "Hooli"}},
        "action": {"action": {"type": "static_select", "selected_option": {"value": "event"}}},
        "when": {"date": {"type": "datepicker", "selected_date": "2026-12-01"}},
        "note": {"note": {"type": "plain_text_input", "value": "Dana introduced us at dinner"}},
        "claim": {"claim": {"type": "static_select", "selected_option": {"value": "sourced"}}},
    }
    for block, value in fields.items():
        key = next(iter(state[block]))
        if block in ("partner", "action", "claim"):
            state[block][key]["selected_option"] = {"value": value} if value else None
        elif block == "when":
            state[block][key]["selected_date"] = value
        else:
            state[block][key]["value"] = value
    return state


async def test_a_message_logged_as_a_referral_is_posted_claimed_and_confirmed_by_the_partner(
    engine: AsyncEngine, bot: Loop
) -> None:
    slack, smtp = bot.bot, bot.smtp
    said = "Met Jane Doe (jane.doe@hooli.example) at the Acme dinner; Dana introduced us."
    ts = slack.slack.say("C0SALES", REP, said)
    shortcut = message_action(
        LOG_SHORTCUT,
        user=REP,
        channel="C0SALES",
        message_ts=ts,
        text=said,
        author=REP,
        response_url=slack.slack.response_url(),
    )
    assert (await slack.send(shortcut)).status == 200
    [opened] = await slack.slack.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == LOG_MODAL
    shown = json.dumps(view)
    assert '"initial_value": "jane.doe@hooli.example"' in shown  # the outside address
    assert "Acme Consulting" in shown
    proof = json.loads(view["private_metadata"])["proof_url"]
    assert proof.startswith("https://") and "C0SALES" in proof

    answer = await slack.submit(LOG_MODAL, view["private_metadata"], values(), user=REP)
    assert answer.status == 200, answer.text

    def posted() -> dict[str, Any] | None:
        for (channel, ts), message in slack.slack.messages.items():
            if channel.startswith("C") and "ACME-1" in message.get("text", ""):
                return {"channel": channel, "ts": ts, **message}
        return None

    post = await slack.until("ACME-1 to be posted in the channel", posted)
    text = text_of(post)
    assert "logged in Slack" in text and proof in text
    assert "awaiting the partner's confirmation" in text
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(referral))).one()
    assert (row.owner, row.role, row.stage) == (REP, "sourced", "claimed")
    assert (row.action_type, row.logged_by, row.proof_url) == ("event", REP, proof)
    assert row.action_at == datetime(2026, 12, 1, tzinfo=UTC)
    # The rep hears it is theirs.
    await slack.until(
        "the rep's note", lambda: any("ACME-1" in m.get("text", "") for m in slack.slack.dms(REP))
    )

    # Dana is asked, by email, and answers yes.
    await slack.until("the question to Dana", lambda: smtp.inbox.received)
    [asked] = smtp.inbox.received
    assert asked.rcpt_tos == [DANA]
    assert str(asked.message["Subject"]) == "Did you introduce Jane Doe (Hooli)? (ACME-1)"
    assert "(event, Tue 2026-12-01)" in " ".join(asked.part("plain").split())
    # Dana's answer reaches the partner mailbox, which serve watches (Dovecot).
    await bot.append(reply(asked, "Yes, I introduced them at our dinner."))

    async def answered() -> bool:
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(referral))).one()
        return row.confirmed_at is not None

    await slack.until("Dana's answer to confirm ACME-1", answered, seconds=20)
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(referral))).one()
    assert row.confirmed_at is not None and row.confirm_message_id

    async def confirmed() -> bool:
        current = slack.slack.messages[(post["channel"], post["ts"])]
        return "confirmed by the partner" in text_of(current)

    await slack.until("the post to say it is confirmed", confirmed)


async def test_the_modal_asks_again_for_a_bad_address_or_a_future_day(
    bot: Loop,
) -> None:
    slack = bot.bot
    later = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    answer = await slack.submit(
        LOG_MODAL, "{}", values(email="jane at hooli", when=later, partner=None), user=REP
    )
    assert answer.status == 200
    errors = answer.json()["errors"]
    assert set(errors) == {"email", "when", "partner"}
    assert "email address" in errors["email"]


async def test_slash_referral_opens_the_modal_with_the_address_given(
    bot: Loop,
) -> None:
    slack = bot.bot
    body = slash_command(
        "/referral",
        "ann@initech.example",
        user=REP,
        channel="C0SALES",
        response_url=slack.slack.response_url(),
    )
    assert (await slack.send(body)).status == 200
    [opened] = await slack.slack.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == LOG_MODAL
    assert '"initial_value": "ann@initech.example"' in json.dumps(view)


async def test_only_reps_and_managers_may_log_a_referral(engine: AsyncEngine, bot: Loop) -> None:
    from bot.intake.logged import Logged, log_referral
    from bot.referrals.acting import Actor, Refused
    from bot.vocabulary import ActionType

    assert await bot.bot.up()  # serve runs; the refusal is the domain's, whoever asks
    logged = Logged(
        "acme", "jane.doe@hooli.example", None, None, ActionType.EVENT, datetime.now(UTC).date()
    )
    with pytest.raises(Refused, match="Only reps and partner managers"):
        await log_referral(
            engine=engine,
            actor=Actor("UGUEST", may_claim=False),
            at=datetime.now(UTC),
            request="guest-1",
            logged=logged,
            settings=load_settings(internal_domains="ours.example"),
        )
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(referral))).scalar() == 0
