"""`handoff prune`: forget what only guarded a retry (bot/retention/prune.py), now."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add(commands: Commands) -> None:
    prune = commands.add_parser(
        "prune",
        help="delete done outbox jobs, old Slack retry keys, spent nudges and noise mail",
        description="Delete what only guarded a retry and is older than HANDOFF_RETENTION_DAYS "
        "(default 30): outbox jobs done, Slack request keys, nudges that can never be due "
        "again, stored duplicates and auto-replies. Referrals, their events and the mail that "
        "meant something are kept. `handoff serve` does this once a day by itself.",
    )
    prune.set_defaults(run=run_prune)
    prune.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="this many days instead of HANDOFF_RETENTION_DAYS",
    )
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    prune.add_argument("--json", action="store_true", help="print JSON")


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (1 or more)")
    return days


async def run_prune(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from datetime import timedelta

    from bot.cli import UsageError
    from bot.retention.prune import prune

    days = args.older_than or settings.retention_days
    if not days:
        raise UsageError(
            "HANDOFF_RETENTION_DAYS is 0 (keep everything): pass --older-than DAYS to prune"
        )

    def progress(table: str, count: int) -> None:
        if not args.json:
            print(f"  {table}: {count}", file=sys.stderr, flush=True)

    result = await prune(
        engine, older_than=timedelta(days=days), dry_run=args.dry_run, progress=progress
    )
    print(json.dumps(result.as_json(), indent=2) if args.json else result.line())
    return 0
