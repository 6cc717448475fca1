"""A protection window per partner (issue 23, deal-registration rules): `partners add
--protection 60d` overrides HANDOFF_PROTECTION_DAYS for that partner's referrals, and the Slack
post says when protection ends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.slack.blocks import intro_post
from tests.support.arrivals import DAY, FROM_GLOBEX, T0, arrive
from tests.support.handoff import Handoff
from tests.support.messages import message

JANE = "Jane Doe <jane.doe@hooli.example>"


@pytest.mark.parametrize(("acme_window", "disputed"), [("30d", False), ("8w", True)])
async def test_the_first_partners_own_window_decides_a_conflict(
    engine: AsyncEngine, scenario: Handoff, acme_window: str, disputed: bool
) -> None:
    await asyncio.to_thread(scenario, "partners", "add", "acme", "--protection", acme_window)
    first = await arrive(engine, message(to=JANE), T0)
    assert first["referral"] == "ACME-1"
    # Globex introduces Jane 40 days later: inside 8 weeks, outside 30 days.
    later = await arrive(engine, message(to=JANE, **FROM_GLOBEX), T0 + 40 * DAY)
    assert (later["conflict_with"] == "ACME-1") is disputed
    shown = await asyncio.to_thread(scenario.json, "referrals", "show", "ACME-1")
    days = 30 if acme_window == "30d" else 56
    assert shown["protected_until"] == (T0 + days * DAY).isoformat()  # type: ignore[index]
    listed = await asyncio.to_thread(scenario.json, "partners", "list")
    acme = next(p for p in listed if p["slug"] == "acme")  # type: ignore[union-attr]
    assert acme["protection"] == f"{days}d"


async def test_a_partner_without_its_own_window_has_the_default(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    await arrive(engine, message(to=JANE, **FROM_GLOBEX), T0)
    shown = await asyncio.to_thread(scenario.json, "referrals", "show", "GLOBEX-1")
    assert shown["protected_until"] == (T0 + 90 * DAY).isoformat()  # type: ignore[index]


def test_a_window_that_is_not_whole_days_is_refused(scenario: Handoff) -> None:
    scenario("partners", "add", "acme", "--protection", "36h", expect=2)
    assert "--protection '36h': a whole number of days" in scenario.err
    scenario("partners", "add", "acme", "--protection", "soon", expect=2)
    assert "--protection: 'soon' is not a duration" in scenario.err


async def test_the_post_says_when_protection_ends(engine: AsyncEngine, scenario: Handoff) -> None:
    from bot.referrals import cards

    await asyncio.to_thread(scenario, "partners", "add", "acme", "--protection", "60d")
    await arrive(engine, message(to=JANE), T0)
    async with engine.connect() as conn:
        placed = await cards.placed(conn, ref="ACME-1")
    assert placed is not None
    shown = str(intro_post(placed.card, now=T0).blocks)
    assert "protected until Sat 2026-10-31" in shown
