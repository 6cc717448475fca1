"""Report periods as people say them, turned into [start, end) instants in a time zone.

`this quarter` (the default), `last quarter`, `2026-Q3`, `this month`, `last month`,
`2026-10`, `this year`, `last year`, `2026`, `last 90d` (today and the 89 days before),
`2026-10-01..2026-12-31` (both days included). Days begin at midnight in HANDOFF_TIMEZONE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT = "this quarter"
FORMS = (
    "this quarter",
    "last quarter",
    "2026-Q3",
    "this month",
    "last month",
    "2026-10",
    "this year",
    "2026",
    "last 90d",
    "2026-10-01..2026-12-31",
)
MAX_DAYS = 3660  # ten years: a typo such as `last 90000d` is refused, not scanned


class PeriodError(ValueError):
    """A period nobody could mean; the message names the accepted forms."""


@dataclass(frozen=True)
class Period:
    label: str  # how reports title it: "2026-Q4", "2026-10-01..2026-12-31", …
    first: date  # the first day, inclusive
    last: date  # the last day, inclusive
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant, in UTC."""
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day, in UTC (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _quarter(year: int, q: int) -> tuple[date, date]:
    first = date(year, 3 * (q - 1) + 1, 1)
    return first, _month_end(year, 3 * q)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _day(text: str, whole: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{whole!r}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_period(text: str | None, zone: ZoneInfo, now: datetime) -> Period:
    """The period `text` names, as of `now`; PeriodError with the accepted forms otherwise."""
    said = " ".join((text or DEFAULT).lower().split())
    today = now.astimezone(zone).date()
    quarter = (today.month - 1) // 3 + 1
    if said == "this quarter":
        first, last = _quarter(today.year, quarter)
        return Period(f"{today.year}-Q{quarter}", first, last, zone)
    if said == "last quarter":
        year, q = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
        first, last = _quarter(year, q)
        return Period(f"{year}-Q{q}", first, last, zone)
    if m := re.fullmatch(r"(\d{4})-?q([1-4])", said):
        year, q = int(m[1]), int(m[2])
        first, last = _quarter(year, q)
        return Period(f"{year}-Q{q}", first, last, zone)
    if said in ("this month", "last month"):
        year, month = _shift_month(today.year, today.month, 0 if said == "this month" else -1)
        return Period(f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month), zone)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", said):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{said!r}: there is no month {month}")
        return Period(said, date(year, month, 1), _month_end(year, month), zone)
    if said in ("this year", "last year") or re.fullmatch(r"\d{4}", said):
        year = int(said) if said.isdigit() else today.year - (said == "last year")
        return Period(str(year), date(year, 1, 1), date(year, 12, 31), zone)
    if m := re.fullmatch(r"last (\d+) ?(d|days?|w|weeks?)", said):
        days = int(m[1]) * (7 if m[2].startswith("w") else 1)
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(f"{said!r}: between 1 and {MAX_DAYS} days, please")
        return Period(f"last {days}d", today - timedelta(days=days - 1), today, zone)
    if ".." in said:
        a, _, b = said.partition("..")
        first, last = _day(a.strip(), said), _day(b.strip(), said)
        if last < first:
            raise PeriodError(f"{said!r}: the period ends before it begins")
        if (last - first).days >= MAX_DAYS:
            raise PeriodError(f"{said!r}: at most {MAX_DAYS} days, please")
        return Period(f"{first.isoformat()}..{last.isoformat()}", first, last, zone)
    raise PeriodError(f"{said!r} is not a period; try one of: {', '.join(FORMS)}")


def looks_like_period(text: str) -> bool:
    """Whether a word of a command begins a period (so `acme 2026-Q3` splits right)."""
    word = text.lower()
    return bool(
        re.fullmatch(r"\d{4}(-?q[1-4]|-\d{2}(-\d{2}(\.\.\d{4}-\d{2}-\d{2})?)?)?", word)
        or word in ("this", "last")
    )
