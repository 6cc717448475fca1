"""The attached lane in the managers' App Home (issue 23): a referral whose partner has done
nothing recorded for HANDOFF_ATTACHED_AFTER is listed there; the partner's next email in its
thread restores it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Referral
from bot.referrals import cards
from bot.slack.views import home_view
from tests.support.arrivals import DAY, T0, arrive
from tests.support.handoff import Handoff
from tests.support.messages import message

JANE = "Jane Doe <jane.doe@hooli.example>"
AFTER = timedelta(days=60)


async def attached(engine: AsyncEngine, now: object) -> list[str]:
    async with engine.connect() as conn:
        home = await cards.home(conn, user="UM", manager=True, now=now, attached_after=AFTER)  # type: ignore[arg-type]
    return [c.ref for c in home.attached]


async def test_a_quiet_partner_moves_to_the_attached_lane_and_back_when_it_writes(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    intro = message(to=JANE, message_id="<intro-1@mail.acmeconsulting.example>")
    await arrive(engine, intro, T0)
    async with engine.begin() as conn:
        await conn.execute(sa.update(Referral.__table__).values(owner="USAM", role="sourced"))  # type: ignore[attr-defined]
    assert await attached(engine, T0 + 59 * DAY) == []
    assert await attached(engine, T0 + 61 * DAY) == ["ACME-1"]
    async with engine.connect() as conn:
        home = await cards.home(
            conn, user="UM", manager=True, now=T0 + 61 * DAY, attached_after=AFTER
        )
    view = str(
        home_view(
            mine=[],
            unclaimed=[],
            disputed=[],
            manager=True,
            now=T0 + 61 * DAY,
            attached=home.attached,
            attached_total=home.attached_total,
        )
    )
    assert "Attached lane (partner quiet)" in view
    assert "last partner action 61d 0h ago" in view
    # The partner writes in the intro's thread on day 61: the lane is restored.
    follow_up = message(
        to=JANE,
        subject="Re: Intro: Jane (Hooli) <> Sam (Ours)",
        body="Jane, did Sam reach you?\n",
        headers={"In-Reply-To": "<intro-1@mail.acmeconsulting.example>"},
    )
    assert (await arrive(engine, follow_up, T0 + 61 * DAY))["kind"] == "thread_reply"
    assert await attached(engine, T0 + 62 * DAY) == []
    assert await attached(engine, T0 + 122 * DAY) == ["ACME-1"]
