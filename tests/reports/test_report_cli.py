"""`handoff report` from the shell: the /attribution numbers as text, JSON and CSV.

The real console script runs in a subprocess against the test database (HANDOFF_DATABASE_URL,
set by the db_url fixture), with --now fixed so that "this quarter" is 2026-Q4.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.paths import ROOT
from tests.support.world import add_partner, add_referral

NOW = "2026-11-23T12:00:00+00:00"
HANDOFF = shutil.which("handoff") or str(ROOT / ".venv" / "bin" / "handoff")
PER_PARTNER = (
    "partner",
    "received",
    "claimed",
    "meetings",
    "won",
    "revenue",
    "sourced",
    "influenced",
    "disputed",
    "median_claim_minutes",
    "median_first_response_hours",
)


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def world(engine: AsyncEngine) -> None:
    """acme (registered 2026-09-01): ACME-1 in Q3; in Q4 ACME-2 (claimed in 10 min, answered
    in 2 h, won 12,000), ACME-3 (30 min, 4 h, a meeting), ACME-4 (unclaimed). globex: GLOBEX-1
    (claimed in 50 min, disputed, lost). initech: nothing."""
    acme = await add_partner(engine, "acme", created=at("2026-09-01"))
    globex = await add_partner(engine, "globex", created=at("2026-06-01"))
    await add_partner(engine, "initech", created=at("2026-06-01"))
    await add_referral(engine, acme, received=at("2026-09-20"), owner="U1", role="sourced")
    r2 = at("2026-10-05")
    await add_referral(
        engine,
        acme,
        received=r2,
        owner="U1",
        role="sourced",
        stage="won",
        amount=12000.0,
        claimed_at=r2 + timedelta(minutes=10),
        first_response_at=r2 + timedelta(hours=2),
        met_at=r2 + timedelta(days=3),
        opportunity_at=r2 + timedelta(days=10),
        prospect_name="Dana Won",
    )
    r3 = at("2026-10-10")
    await add_referral(
        engine,
        acme,
        received=r3,
        owner="U2",
        role="influenced",
        stage="meeting",
        claimed_at=r3 + timedelta(minutes=30),
        first_response_at=r3 + timedelta(hours=4),
        met_at=r3 + timedelta(days=2),
        next_step="Joint demo",
        next_step_due=at("2026-11-30", 0),
    )
    await add_referral(engine, acme, received=at("2026-11-01"))
    r5 = at("2026-10-20")
    await add_referral(
        engine,
        globex,
        received=r5,
        owner="U2",
        role="disputed",
        stage="lost",
        claimed_at=r5 + timedelta(minutes=50),
    )


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HANDOFF, "report", *argv], capture_output=True, text=True, timeout=120, check=False
    )


async def report(*argv: str) -> str:
    done = await asyncio.to_thread(run, *argv)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr}{done.stdout}"
    return done.stdout


async def test_json_has_each_partners_numbers_and_the_totals(engine: AsyncEngine) -> None:
    await world(engine)
    data = json.loads(await report("--json", "--now", NOW))
    assert data["period"]["label"] == "2026-Q4"
    assert (data["period"]["first_day"], data["period"]["last_day"]) == (
        "2026-10-01",
        "2026-12-31",
    )
    partners = {p["partner"]: p for p in data["partners"]}
    assert set(partners) == {"acme", "globex", "initech"}
    for line in [*partners.values(), data["totals"]]:
        missing = [k for k in PER_PARTNER if k not in line]
        assert not missing, f"{line.get('partner')}: no {missing}"
    acme, globex, initech, totals = (
        partners["acme"],
        partners["globex"],
        partners["initech"],
        data["totals"],
    )
    assert {k: acme[k] for k in PER_PARTNER} == {
        "partner": "acme",
        "received": 3,
        "claimed": 2,
        "meetings": 2,
        "won": 1,
        "revenue": 12000.0,
        "sourced": 1,
        "influenced": 1,
        "disputed": 0,
        "median_claim_minutes": 20.0,
        "median_first_response_hours": 3.0,
    }
    assert (acme["opportunities"], acme["lost"], acme["average_deal"]) == (1, 0, 12000.0)
    assert acme["booking_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert acme["conversion"] == pytest.approx(1 / 3, abs=1e-3)
    assert acme["days_to_first_referral"] == 19.0  # registered 09-01, first referral 09-20
    assert acme["days_since_last_referral"] == pytest.approx(22.1, abs=0.05)  # 11-01 10:00
    assert {k: globex[k] for k in PER_PARTNER} == {
        "partner": "globex",
        "received": 1,
        "claimed": 1,
        "meetings": 0,
        "won": 0,
        "revenue": 0.0,
        "sourced": 0,
        "influenced": 0,
        "disputed": 1,
        "median_claim_minutes": 50.0,
        "median_first_response_hours": None,
    }
    assert globex["lost"] == 1
    assert (initech["received"], initech["median_claim_minutes"]) == (0, None)
    assert {k: totals[k] for k in PER_PARTNER if k != "partner"} == {
        "received": 4,
        "claimed": 3,
        "meetings": 2,
        "won": 1,
        "revenue": 12000.0,
        "sourced": 1,
        "influenced": 1,
        "disputed": 1,
        "median_claim_minutes": 30.0,  # of 10, 30, 50
        "median_first_response_hours": 3.0,  # of 2 and 4
    }


async def test_csv_has_a_row_per_partner_and_a_total_row(engine: AsyncEngine) -> None:
    await world(engine)
    out = await report("--csv", "--now", NOW)
    found = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0].startswith("partner,")
    assert [r["partner"] for r in found] == ["acme", "globex", "initech", ""]
    assert found[-1]["name"] == "Total"
    assert (found[0]["received"], found[0]["won"], float(found[0]["revenue"])) == ("3", "1", 12000)
    assert (found[-1]["received"], found[-1]["claimed"]) == ("4", "3")
    assert len(out.strip().splitlines()) == 5


async def test_text_names_each_partner_and_a_total_line(engine: AsyncEngine) -> None:
    await world(engine)
    out = await report("--now", NOW)
    assert "2026-Q4" in out.splitlines()[0]
    firsts = [line.split()[0] for line in out.splitlines() if line.strip()]
    for name in ("acme", "globex", "initech", "Total"):
        assert firsts.count(name) >= 1, f"no line for {name}:\n{out}"
    total = next(line for line in out.splitlines() if line.startswith("Total"))
    assert total.split()[1:3] == ["4", "3"], total  # received, claimed


async def test_a_partner_lists_its_referrals_of_the_period(engine: AsyncEngine) -> None:
    await world(engine)
    out = await report("--partner", "acme", "--now", NOW)
    refs = {line.split()[0] for line in out.splitlines() if line.startswith(("ACME-", "GLOBEX-"))}
    assert refs == {"ACME-2", "ACME-3", "ACME-4"}, out
    assert "globex" not in out and "Dana Won" in out and "Joint demo" in out
    data = json.loads(await report("--partner", "ACME", "--json", "--now", NOW))
    assert [p["partner"] for p in data["partners"]] == ["acme"]
    assert [r["ref"] for r in data["referrals"]] == ["ACME-2", "ACME-3", "ACME-4"]
    assert data["totals"]["received"] == 3


async def test_every_referral_as_csv_one_row_each(engine: AsyncEngine) -> None:
    await world(engine)
    out = await report("--referrals", "--csv", "--now", NOW)
    reader = csv.DictReader(io.StringIO(out))
    found = list(reader)
    for column in ("ref", "partner", "role", "role_overridden", "stage", "owner", "amount"):
        assert column in (reader.fieldnames or []), reader.fieldnames
    assert sorted(r["ref"] for r in found) == ["ACME-2", "ACME-3", "ACME-4", "GLOBEX-1"]
    assert len(out.strip().splitlines()) == 5
    won: dict[str, Any] = next(r for r in found if r["ref"] == "ACME-2")
    assert (won["stage"], float(won["amount"]), won["minutes_to_claim"]) == ("won", 12000, "10.0")
    last_quarter = await report("--referrals", "--csv", "--period", "last quarter", "--now", NOW)
    assert [r["ref"] for r in csv.DictReader(io.StringIO(last_quarter))] == ["ACME-1"]
    ranged = await report(
        "--referrals", "--csv", "--period", "2026-10-01..2026-10-10", "--now", NOW
    )
    assert [r["ref"] for r in csv.DictReader(io.StringIO(ranged))] == ["ACME-2", "ACME-3"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--period", "2026-Q9"], "2026-q9"),
        (["--period", "2026-12-31..2026-10-01"], "ends before it begins"),
        (["--partner", "nope"], "nope"),
        (["--partner", "nope", "--json"], "nope"),
    ],
)
async def test_a_bad_period_or_unknown_partner_is_one_line_and_exit_2(
    engine: AsyncEngine, args: list[str], says: str
) -> None:
    await world(engine)
    done = await asyncio.to_thread(run, *args, "--now", NOW)
    assert done.returncode == 2, f"exit {done.returncode}: {done.stderr}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handoff: "), done.stderr
    assert says in lines[0].lower()
    assert done.stdout == ""


async def test_periods_begin_at_midnight_in_the_teams_time_zone(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = await add_partner(engine, "acme", created=at("2026-01-01"))
    # 2026-10-01 03:00 UTC is still 30 September in Los Angeles: the third quarter there.
    await add_referral(engine, acme, received=datetime(2026, 10, 1, 3, 0, tzinfo=UTC))
    utc = json.loads(await report("--json", "--now", NOW))
    assert utc["totals"]["received"] == 1
    monkeypatch.setenv("HANDOFF_TIMEZONE", "America/Los_Angeles")
    here = json.loads(await report("--json", "--now", NOW))
    assert here["period"]["timezone"] == "America/Los_Angeles"
    assert here["period"]["start"] == "2026-10-01T07:00:00+00:00"
    assert here["totals"]["received"] == 0
    before = json.loads(await report("--json", "--period", "2026-Q3", "--now", NOW))
    assert before["totals"]["received"] == 1
