"""Issue 23's report figures, as a partner manager reads them, on SQLite and PostgreSQL: the
attached lane (computed from the partner's last recorded action), won revenue by role, partner
activation, referrals logged in Slack and confirmed by their partner, and the export's columns
about what the partner did.

The period is 2026-Q4 in UTC; read after it, the report is as of its end, 2027-01-01 00:00, so
with HANDOFF_ATTACHED_AFTER at 60 days a referral is attached when its partner did nothing
recorded since 2026-11-02 00:00.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli.reports import report
from bot.reports import render
from bot.reports.listing import CSV_COLUMNS, referrals, to_csv
from bot.reports.periods import parse_period
from bot.reports.summary import Summary, summary
from bot.slack import attribution
from tests.support.world import add_partner, add_referral, settings_of, update

UTC_ZONE = ZoneInfo("UTC")
AFTER = datetime(2027, 2, 1, tzinfo=UTC)  # read after the quarter: as of 2027-01-01 00:00
SIXTY = timedelta(days=60)
ROLE_COLUMNS = ("sourced", "influenced", "assisted_close", "attached", "unattributed", "disputed")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def roles(line: Any) -> dict[str, int]:
    return {name: getattr(line, name) for name in ROLE_COLUMNS}


async def read(
    engine: AsyncEngine, *, now: datetime = AFTER, after: timedelta | None = SIXTY
) -> Summary:
    period = parse_period("2026-Q4", UTC_ZONE, now)
    async with engine.connect() as conn:
        return await summary(conn, period, now=now, attached_after=after)


@pytest.fixture
async def quarter(engine: AsyncEngine) -> AsyncEngine:
    """acme (registered 2026-06-01) and globex (2026-09-01) with referrals in Q4; initech
    (2026-01-01) whose first referral came after the quarter; hooli registered after it."""
    acme = await add_partner(engine, "acme", created=at("2026-06-01T00:00:00"))
    globex = await add_partner(engine, "globex", created=at("2026-09-01T00:00:00"))
    initech = await add_partner(engine, "initech", created=at("2026-01-01T00:00:00"))
    await add_partner(engine, "hooli", created=at("2027-01-10T00:00:00"))
    old = at("2026-10-02T12:00:00")  # the partner did nothing since: lapsed by Nov 2
    # ACME-1: sourced, but a manager set it: never attached. Won 10,000.
    await add_referral(
        engine,
        acme,
        received=old,
        owner="U1",
        role="sourced",
        role_overridden_at=old + timedelta(days=1),
        stage="won",
        amount=10_000.0,
    )
    # ACME-2: claimed as attached, won 5,000 (a closed deal keeps the role it closed with).
    await add_referral(
        engine, acme, received=old, owner="U1", role="attached", stage="won", amount=5000.0
    )
    await add_referral(engine, acme, received=old, owner="U2", role="assisted_close")  # ACME-3
    # ACME-4: never claimed; a rep logged it in Slack (an event), the partner never confirmed.
    await add_referral(
        engine, acme, received=old, action_type="event", action_at=at("2026-09-30T18:00:00")
    )
    # ACME-5: sourced and recent; logged in Slack (an intro call), confirmed, a meeting booked.
    await add_referral(
        engine,
        acme,
        received=at("2026-11-20T09:00:00"),
        owner="U1",
        role="sourced",
        stage="won",
        amount=20_000.0,
        action_type="intro_call",
        action_at=at("2026-11-18T15:00:00"),
        confirmed_at=at("2026-11-21T08:00:00"),
        meeting_at=at("2026-11-25T16:00:00"),
        partner_action_at=at("2026-11-21T08:00:00"),
    )
    # ACME-6: won without a role; the partner wrote in its thread on Dec 1.
    await add_referral(
        engine,
        acme,
        received=at("2026-10-03T12:00:00"),
        stage="won",
        amount=2000.0,
        partner_action_at=at("2026-12-01T10:00:00"),
    )
    g = at("2026-10-05T12:00:00")
    await add_referral(engine, globex, received=g, role="disputed", stage="won", amount=1000.0)
    await add_referral(engine, globex, received=g, role="unattributed")  # GLOBEX-2
    await add_referral(engine, globex, received=g, role="attached")  # GLOBEX-3: a rep said so
    # GLOBEX-4: sourced, logged (a co-selling meeting) and confirmed; the partner acted Dec 10.
    await add_referral(
        engine,
        globex,
        received=at("2026-10-06T12:00:00"),
        role="sourced",
        action_type="co_selling_meeting",
        action_at=at("2026-10-06T09:00:00"),
        confirmed_at=at("2026-10-08T09:00:00"),
        partner_action_at=at("2026-12-10T10:00:00"),
    )
    await add_referral(engine, initech, received=at("2027-01-05T12:00:00"))  # after Q4
    return engine


# The attached lane.


async def test_a_silent_partners_referral_turns_attached_at_the_threshold_and_back(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine, "acme", created=at("2026-06-01T00:00:00"))
    received = at("2026-10-10T12:00:00")
    first = await add_referral(engine, acme, received=received, owner="U1", role="sourced")
    # A deal won as sourced keeps its role however quiet its partner is afterwards.
    globex = await add_partner(engine, "globex", created=at("2026-06-01T00:00:00"))
    await add_referral(
        engine, globex, received=received, owner="U1", role="sourced", stage="won", amount=100.0
    )
    lapse = received + SIXTY  # 2026-12-09 12:00: sixty days without the partner

    at_the_threshold = (await read(engine, now=lapse)).line("acme")
    past_it = (await read(engine, now=lapse + timedelta(minutes=1))).line("acme")
    as_stored = (await read(engine, now=lapse + timedelta(minutes=1), after=None)).line("acme")
    assert at_the_threshold is not None and past_it is not None and as_stored is not None
    assert (at_the_threshold.sourced, at_the_threshold.attached) == (1, 0)
    assert (past_it.sourced, past_it.attached) == (0, 1)
    assert past_it.lanes["received"] == (0, 0), "the chart's sourced bar still counts it"
    assert (as_stored.sourced, as_stored.attached) == (1, 0), "no threshold: roles as stored"
    won = (await read(engine, now=lapse + timedelta(minutes=1))).line("globex")
    assert won is not None and (won.sourced, won.attached) == (1, 0)

    # The partner answers in the thread on Dec 5: sourced again, and for sixty days more.
    await update(engine, first, partner_action_at=at("2026-12-05T10:00:00"))
    back = (await read(engine, now=lapse + timedelta(minutes=1))).line("acme")
    assert back is not None and (back.sourced, back.attached) == (1, 0)
    # Read after the quarter, the report is as of its end (Jan 1): Dec 5 is recent enough.
    later = (await read(engine, now=AFTER)).line("acme")
    assert later is not None and (later.sourced, later.attached) == (1, 0)
    stale = await read(engine, now=at("2026-12-31T23:59:00"), after=timedelta(days=20))
    assert stale.totals.attached == 1  # Dec 5 is more than 20 days before Dec 31


async def test_only_a_partners_own_roles_lapse_never_a_managers_a_dispute_or_unattributed(
    quarter: AsyncEngine,
) -> None:
    found = await read(quarter)
    acme, globex = found.line("acme"), found.line("globex")
    assert acme is not None and globex is not None
    # ACME-1 (a manager's sourced) and ACME-5 (recent) stay; ACME-3 and 4 (open) are attached,
    # ACME-2 was claimed as attached.
    assert roles(acme) == {
        "sourced": 2,
        "influenced": 0,
        "assisted_close": 0,
        "attached": 3,
        "unattributed": 0,
        "disputed": 0,
    }
    assert acme.overridden == 1
    # The partner wrote in GLOBEX-4's thread on Dec 10: still sourced.
    assert roles(globex) == {
        "sourced": 1,
        "influenced": 0,
        "assisted_close": 0,
        "attached": 1,
        "unattributed": 1,
        "disputed": 1,
    }
    assert (found.totals.sourced, found.totals.attached) == (3, 4)
    stored = await read(quarter, after=None)
    assert stored.attached_after is None
    assert roles(stored.line("acme")) == {
        "sourced": 2,
        "influenced": 0,
        "assisted_close": 1,
        "attached": 1,
        "unattributed": 0,
        "disputed": 0,
    }


# Won revenue by role.


async def test_won_revenue_is_split_by_role_per_partner_and_in_total(
    quarter: AsyncEngine,
) -> None:
    found = await read(quarter)
    acme, globex, totals = found.line("acme"), found.line("globex"), found.totals
    assert acme is not None and globex is not None
    assert acme.role_revenue == {
        "sourced": 30_000.0,  # ACME-1 (a manager's) and ACME-5
        "influenced": 0.0,
        "assisted_close": 0.0,
        "attached": 5000.0,  # ACME-2, claimed as attached
        "unattributed": 0.0,
        "disputed": 0.0,
        "none": 2000.0,  # ACME-6, won without a role
    }
    assert globex.role_revenue["disputed"] == 1000.0
    assert totals.role_revenue == {
        "sourced": 30_000.0,
        "influenced": 0.0,
        "assisted_close": 0.0,
        "attached": 5000.0,
        "unattributed": 0.0,
        "disputed": 1000.0,
        "none": 2000.0,
    }
    assert sum(totals.role_revenue.values()) == totals.revenue == 38_000.0
    stored = await read(quarter, after=None)
    assert (stored.totals.role_revenue["influenced"], stored.totals.role_revenue["attached"]) == (
        0.0,
        5000.0,
    )

    data = render.summary_json(found)
    assert (data["totals"]["revenue_sourced"], data["totals"]["revenue_attached"]) == (
        30_000.0,
        5000.0,
    )
    assert data["partners"][0]["revenue_none"] == 2000.0
    assert data["attached_after_days"] == 60.0
    initech = next(p for p in data["partners"] if p["partner"] == "initech")
    assert initech["revenue_sourced"] == 0.0, "a partner without referrals has zeros, not holes"
    rows = list(csv.DictReader(io.StringIO(render.summary_csv(found))))
    assert render.summary_csv(found).startswith(
        "partner,name,received,claimed,unclaimed,median_claim_minutes"
    )
    assert (rows[0]["partner"], rows[0]["revenue_attached"]) == ("acme", "5000.0")
    assert (rows[-1]["name"], rows[-1]["revenue_disputed"]) == ("Total", "1000.0")

    text = render.text_report(found, title="Q4")
    table = text[text.index("Won revenue by role") :].splitlines()
    header = table[1].split()
    assert header[:3] == ["Partner", "Sourced", "Influenced"] and header[-2:] == ["No", "role"]
    acme_row = next(line.split() for line in table if line.startswith("acme"))
    assert acme_row == ["acme", "30k", "0", "0", "5,000", "0", "0", "2,000"]


# Partner activation.


async def test_activation_counts_partners_registered_and_with_a_referral_by_the_periods_end(
    quarter: AsyncEngine,
) -> None:
    found = await read(quarter)
    # Registered by Jan 1: acme, globex, initech (hooli came later). With a referral by then:
    # acme (123.5 days after registering) and globex (34.5); initech's first came on Jan 5.
    assert (found.partners_registered, found.partners_activated) == (3, 2)
    assert found.activation_rate == 2 / 3
    assert found.median_days_to_first_referral == 79.0  # (123.5 + 34.5) / 2
    assert render.summary_json(found)["activation"] == {
        "partners_registered": 3,
        "partners_activated": 2,
        "activation_rate": 0.6667,
        "median_days_to_first_referral": 79.0,
    }
    assert (
        "Partner activation: 2 of 3 registered partners have brought a referral (67%); "
        "median 79d from registration to the first."
    ) in render.text_report(found, title="Q4")
    # Read in February, the quarter is still judged at its end; a period that takes in
    # January counts hooli as registered and initech as active.
    period = parse_period("2026-10-01..2027-01-31", UTC_ZONE, AFTER)
    async with quarter.connect() as conn:
        wider = await summary(conn, period, now=AFTER)
    assert (wider.partners_registered, wider.partners_activated) == (4, 3)


async def test_no_partners_no_activation_rate(engine: AsyncEngine) -> None:
    found = await read(engine)
    assert (found.partners_registered, found.activation_rate) == (0, None)
    assert found.median_days_to_first_referral is None
    assert "0 of 0 registered partners have brought a referral (–); median –" in (
        render.text_report(found, title="Q4")
    )


# Referrals logged in Slack, confirmed or not.


async def test_logged_referrals_confirmed_by_the_partner_and_not(quarter: AsyncEngine) -> None:
    found = await read(quarter)
    acme, globex, totals = found.line("acme"), found.line("globex"), found.totals
    assert acme is not None and globex is not None
    assert (acme.logged, acme.confirmed, acme.unconfirmed) == (2, 1, 1)  # ACME-5 yes, ACME-4 no
    assert (globex.logged, globex.confirmed, globex.unconfirmed) == (1, 1, 0)
    assert (totals.logged, totals.confirmed, totals.unconfirmed) == (3, 2, 1)
    data = render.summary_json(found)
    assert {k: data["totals"][k] for k in ("logged", "confirmed", "unconfirmed")} == {
        "logged": 3,
        "confirmed": 2,
        "unconfirmed": 1,
    }
    text = render.text_report(found, title="Q4")
    assert "Logged in Slack: 3 referrals, 2 confirmed by the partner, 1 unconfirmed." in text
    roles_table = text[text.index("Roles and activity") : text.index("Won revenue")].splitlines()
    header = roles_table[1].split()
    acme_row = next(line.split() for line in roles_table if line.startswith("acme"))
    assert acme_row[header.index("Logged")] == "2"
    assert acme_row[header.index("Confirmed")] == "1"


# The export: what the partner did, and when.


async def test_the_export_says_what_the_partner_did_and_when(quarter: AsyncEngine) -> None:
    period = parse_period("2026-Q4", UTC_ZONE, AFTER)
    async with quarter.connect() as conn:
        items = await referrals(conn, period, partner_slug="acme")
    exported = to_csv(items)
    header = exported.splitlines()[0].split(",")
    assert header[:24] == [
        "ref",
        "partner",
        "partner_name",
        "role",
        "role_overridden",
        "stage",
        "owner",
        "prospect_email",
        "prospect_name",
        "prospect_company",
        "prospect_domain",
        "subject",
        "received_at",
        "claimed_at",
        "minutes_to_claim",
        "first_response_at",
        "hours_to_first_response",
        "met_at",
        "opportunity_at",
        "amount",
        "next_step",
        "next_step_due",
        "conflict_with",
        "last_activity_at",
    ], "the columns other systems read keep their places"
    assert header[24:] == [
        "partner_action_date",
        "partner_action_type",
        "confirmed_at",
        "meeting_at",
    ]
    assert tuple(header) == CSV_COLUMNS
    rows = {r["ref"]: r for r in csv.DictReader(io.StringIO(exported))}
    emailed, logged, unconfirmed = rows["ACME-1"], rows["ACME-5"], rows["ACME-4"]
    assert (emailed["partner_action_type"], emailed["partner_action_date"]) == (
        "intro_email",
        "2026-10-02T12:00:00+00:00",
    )
    assert (emailed["confirmed_at"], emailed["meeting_at"]) == ("", "")
    assert logged["partner_action_type"] == "intro_call"
    assert logged["partner_action_date"] == "2026-11-18T15:00:00+00:00"
    assert logged["confirmed_at"] == "2026-11-21T08:00:00+00:00"
    assert logged["meeting_at"] == "2026-11-25T16:00:00+00:00"
    assert (unconfirmed["partner_action_type"], unconfirmed["confirmed_at"]) == ("event", "")

    # `handoff report --referrals --json` has them too.
    out = io.StringIO()
    await report(
        quarter,
        settings_of(),
        period_text="2026-Q4",
        partner_slug="acme",
        output="json",
        every_referral=True,
        now=AFTER,
        out=out,
    )
    listed = {r["ref"]: r for r in json.loads(out.getvalue())}
    assert (listed["ACME-5"]["partner_action_type"], listed["ACME-1"]["partner_action_type"]) == (
        "intro_call",
        "intro_email",
    )
    assert listed["ACME-5"]["partner_action_date"] == "2026-11-18T15:00:00+00:00"
    assert listed["ACME-5"]["confirmed_at"] == "2026-11-21T08:00:00+00:00"
    assert listed["ACME-1"]["partner_action_date"] == "2026-10-02T12:00:00+00:00"


# The callers pass HANDOFF_ATTACHED_AFTER.


async def summary_json_of(engine: AsyncEngine, **settings: Any) -> dict[str, Any]:
    out = io.StringIO()
    await report(
        engine,
        settings_of(**settings),
        period_text="2026-Q4",
        partner_slug=None,
        output="json",
        every_referral=False,
        now=AFTER,
        out=out,
    )
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


async def test_handoff_report_applies_the_attached_after_setting(quarter: AsyncEngine) -> None:
    default = await summary_json_of(quarter)  # HANDOFF_ATTACHED_AFTER: 60 days
    assert default["totals"]["attached"] == 4 and default["attached_after_days"] == 60.0
    assert default["activation"]["partners_activated"] == 2
    # 120 days before Jan 1 is Sep 3: nothing in the quarter has lapsed yet.
    longer = await summary_json_of(quarter, attached_after=timedelta(days=120))
    assert longer["totals"]["attached"] == 2  # ACME-2 and GLOBEX-3, claimed as attached
    assert longer["totals"]["assisted_close"] == 1  # ACME-3, as stored


def said(answer: attribution.Answer) -> str:
    return "\n".join(
        str(getattr(getattr(block, "text", None), "text", "") or "") for block in answer.blocks
    )


async def test_attribution_summary_shows_the_new_figures_to_managers_and_reps(
    quarter: AsyncEngine,
) -> None:
    settings = settings_of()
    async with quarter.connect() as conn:
        boss = await attribution.build(
            conn,
            attribution.parse("2026-Q4"),
            user="U0BOSS",
            manager=True,
            now=AFTER,
            settings=settings,
        )
        rep = await attribution.build(
            conn,
            attribution.parse("2026-Q4"),
            user="U1",
            manager=False,
            now=AFTER,
            settings=settings,
        )
    for answer in (boss, rep):
        shown = said(answer)
        assert "*Won revenue by role*" in shown
        assert "Partner activation: 2 of 3 registered partners have brought a referral" in shown
        assert "Logged in Slack: 3 referrals, 2 confirmed by the partner, 1 unconfirmed." in shown
        assert "nothing recorded for 60 days" in shown
    shown = said(boss)
    revenue = shown[shown.index("*Won revenue by role*") :].split("```")[1].splitlines()
    total = next(line.split() for line in revenue if line.startswith("Total"))
    assert total == ["Total", "30k", "0", "0", "5,000", "0", "1,000", "2,000"]
    roles_table = shown[shown.index("*Roles and activity*") :].split("```")[1].splitlines()
    header = roles_table[0].split()
    total = next(line.split() for line in roles_table if line.startswith("Total"))
    assert total[header.index("Attached")] == "4"
