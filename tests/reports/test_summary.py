"""The attribution numbers against a small data set computed by hand, on SQLite and PostgreSQL.

The period is in HANDOFF_TIMEZONE: in New York, 2026-Q4 runs from 2026-10-01 04:00 UTC (EDT)
to 2027-01-01 05:00 UTC (EST), so intros a minute either side of those instants fall on the
side the partner manager's calendar says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.referrals import actions as claims
from bot.referrals.acting import Actor
from bot.reports import render
from bot.reports.listing import referrals, to_csv
from bot.reports.periods import parse_period
from bot.reports.summary import summary
from bot.vocabulary import Role, Stage
from tests.support.world import add_partner, add_referral

NY = ZoneInfo("America/New_York")
AFTER = datetime(2027, 2, 1, tzinfo=UTC)  # the report is read after the quarter
M, H = timedelta(minutes=1), timedelta(hours=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def handled(engine: AsyncEngine, partner_id: int, received: str, **what: object) -> None:
    """A referral received then; claim, response, meeting and opportunity as offsets."""
    start = at(received)
    values: dict[str, object] = {}
    for name in ("claimed_at", "first_response_at", "met_at", "opportunity_at"):
        offset = what.pop(name, None)
        if offset is not None:
            assert isinstance(offset, timedelta)
            values[name] = start + offset
    if what.pop("overridden", False):
        values["role_overridden_at"] = start + H
    await add_referral(engine, partner_id, received=start, **values, **what)


@pytest.fixture
async def quarter(engine: AsyncEngine) -> AsyncEngine:
    acme = await add_partner(engine, "acme", created=at("2026-06-01T00:00:00"))
    globex = await add_partner(engine, "globex", created=at("2026-09-01T00:00:00"))
    await add_partner(engine, "initech", created=at("2026-01-01T00:00:00"))
    # ACME-1: 2026-09-30 23:59 in New York (Q3); 00:00 UTC on Oct 1 would say Q4.
    await handled(engine, acme, "2026-10-01T03:59:00")
    # ACME-2: the first minute of Q4 in New York; claimed in 30 min, answered in 2 h, won.
    await handled(
        engine,
        acme,
        "2026-10-01T04:00:00",
        owner="UREP",
        role="sourced",
        stage="won",
        amount=10_000.0,
        claimed_at=30 * M,
        first_response_at=2 * H,
        met_at=3 * H,
        opportunity_at=4 * H,
    )
    # ACME-3: claimed in 90 min, answered in 5 h, met, then lost.
    await handled(
        engine,
        acme,
        "2026-11-10T12:00:00",
        owner="UREP2",
        role="influenced",
        stage="lost",
        claimed_at=90 * M,
        first_response_at=5 * H,
        met_at=24 * H,
    )
    await handled(engine, acme, "2026-12-31T23:00:00")  # ACME-4: unclaimed
    await handled(engine, acme, "2027-01-01T04:59:00")  # ACME-5: Dec 31 23:59 in New York
    await handled(engine, acme, "2027-01-01T05:00:00")  # ACME-6: Jan 1 00:00 there: Q1
    # GLOBEX-1: claimed in 10 min, answered in 1 h, an opportunity.
    await handled(
        engine,
        globex,
        "2026-10-15T10:00:00",
        owner="UREP",
        role="sourced",
        stage="opportunity",
        claimed_at=10 * M,
        first_response_at=H,
        met_at=2 * H,
        opportunity_at=48 * H,
    )
    # GLOBEX-2: claimed in 60 min, never answered in writing, won 30,000; a manager set its
    # role to influenced.
    await handled(
        engine,
        globex,
        "2026-11-20T10:00:00",
        owner="UREP2",
        role="influenced",
        overridden=True,
        stage="won",
        amount=30_000.0,
        claimed_at=60 * M,
        met_at=3 * H,
        opportunity_at=5 * H,
    )
    await handled(engine, globex, "2026-12-01T10:00:00", role="disputed")  # GLOBEX-3
    return engine


async def test_each_partner_and_the_totals_as_counted_by_hand(quarter: AsyncEngine) -> None:
    period = parse_period("2026-Q4", NY, AFTER)
    async with quarter.connect() as conn:
        found = await summary(conn, period, now=AFTER)
    acme, globex, initech = (found.line(s) for s in ("acme", "globex", "initech"))
    assert acme is not None and globex is not None and initech is not None
    assert [line.partner for line in found.lines] == ["acme", "globex", "initech"]

    assert (acme.received, acme.claimed, acme.unclaimed) == (4, 2, 2)
    assert acme.median_claim_minutes == 60.0  # (30 + 90) / 2
    assert acme.median_first_response_hours == 3.5  # (2 + 5) / 2
    assert (acme.meetings, acme.booking_rate) == (2, 0.5)
    assert (acme.sourced, acme.influenced, acme.disputed, acme.overridden) == (1, 1, 0, 0)
    assert (acme.opportunities, acme.won, acme.lost) == (1, 1, 1)
    assert (acme.revenue, acme.average_deal, acme.conversion) == (10_000.0, 10_000.0, 0.25)
    # First referral ever (ACME-1, in Q3): 122 days 3 h 59 min after registration.
    assert round(acme.days_to_first_referral() or 0, 4) == round(122 + 239 / 1440, 4)
    # As of the quarter's end: the last referral before it is ACME-5, a minute before.
    assert found.as_of == at("2027-01-01T05:00:00")
    assert acme.last_referral_at == at("2027-01-01T04:59:00")

    assert (globex.received, globex.claimed) == (3, 2)
    assert globex.median_claim_minutes == 35.0  # (10 + 60) / 2
    assert globex.median_first_response_hours == 1.0  # only GLOBEX-1 was answered
    assert (globex.meetings, globex.opportunities, globex.won, globex.lost) == (2, 2, 1, 0)
    assert (globex.sourced, globex.influenced, globex.disputed, globex.overridden) == (1, 1, 1, 1)
    assert (globex.revenue, globex.average_deal) == (30_000.0, 30_000.0)
    assert globex.lanes == {"received": (1, 1), "meetings": (1, 1), "won": (0, 1)}

    assert (initech.received, initech.claimed, initech.won) == (0, 0, 0)
    assert initech.median_claim_minutes is None and initech.booking_rate is None
    assert initech.first_referral_at is None and initech.days_to_first_referral() is None

    total = found.totals
    assert (total.received, total.claimed, total.meetings) == (7, 4, 4)
    assert total.median_claim_minutes == 45.0  # 10, 30, 60, 90: (30 + 60) / 2, not a mean
    assert total.median_first_response_hours == 2.0  # 1, 2, 5
    assert (total.sourced, total.influenced, total.disputed, total.overridden) == (2, 2, 1, 1)
    assert (total.opportunities, total.won, total.lost, total.revenue) == (3, 2, 1, 40_000.0)
    assert total.average_deal == 20_000.0 and total.conversion == 2 / 7


async def test_the_period_follows_the_time_zone(quarter: AsyncEngine) -> None:
    async with quarter.connect() as conn:
        new_york = await referrals(conn, parse_period("2026-Q4", NY, AFTER), partner_slug="acme")
        utc = await referrals(conn, parse_period("2026-Q4", ZoneInfo("UTC"), AFTER))
    assert [i.ref for i in new_york] == ["ACME-2", "ACME-3", "ACME-4", "ACME-5"]
    assert [i.ref for i in utc if i.partner == "acme"] == ["ACME-1", "ACME-2", "ACME-3", "ACME-4"]


async def test_json_has_the_keys_the_issue_names_and_the_same_numbers(
    quarter: AsyncEngine,
) -> None:
    period = parse_period("2026-Q4", NY, AFTER)
    async with quarter.connect() as conn:
        data = render.summary_json(await summary(conn, period, now=AFTER))
    acme = data["partners"][0]
    assert acme["partner"] == "acme"
    wanted = {
        "received": 4,
        "claimed": 2,
        "meetings": 2,
        "won": 1,
        "revenue": 10_000.0,
        "sourced": 1,
        "influenced": 1,
        "disputed": 0,
        "median_claim_minutes": 60.0,
        "median_first_response_hours": 3.5,
    }
    assert {key: acme[key] for key in wanted} == wanted
    assert data["totals"]["received"] == 7 and data["period"]["label"] == "2026-Q4"
    assert data["period"]["start"] == "2026-10-01T04:00:00+00:00"


async def test_the_partner_detail_and_export_mark_an_overridden_role(
    quarter: AsyncEngine,
) -> None:
    period = parse_period("2026-Q4", NY, AFTER)
    async with quarter.connect() as conn:
        items = await referrals(conn, period, partner_slug="globex")
    shown = {i.ref: i.role_shown for i in items}
    assert shown == {
        "GLOBEX-1": "Sourced",
        "GLOBEX-2": "Influenced (overridden)",
        "GLOBEX-3": "Disputed",
    }
    assert items[0].minutes_to_claim == 10.0 and items[0].hours_to_first_response == 1.0
    rows = to_csv(items).splitlines()
    assert rows[0].startswith("ref,partner,partner_name,role,role_overridden,stage")
    assert rows[2].startswith("GLOBEX-2,globex,Globex,influenced,yes,won")
    assert len(rows) == 4


async def test_a_spreadsheet_formula_from_an_email_is_not_run(engine: AsyncEngine) -> None:
    acme = await add_partner(engine, "acme")
    await add_referral(
        engine, acme, received=AFTER - H, prospect_name='=HYPERLINK("http://evil.example")'
    )
    period = parse_period("last 7d", ZoneInfo("UTC"), AFTER)
    async with engine.connect() as conn:
        exported = to_csv(await referrals(conn, period))
    assert "'=HYPERLINK" in exported and ",=HYPERLINK" not in exported


async def test_a_meeting_then_a_loss_still_counts_the_meeting(engine: AsyncEngine) -> None:
    acme = await add_partner(engine, "acme")
    now = datetime.now(UTC)
    await add_referral(engine, acme, received=now - H)
    rep = Actor("UREP")
    steps = [(Stage.MEETING, None), (Stage.OPPORTUNITY, None), (Stage.LOST, None)]
    await claims.claim(
        engine=engine, ref="ACME-1", actor=rep, role=Role.SOURCED, at=now, request="c"
    )
    for n, (stage, amount) in enumerate(steps):
        await claims.set_stage(
            engine=engine,
            ref="ACME-1",
            actor=rep,
            stage=stage,
            amount=amount,
            at=now + n * M,
            request=f"s{n}",
        )
    period = parse_period("last 7d", ZoneInfo("UTC"), now)
    async with engine.connect() as conn:
        line = (await summary(conn, period, now=now)).line("acme")
    assert line is not None
    assert (line.meetings, line.opportunities, line.lost, line.won) == (1, 1, 1, 0)
