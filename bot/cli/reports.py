"""`handoff report`: the /attribution numbers on the command line, as tables, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from bot.cli import UsageError, instant

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings
    from bot.reports.listing import Item
    from bot.reports.periods import Period


class ReportError(ValueError):
    """A period or partner nobody could mean: one line, exit status 2."""


def add(commands: Commands) -> None:
    """`handoff report`."""
    rep = commands.add_parser(
        "report",
        help="what each partner brought in a period and what became of it (as /attribution)",
        description="Referrals received in the period, per partner, and what became of them: "
        "claims, time to claim and to first response, meetings, roles (attached after "
        "HANDOFF_ATTACHED_AFTER without a partner action), opportunities, won and lost, revenue "
        "and won revenue by role, referrals logged in Slack and confirmed; partner activation. "
        "Periods are in HANDOFF_TIMEZONE.",
    )
    rep.set_defaults(run=run)
    rep.add_argument(
        "--period",
        metavar="P",
        help="this quarter (default), last quarter, 2026-Q3, this month, 2026-10, this year, "
        "last 90d, 2026-10-01..2026-12-31",
    )
    rep.add_argument("--partner", metavar="SLUG", help="one partner: its line and its referrals")
    rep.add_argument(
        "--referrals",
        action="store_true",
        help="every referral of the period with every field (the /attribution export)",
    )
    shape = rep.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_const", dest="output", const="json")
    shape.add_argument("--csv", action="store_const", dest="output", const="csv")
    rep.add_argument("--now", metavar="ISO-8601", type=instant, help="as of this instant")


async def run(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """`handoff report` as the arguments ask; a ReportError is a usage error (exit status 2)."""
    try:
        return await report(
            engine,
            settings,
            period_text=args.period,
            partner_slug=args.partner,
            output=args.output or "text",
            every_referral=args.referrals,
            now=args.now or datetime.now(UTC),
            out=sys.stdout,
        )
    except ReportError as exc:
        raise UsageError(str(exc)) from None


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
    import sqlalchemy as sa

    from bot.reports import render
    from bot.reports.listing import referrals, to_csv
    from bot.reports.summary import partner, summary

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
        found = await summary(
            conn, period, now=now, partners=chosen, attached_after=settings.attached_after
        )
        items = await referrals(conn, period, partner_slug=partner_slug) if partner_slug else []
    if output == "json":
        data = render.summary_json(found) | {"currency": settings.currency}
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
    from bot.reports.periods import PeriodError, parse_period

    try:
        return parse_period(text, settings.tz, now)
    except PeriodError as exc:
        raise ReportError(f"--period {exc}") from None


def _title(period: Period, settings: Settings) -> str:
    return (
        f"Partner attribution, {period.label} ({period.first.isoformat()} to "
        f"{period.last.isoformat()}, {settings.timezone}): referrals received in the period, "
        f"and what became of them; revenue in {settings.currency}"
    )


def _item_json(item: Item) -> dict[str, object]:
    from dataclasses import asdict

    values = asdict(item)
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = value.isoformat()
    values["role_overridden"] = values.pop("role_overridden_at") is not None
    # As the CSV export has them: the partner's action, else the intro email when it came.
    values["partner_action_date"] = item.partner_action_date.isoformat()
    values["partner_action_type"] = item.partner_action_type
    return values
