"""`handoff jobs run NAME`: one sweep by hand, printed, and delivered before the command exits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.jobs.rules import To
from bot.jobs.sweeps import Planned, Sweeper
from bot.models import NudgeKind
from bot.outbox import Outbox

DELIVERY_SECONDS = 60.0


def describe(planned: Planned) -> str:
    """One line: what the nudge is about and where it goes."""
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


async def run_job(
    engine: AsyncEngine,
    settings: Settings,
    name: str,
    *,
    as_of: datetime | None,
    dry_run: bool,
    out: TextIO,
) -> int:
    """Run the sweep, print each nudge, deliver them; 1 if some could not be delivered yet."""
    from bot.slack.app import web_client
    from bot.slack.nudger import Nudger
    from bot.slack.people import People
    from bot.slack.poster import Poster
    from bot.slack.roster import Roster

    outbox = None
    if settings.slack_bot_token is not None:
        client = web_client(settings)
        roster = Roster(client, rep_group=settings.rep_group, managers=settings.managers)
        people = People(engine, client, roster)
        poster = Poster(engine, client, channel=settings.slack_channel)
        nudger = Nudger(engine, client, settings)
        outbox = Outbox(
            engine,
            poster.handlers() | nudger.handlers(),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
    elif dry_run:
        people = People(engine, None, None)
    else:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not set, and nudges are sent to Slack (--dry-run shows them)"
        )
    result = await Sweeper(engine, settings, people).run(name, as_of=as_of, dry_run=dry_run)
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
