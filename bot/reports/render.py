"""The report as text tables (the CLI, and Slack in code blocks), JSON and CSV: the same numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.reports.listing import Item
from bot.reports.summary import NO_ROLE, Line, Summary
from bot.reports.summary import ROLES as ROLE_NAMES

REVENUE_ROLES = (*ROLE_NAMES, NO_ROLE)  # won revenue by role; NO_ROLE: won without a role

KEYS = (
    "partner",
    "name",
    "received",
    "claimed",
    "unclaimed",
    "median_claim_minutes",
    "median_first_response_hours",
    "meetings",
    "booking_rate",
    "sourced",
    "influenced",
    "assisted_close",
    "attached",
    "unattributed",
    "disputed",
    "overridden",
    "opportunities",
    "won",
    "lost",
    "revenue",
    "average_deal",
    "conversion",
    "last_referral_at",
    "days_since_last_referral",
    "registered_at",
    "first_referral_at",
    "days_to_first_referral",
    # Added later, at the end so that the CSV's earlier columns keep their places.
    "logged",
    "confirmed",
    "unconfirmed",
    *(f"revenue_{role}" for role in REVENUE_ROLES),
)


def line_json(line: Line, as_of: datetime) -> dict[str, Any]:
    """One partner's (or the totals') numbers under the names --json and the CSV use."""
    values: dict[str, Any] = {
        "partner": line.partner,
        "name": line.name,
        "booking_rate": _ratio(line.booking_rate),
        "conversion": _ratio(line.conversion),
        "revenue": round(line.revenue, 2),
        "average_deal": None if line.average_deal is None else round(line.average_deal, 2),
        "days_since_last_referral": _days(line.days_since_last_referral(as_of)),
        "days_to_first_referral": _days(line.days_to_first_referral()),
        "unconfirmed": line.unconfirmed,
    }
    for role in REVENUE_ROLES:
        values[f"revenue_{role}"] = round(line.role_revenue.get(role, 0.0), 2)
    for key in KEYS:
        if key not in values:
            value = getattr(line, key)
            values[key] = value.isoformat() if isinstance(value, datetime) else value
    return {key: values[key] for key in KEYS}


def summary_json(summary: Summary) -> dict[str, Any]:
    period, after = summary.period, summary.attached_after
    return {
        "period": {
            "label": period.label,
            "first_day": period.first.isoformat(),
            "last_day": period.last.isoformat(),
            "timezone": period.zone.key,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "as_of": summary.as_of.isoformat(),
        "attached_after_days": None if after is None else _days(after.total_seconds() / 86400),
        "activation": {
            "partners_registered": summary.partners_registered,
            "partners_activated": summary.partners_activated,
            "activation_rate": _ratio(summary.activation_rate),
            "median_days_to_first_referral": summary.median_days_to_first_referral,
        },
        "partners": [line_json(line, summary.as_of) for line in summary.lines],
        "totals": line_json(summary.totals, summary.as_of),
    }


def summary_csv(summary: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(KEYS)
    for line in [*summary.lines, summary.totals]:
        values = line_json(line, summary.as_of)
        writer.writerow(["" if values[k] is None else values[k] for k in KEYS])
    return out.getvalue()


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# Text tables ---------------------------------------------------------------------------------


def span(minutes: float | None) -> str:
    """42m, 5.2h, 3.1d; "–" for none."""
    if minutes is None:
        return "–"
    if minutes < 60:
        return f"{minutes:.0f}m"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f}h"
    return f"{minutes / 1440:.1f}d"


def money(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def days(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}d"


Column = tuple[str, Callable[[Line, datetime], str]]

PIPELINE: tuple[Column, ...] = (
    ("Received", lambda x, _: str(x.received)),
    ("Claimed", lambda x, _: str(x.claimed)),
    ("To claim", lambda x, _: span(x.median_claim_minutes)),
    ("1st resp", lambda x, _: span(_hours(x.median_first_response_hours))),
    ("Meetings", lambda x, _: str(x.meetings)),
    ("Booked", lambda x, _: percent(x.booking_rate)),
    ("Opps", lambda x, _: str(x.opportunities)),
    ("Won", lambda x, _: str(x.won)),
    ("Lost", lambda x, _: str(x.lost)),
    ("Revenue", lambda x, _: money(x.revenue)),
    ("Avg deal", lambda x, _: money(x.average_deal)),
    ("Won/rec", lambda x, _: percent(x.conversion)),
)
ROLES: tuple[Column, ...] = (
    ("Sourced", lambda x, _: str(x.sourced)),
    ("Influenced", lambda x, _: str(x.influenced)),
    ("Assisted", lambda x, _: str(x.assisted_close)),
    ("Attached", lambda x, _: str(x.attached)),
    ("Unattr.", lambda x, _: str(x.unattributed)),
    ("Disputed", lambda x, _: str(x.disputed)),
    ("Overridden", lambda x, _: str(x.overridden)),
    ("Logged", lambda x, _: str(x.logged)),
    ("Confirmed", lambda x, _: str(x.confirmed)),
    ("Last ref", lambda x, at: days(x.days_since_last_referral(at))),
    ("To 1st ref", lambda x, _: days(x.days_to_first_referral())),
)


def _won_by(role: str) -> Callable[[Line, datetime], str]:
    return lambda x, _: money(x.role_revenue.get(role, 0.0))


REVENUE: tuple[Column, ...] = tuple(
    (title, _won_by(role))
    for title, role in zip(
        ("Sourced", "Influenced", "Assisted", "Attached", "Unattr.", "Disputed", "No role"),
        REVENUE_ROLES,
        strict=True,
    )
)


def _hours(hours: float | None) -> float | None:
    return None if hours is None else hours * 60


def table(
    rows: Sequence[Sequence[str]], *, first_width: int = 60, left: frozenset[int] = frozenset({0})
) -> list[str]:
    """Aligned columns: text (`left`) to the left, numbers to the right; a rule under the
    header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    widths[0] = min(widths[0], first_width)
    lines = []
    for n, row in enumerate(rows):
        cells = [
            (cell[: widths[i]] if i == 0 else cell).ljust(widths[i])
            if i in left
            else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("-" * len(lines[0]))
    return lines


def summary_tables(summary: Summary, *, per_partner: bool = True) -> list[tuple[str, list[str]]]:
    """Three tables (pipeline; roles and activity; won revenue by role), each a title and its
    lines; totals last."""
    lines = summary.lines if per_partner else []
    tables = []
    for title, columns in (
        ("Pipeline", PIPELINE),
        ("Roles and activity", ROLES),
        ("Won revenue by role", REVENUE),
    ):
        rows = [["Partner", *(name for name, _ in columns)]]
        for line in [*lines, summary.totals]:
            label = line.partner or "Total"
            rows.append([label, *(cell(line, summary.as_of) for _, cell in columns)])
        tables.append((title, table(rows)))
    return tables


def items_table(items: Sequence[Item], zone: Any, now: datetime) -> list[str]:
    """The partner detail: one row per referral."""
    rows = [["Ref", "Prospect", "Owner", "Role", "Stage", "1st resp", "Next step", "Activity"]]
    for item in items:
        prospect = item.prospect_name or item.prospect_email
        if item.prospect_company:
            prospect += f" ({item.prospect_company})"
        step = "–"
        if item.next_step:
            # A due *day*, kept as its UTC midnight: late once that day is over where the
            # report is read (as the digest and Slack say "overdue"), not during it.
            due_day = item.next_step_due.astimezone(UTC).date() if item.next_step_due else None
            due = due_day.isoformat() if due_day else ""
            late = " LATE" if due_day and due_day < now.astimezone(zone).date() else ""
            step = f"{due}{late} {item.next_step}".strip()
        activity = item.last_activity_at or item.received_at
        rows.append(
            [
                item.ref,
                prospect[:32],
                item.owner or "–",
                item.role_shown,
                item.stage,
                span(_hours(item.hours_to_first_response)),
                step[:40],
                activity.astimezone(zone).strftime("%Y-%m-%d"),
            ]
        )
    return table(rows, left=frozenset({0, 1, 2, 3, 4, 6}))


def summary_notes(summary: Summary) -> list[str]:
    """The figures of the whole report, one sentence each: partner activation, referrals
    logged in Slack and their partner's confirmation, and what the attached lane means."""
    median = summary.median_days_to_first_referral
    notes = [
        f"Partner activation: {summary.partners_activated} of {summary.partners_registered} "
        f"registered partners have brought a referral ({percent(summary.activation_rate)}); "
        f"median {days(median)} from registration to the first."
    ]
    totals = summary.totals
    notes.append(
        f"Logged in Slack: {totals.logged} referrals, {totals.confirmed} confirmed by the "
        f"partner, {totals.unconfirmed} unconfirmed."
    )
    if summary.attached_after is not None:
        notes.append(
            "Attached also counts the referrals whose partner has done nothing recorded for "
            f"{summary.attached_after.total_seconds() / 86400:g} days (unless a manager set "
            "the role, or it is disputed or unattributed)."
        )
    return notes


def text_report(summary: Summary, *, title: str) -> str:
    """The summary as the CLI prints it."""
    out = [title, ""]
    for name, lines in summary_tables(summary):
        out += [name, *lines, ""]
    out += summary_notes(summary)
    return "\n".join(out).rstrip() + "\n"
