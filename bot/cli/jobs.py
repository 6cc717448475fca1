"""`handoff jobs list|run`: the scheduled sweeps, listed, or run by hand, printed, delivered."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.cli import UsageError, instant
from bot.cli.digest import DELIVERY_SECONDS, print_digests

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings
    from bot.nudges.sweeps import Planned


class JobNames:
    """The names of the jobs, looked up when shown: they live with the sweeps, which take
    long to import, and `handoff --version` or another command's help need none of them."""

    def __str__(self) -> str:
        from bot.digests.sweep import DIGESTS
        from bot.nudges.sweeps import SWEEPS

        return ", ".join((*SWEEPS, DIGESTS))


def add(commands: Commands) -> None:
    """`handoff jobs` and its actions."""
    jobs = commands.add_parser(
        "jobs",
        help="the scheduled sweeps (nudges and reminders): list them, run one now",
        description="The sweeps `handoff serve` runs on a schedule. Each one looks at the "
        "database and sends what is due and was not sent before, so running one by hand "
        "never sends a nudge twice.",
    )
    actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each job's schedule, last run and next run")
    listing.set_defaults(run=list_jobs)
    listing.add_argument("--json", action="store_true", help="print JSON")
    run = actions.add_parser(
        "run",
        help="run one sweep now and deliver what it sends before exiting",
        description="Run one sweep as of now (or --now), print each nudge it sends, and "
        "deliver them through the outbox before exiting.",
    )
    run.set_defaults(run=run_job)
    name = run.add_argument("name", metavar="NAME", help="one of: %(names)s")
    name.names = JobNames()  # type: ignore[attr-defined]  # argparse fills %(names)s from it
    run.add_argument(
        "--now",
        metavar="ISO-8601",
        type=instant,
        help="run as of this instant, e.g. 2026-11-23T09:00:00Z (a time without offset is UTC)",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print what would be sent, send and record nothing"
    )


async def list_jobs(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Each job's schedule, last run (what it sent, how it failed) and next run, or JSON."""
    from bot.scheduler import list_jobs

    jobs = await list_jobs(engine, settings, datetime.now(UTC))
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    print(f"{'NAME':<18} {'SCHEDULE':<22} {'LAST RUN (UTC)':<17} {'SENT':>5}  NEXT RUN (UTC)")
    for job in jobs:
        last = job["last_run"][:16].replace("T", " ") if job["last_run"] else "never"
        sent = "-" if job["last_sent"] is None else str(job["last_sent"])
        following = job["next_run"][:16].replace("T", " ") if job["next_run"] else "-"
        print(f"{job['name']:<18} {job['schedule']:<22} {last:<17} {sent:>5}  {following}")
        if job["last_error"]:
            print(f"{'':<18} last run failed: {job['last_error']}")
    return 0


async def run_job(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Run the sweep, print what it sends, deliver it; 1 if some could not be delivered yet."""
    from bot.config import ConfigError
    from bot.digests.sweep import DIGESTS
    from bot.nudges.sweeps import EXPIRING, SWEEPS, Sweeper
    from bot.outboxes import wire_outbox

    name, as_of, dry_run, out = args.name, args.now, args.dry_run, sys.stdout
    if name not in (*SWEEPS, DIGESTS):
        raise UsageError(f"no job {name!r} (one of: {JobNames()})")
    if name == DIGESTS:
        return await _run_digests(engine, settings, as_of=as_of, dry_run=dry_run)
    wires = wire_outbox(settings, engine, mail=False)  # nudges go to Slack only
    if wires.client is None and not dry_run:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not set, and nudges are sent to Slack (--dry-run shows them)"
        )
    result = await Sweeper(engine, settings, wires.people).run(name, as_of=as_of, dry_run=dry_run)
    stamp = result.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for warning in result.warnings:
        out.write(f"warning: {warning}\n")
    for planned in result.planned:
        out.write(("would send " if dry_run else "") + describe(planned) + "\n")
    verb = "would send" if dry_run else "sent"
    summary = (
        f"{name} as of {stamp}: {verb} {len(result.planned)} nudge(s), "
        f"{result.messages} Slack message(s), in {result.seconds:.2f}s"
    )
    if name == EXPIRING and result.planned and not dry_run:
        # Recorded with the nudges; sent by `handoff serve` (this command sends to Slack only).
        summary += '; the partners\' "still active?" emails are queued for `handoff serve`'
    outbox = wires.outbox
    if dry_run or outbox is None or not result.job_ids:
        out.write(summary + "\n")
        return 0
    await outbox.drain(within=DELIVERY_SECONDS, only=result.job_ids)
    waiting = await outbox.unfinished(result.job_ids)
    if not waiting:
        out.write(f"{summary}; delivered\n")
        return 0
    out.write(
        f"{summary}; {len(waiting)} not delivered yet ({waiting[0]}): they stay in the "
        "outbox and `handoff serve` retries them\n"
    )
    return 1


async def _run_digests(
    engine: AsyncEngine, settings: Settings, *, as_of: datetime | None, dry_run: bool
) -> int:
    """`handoff jobs run digests`: every partner's digest that is due, printed as `digest send`
    prints one (names from Slack when it is set up)."""
    from bot.digests.sweep import Digests
    from bot.outboxes import wire_outbox

    async with contextlib.aclosing(wire_outbox(settings, engine, mail=not dry_run)) as wires:
        digests = Digests(engine, settings, wires.people)
        run = await digests.sweep(as_of=as_of, dry_run=dry_run, sending=not dry_run)
        return await print_digests(run, None if dry_run else wires.outbox, sys.stdout)


def describe(planned: Planned) -> str:
    """One line: what the nudge is about and where it goes."""
    from bot.nudges.due import To
    from bot.vocabulary import NudgeKind

    due = planned.due
    if due.kind == NudgeKind.INACTIVE_PARTNERS:
        slugs = [p["slug"] for p in json.loads(due.detail or "[]")]
        about = f"{len(slugs)} inactive partner(s): {', '.join(slugs[:10])}"
        about += " …" if len(slugs) > 10 else ""
    else:
        about = f"{due.ref} level {due.level}"
    if due.to == To.THREAD:
        where = "its post's thread"
    elif due.to == To.OWNER:
        where = f"DM to the owner {due.owner}"
    else:
        where = f"DM to managers {', '.join(t or '' for t in planned.targets) or '(none)'}"
    return f"{due.kind:<17} {about}  (due {due.due_at:%Y-%m-%d %H:%M} UTC) -> {where}"
