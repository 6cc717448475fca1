"""Company-level overlap (issue 23, deal-registration rules): a second partner's intro of
another person at the same company, inside the window, is flagged for managers as a possible
overlap, never disputed; freemail, the same partner and an old referral are not."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.referrals import cards
from bot.slack.blocks import intro_post
from bot.slack.views import home_view
from tests.support.arrivals import DAY, FROM_GLOBEX, T0, arrive
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.messages import message
from tests.support.slackbot import running_bot

JANE = "Jane Doe <jane.doe@hooli.example>"
BOB = "Bob Ray <bob.ray@hooli.example>"


async def test_another_person_at_the_same_company_is_a_possible_overlap_not_a_dispute(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    first = await arrive(engine, message(to=JANE), T0)
    later = await arrive(engine, message(to=BOB, **FROM_GLOBEX), T0 + 10 * DAY)
    assert (first["referral"], later["referral"]) == ("ACME-1", "GLOBEX-1")
    assert later["conflict_with"] is None  # not the same person: nothing is disputed
    shown = await asyncio.to_thread(scenario.json, "referrals", "show", "GLOBEX-1")
    assert shown["overlap_with"] == "ACME-1"  # type: ignore[index]
    assert shown["role"] is None  # type: ignore[index]
    kinds = [e["kind"] for e in shown["events"]]  # type: ignore[index]
    assert "overlap" in kinds
    overlap = next(e for e in shown["events"] if e["kind"] == "overlap")  # type: ignore[index]
    assert "possible overlap with ACME-1" in overlap["detail"]
    assert "hooli.example" in overlap["detail"]
    # The first referral's timeline says so too; it is not marked.
    first_shown = await asyncio.to_thread(scenario.json, "referrals", "show", "ACME-1")
    assert "overlap" in [e["kind"] for e in first_shown["events"]]  # type: ignore[index]
    assert first_shown["overlap_with"] is None  # type: ignore[index]

    async with engine.connect() as conn:
        placed = await cards.placed(conn, ref="GLOBEX-1")
        home = await cards.home(conn, user="UMANAGER", manager=True, now=T0 + 11 * DAY)
    assert placed is not None
    post = str(intro_post(placed.card, now=T0 + 10 * DAY).blocks)
    assert "Possible overlap with ACME-1 (Acme" in post
    async with engine.connect() as conn:
        earlier = await cards.placed(conn, ref="ACME-1")
    assert earlier is not None
    assert "Possible overlap with GLOBEX-1 (Globex" in str(
        intro_post(earlier.card, now=T0 + 10 * DAY).blocks
    )
    assert [c.ref for c in home.overlaps] == ["GLOBEX-1"]
    view = str(
        home_view(
            mine=[],
            unclaimed=[],
            disputed=[],
            manager=True,
            now=T0 + 11 * DAY,
            overlaps=home.overlaps,
        )
    )
    assert "Possible overlaps (same company)" in view and "possible overlap with ACME-1" in view


async def test_no_overlap_on_freemail_for_the_same_partner_or_outside_the_window(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    await arrive(engine, message(to="Ann <ann@gmail.com>"), T0)
    freemail = await arrive(engine, message(to="Ed <ed@gmail.com>", **FROM_GLOBEX), T0 + DAY)
    await arrive(engine, message(to=JANE), T0)
    same_partner = await arrive(engine, message(to=BOB), T0 + 2 * DAY)
    too_late = await arrive(
        engine, message(to="Cy <cy@hooli.example>", **FROM_GLOBEX), T0 + 100 * DAY
    )
    for result in (freemail, same_partner, too_late):
        shown = await asyncio.to_thread(scenario.json, "referrals", "show", str(result["referral"]))
        assert shown["overlap_with"] is None, result  # type: ignore[index]
        assert "overlap" not in [e["kind"] for e in shown["events"]]  # type: ignore[index]


async def test_through_serve_both_posts_show_the_overlap(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    async with running_bot(engine, imap_url=dovecot_server.url(user)) as bot:
        await dovecot_server.append(user, message(to=JANE))
        first = await bot.post_of("ACME-1")
        await dovecot_server.append(user, message(to=BOB, **FROM_GLOBEX))
        later = await bot.post_of("GLOBEX-1")
        assert "Possible overlap with ACME-1" in str(later["blocks"])

        def updated() -> bool:
            current = bot.slack.messages[(first["channel"], first["ts"])]
            return "Possible overlap with GLOBEX-1" in str(current["blocks"])

        await bot.until("ACME-1's post to name GLOBEX-1", updated)
