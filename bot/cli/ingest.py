"""`handoff ingest PATH…`: .eml files, mbox files and Maildirs, read as the IMAP watcher reads."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from bot.cli import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings
    from bot.intake.pipeline import IngestResult

PROGRESS_SECONDS = 5.0
BATCH = 100  # messages per transaction in `ingest` (a batch in flight is at most this many)


def add(commands: Commands) -> None:
    """`handoff ingest`."""
    ingest = commands.add_parser(
        "ingest",
        help="ingest .eml files, mbox files or Maildirs",
        description="Process messages in argument order, exactly as the IMAP watcher does.",
    )
    ingest.set_defaults(run=run)
    ingest.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help=".eml file, mbox file, Maildir, or a folder of .eml files",
    )
    ingest.add_argument("--json", action="store_true", help="one JSON object per message")
    ingest.add_argument(
        "--dry-run", action="store_true", help="show what would happen and store nothing"
    )
    ingest.add_argument(
        "--no-slack",
        action="store_true",
        help="store referrals without posting them or their replies to Slack, and without "
        "emailing partners receipts (for backfills of old mail)",
    )


async def run(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Ingest every message under the paths: a line each, progress and a summary on stderr."""
    from bot.intake.sources import SourceError

    try:
        counts, elapsed = await _ingest(args, engine, settings)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    total = sum(counts.values())
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.most_common()) or "nothing"
    prefix = "would ingest" if args.dry_run else "ingested"
    print(
        f"handoff: {prefix} {total:,} message{'s' if total != 1 else ''} in {elapsed:.1f}s: "
        f"{summary}",
        file=sys.stderr,
    )
    return 0


async def _ingest(
    args: argparse.Namespace, engine: AsyncEngine, settings: Settings
) -> tuple[Counter[str], float]:
    """Each message's result printed as it comes: (how many of each kind, seconds taken)."""
    from bot.intake.pipeline import Intake
    from bot.intake.sources import batched, read_paths
    from bot.referrals.directory import settings_directory

    directory = await settings_directory(engine, settings)
    counts: Counter[str] = Counter()
    started = last_report = time.monotonic()
    protection = timedelta(days=settings.protection_days)

    def show(results: list[IngestResult]) -> None:
        """Each result printed and counted; progress on stderr every few seconds."""
        nonlocal last_report
        for result in results:
            counts[str(result.kind)] += 1
            print_result(result, args.json, sys.stdout)
        now = time.monotonic()
        if now - last_report >= PROGRESS_SECONDS:
            last_report = now
            total = sum(counts.values())
            rate = total / (now - started)
            print(f"handoff: {total:,} messages so far ({rate:,.0f} msg/s)", file=sys.stderr)

    async with Intake.open(
        engine=engine,
        directory=directory,
        protection=protection,
        dry_run=args.dry_run,
        slack=not args.no_slack,
        bulk=True,
    ) as intake:
        # Each batch is read (parsed) while the one before it is written.
        ahead = None
        for batch in batched(read_paths(args.paths), BATCH):
            reading = intake.reading(batch)
            if ahead is not None:
                show(await intake.ingest_read(await ahead))
            ahead = reading
        if ahead is not None:
            show(await intake.ingest_read(await ahead))
    return counts, time.monotonic() - started


def print_result(result: IngestResult, as_json: bool, out: TextIO) -> None:
    """One line for what became of a message (or its JSON)."""
    if as_json:
        out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return
    prospect = result.prospect
    what = (
        f"{prospect.name} <{prospect.email}>"
        if prospect and prospect.name
        else prospect.email
        if prospect
        else ""
    )
    if result.conflict_with:
        what += f"  conflicts with {result.conflict_with}"
    if result.first_response:
        what += "  first response"
    if result.reason and result.kind not in ("new_intro", "thread_reply"):
        what = f"{what}  {result.reason}".strip()
    out.write(
        f"{result.kind:<15} {result.referral or '-':<14} {result.partner or '-':<14} {what}\n"
    )
