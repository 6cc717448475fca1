"""A partner's answer to "did you introduce …?" confirms the referral a rep logged in Slack,
unless it says no; an answer to another of our emails, or about an emailed intro, does not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Mail, Referral
from bot.referrals.confirmations import confirm, confirms
from tests.support.world import T0, add_partner, add_referral

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "answer",
    [
        "Yes",
        "Yes, no problem!",
        "Hi Sam,\nYes I did.",
        "Dear Priya: correct.",
        "Happy to confirm, I set up that call",
        "We did, at the summit",
    ],
)
def test_a_yes_or_any_other_answer_confirms(answer: str) -> None:
    assert confirms(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "No, that wasn't us.",
        "Nope",
        "not me, sorry",
        "We didn't introduce them",
        "Hi Sam, no we did not",
        "Hello,\n\nNo, that was not us.",
        "Never heard of them",
    ],
)
def test_a_no_does_not(answer: str) -> None:
    assert not confirms(answer)


async def asked(engine: AsyncEngine, partner_id: int, referral_id: int, kind: str) -> int:
    async with engine.begin() as conn:
        return int(
            await conn.scalar(
                sa.insert(mail)
                .values(
                    kind=kind,
                    partner_id=partner_id,
                    referral_id=referral_id,
                    recipient="dana@acme.example",
                    status="sent",
                    created_at=T0,
                )
                .returning(mail.c.id)
            )
        )


async def answer(engine: AsyncEngine, referral_id: int, mail_id: int, text: str) -> bool:
    async with engine.begin() as conn:
        return await confirm(
            conn,
            referral_id,
            answered=mail_id,
            text=text,
            actor="email:dana@acme.example",
            at=T0,
            message_id="<answer@acme.example>",
        )


async def test_only_an_answer_to_the_question_about_that_referral_confirms_it(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    logged = await add_referral(engine, acme, action_type="event")
    other = await add_referral(engine, acme, action_type="intro_call")
    question = await asked(engine, acme, logged, "confirm")
    digest = await asked(engine, acme, logged, "digest")
    assert not await answer(engine, logged, digest, "Yes")  # not the question
    assert not await answer(engine, other, question, "Yes")  # the question about another
    assert not await answer(engine, logged, question, "No, that wasn't us.")
    assert await answer(engine, logged, question, "Yes, at our summit")
    assert not await answer(engine, logged, question, "Yes")  # confirmed once
    async with engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(sa.select(referral))}
    assert rows[logged].confirmed_at == T0
    assert rows[logged].confirm_message_id == "<answer@acme.example>"
    assert rows[other].confirmed_at is None
