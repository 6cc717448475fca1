"""`handoff report`: the /attribution numbers on the command line, as tables, JSON or CSV."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.reports import render
from bot.reports.listing import Item, referrals, to_csv
from bot.reports.periods import Period, PeriodError, parse_period
from bot.reports.summary import partner, summary


class ReportError(ValueError):
    """A period or partner nobody could mean: one line, exit status 2."""


async def report(
    engine: AsyncEngine,
    settings: Settings,
    *,
    period_text: str | None,
    partner_slug: str | None,
    output: str,
    every_referral: bool,
    now: datetime,
    out: TextIO,
) -> int:
    """Print the summary (or with a partner, its line and its referrals) as asked."""
    period = _period(period_text, settings, now)
    async with engine.connect() as conn:
        if partner_slug is not None:
            slug = partner_slug.strip().lower()
            if await conn.scalar(sa.select(partner.c.id).where(partner.c.slug == slug)) is None:
                raise ReportError(f"no partner {partner_slug!r} (see: handoff partners list)")
            partner_slug = slug
        chosen = [partner_slug] if partner_slug else None
        if every_referral:
            items = await referrals(conn, period, partner_slug=partner_slug)
            if output == "csv":
                out.write(to_csv(items))
            elif output == "json":
                out.write(json.dumps([_item_json(i) for i in items], indent=2) + "\n")
            else:
                out.write("\n".join(render.items_table(items, period.zone, now)) + "\n")
            return 0
        found = await summary(conn, period, now=now, partners=chosen)
        items = await referrals(conn, period, partner_slug=partner_slug) if partner_slug else []
    if output == "json":
        data = render.summary_json(found)
        if partner_slug:
            data["referrals"] = [_item_json(i) for i in items]
        out.write(json.dumps(data, indent=2) + "\n")
    elif output == "csv":
        out.write(render.summary_csv(found))
    else:
        out.write(render.text_report(found, title=_title(period, settings)))
        if partner_slug:
            out.write(f"\nReferrals of {partner_slug} received in {period.label}\n")
            if items:
                out.write("\n".join(render.items_table(items, period.zone, now)) + "\n")
            else:
                out.write("none\n")
    return 0


def _period(text: str | None, settings: Settings, now: datetime) -> Period:
    try:
        return parse_period(text, settings.tz, now)
    except PeriodError as exc:
        raise ReportError(f"--period {exc}") from None


def _title(period: Period, settings: Settings) -> str:
    return (
        f"Partner attribution, {period.label} ({period.first.isoformat()} to "
        f"{period.last.isoformat()}, {settings.timezone}): referrals received in the period, "
        "and what became of them"
    )


def _item_json(item: Item) -> dict[str, object]:
    values = asdict(item)
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = value.isoformat()
    values["role_overridden"] = values.pop("role_overridden_at") is not None
    return values
