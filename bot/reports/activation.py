"""Partner activation: of the partners registered by the report's instant, how many had brought a
first referral by then, and how long that took them (the median over those partners).

Worked out from the partner lines the summary already read (registration and first referral
ever, per partner), so it costs no query of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.reports.summary import Line


def activation(lines: Iterable[Line], as_of: datetime) -> tuple[int, int, float | None]:
    """(partners registered before as_of, those with a referral before as_of, the median days
    from registration to first referral among the latter, to a tenth of a day)."""
    registered = [
        line for line in lines if line.registered_at is not None and line.registered_at < as_of
    ]
    spans = [
        days
        for line in registered
        if line.first_referral_at is not None and line.first_referral_at < as_of
        if (days := line.days_to_first_referral()) is not None
    ]
    return len(registered), len(spans), round(median(spans), 1) if spans else None
