"""Periods as partner managers type them, in the team's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.reports.periods import PeriodError, parse_period

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
UTC_ZONE, TOKYO = ZoneInfo("UTC"), ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("said", "label", "first", "last"),
    [
        (None, "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("this quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("Last  Quarter", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-Q1", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2025q4", "2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
        ("this month", "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("last month", "2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("this year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("last year", "2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("last 90d", "last 90d", date(2026, 8, 26), date(2026, 11, 23)),
        ("last 2 weeks", "last 14d", date(2026, 11, 10), date(2026, 11, 23)),
        ("2026-10-01..2026-12-31", "2026-10-01..2026-12-31", date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_each_form(said: str | None, label: str, first: date, last: date) -> None:
    period = parse_period(said, UTC_ZONE, NOW)
    assert (period.label, period.first, period.last) == (label, first, last)


def test_today_and_the_bounds_are_the_zones() -> None:
    # 2026-12-31 20:00 UTC is already 2027-01-01 in Tokyo: "this quarter" is 2027-Q1 there.
    late = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert parse_period(None, UTC_ZONE, late).label == "2026-Q4"
    tokyo = parse_period(None, TOKYO, late)
    assert tokyo.label == "2027-Q1"
    assert tokyo.start == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)  # midnight in Tokyo


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("2026-Q5", "is not a period; try one of: this quarter"),
        ("2026-13", "there is no month 13"),
        ("2026-12-31..2026-10-01", "ends before it begins"),
        ("2026-10-01..tomorrow", "'tomorrow' is not a date"),
        ("last 0d", "between 1 and"),
        ("last 90000d", "between 1 and"),
        ("whenever", "is not a period"),
    ],
)
def test_what_nobody_could_mean_is_refused_with_the_reason(said: str, reason: str) -> None:
    with pytest.raises(PeriodError, match=reason.replace("(", r"\(")) as caught:
        parse_period(said, UTC_ZONE, NOW)
    assert "\n" not in str(caught.value)
