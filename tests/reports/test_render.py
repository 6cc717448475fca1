"""The partner detail table of `/attribution` and `handoff report --partner`."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.reports.listing import Item
from bot.reports.render import items_table

BERLIN = ZoneInfo("Europe/Berlin")


def item(due: datetime) -> Item:
    values = {f.name: None for f in fields(Item)}
    values |= {
        "ref": "ACME-1",
        "prospect_email": "jane@wayne.example",
        "subject": "Intro",
        "received_at": datetime(2026, 11, 2, 9, tzinfo=UTC),
        "stage": "meeting",
        "next_step": "Demo with their CTO",
        "next_step_due": due,  # a day, kept as its UTC midnight
    }
    return Item(**values)  # type: ignore[arg-type]


def test_a_next_step_is_late_once_its_day_is_over_not_during_it() -> None:
    due = datetime(2026, 11, 24, tzinfo=UTC)
    during = items_table([item(due)], BERLIN, datetime(2026, 11, 24, 15, tzinfo=UTC))
    after = items_table([item(due)], BERLIN, datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    assert "2026-11-24 Demo with their CTO" in "\n".join(during)
    assert "LATE" not in "\n".join(during)
    # 23:30 UTC is already the 25th in Berlin, where the report is read.
    assert "2026-11-24 LATE Demo with their CTO" in "\n".join(after)
