"""A partner's answer about a referral logged in Slack confirms it, unless it says no; an
emailed intro needs no confirming."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Referral
from bot.referrals.confirmations import confirm
from tests.support.world import T0, add_partner, add_referral

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]


async def answer(engine: AsyncEngine, referral_id: int, text: str) -> bool:
    async with engine.begin() as conn:
        return await confirm(
            conn,
            referral_id,
            text=text,
            actor="email:dana@acme.example",
            at=T0,
            message_id="<answer@acme.example>",
        )


async def test_yes_or_any_answer_confirms_a_no_does_not(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    denied = await add_referral(engine, acme, action_type="event")
    for no in ("No, that wasn't us.", "Nope", "not me, sorry", "We didn't introduce them"):
        assert not await answer(engine, denied, no)
    yes = await add_referral(engine, acme, action_type="intro_call")
    assert await answer(engine, yes, "Happy to confirm, I set up that call")
    assert not await answer(engine, yes, "Yes")  # confirmed once
    emailed = await add_referral(engine, acme)
    assert not await answer(engine, emailed, "Yes")
    async with engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(sa.select(referral))}
    assert rows[denied].confirmed_at is None
    assert rows[yes].confirmed_at == T0 and rows[yes].confirm_message_id == "<answer@acme.example>"
    assert rows[emailed].confirmed_at is None
