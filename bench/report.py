#!/usr/bin/env python3
"""Benchmark: the /attribution summary over 100,000 referrals, and how fast the command answers.

    uv run python -m bench.report [--referrals 100000] [--partners 50] [--backend both]
        [--runs 30] [--commands 20]

--backend is sqlite, postgresql or both (the default). SQLite is a new file in a temporary
folder; PostgreSQL is a new database `handoff_bench_report` on 127.0.0.1:5432 (user postgres,
trust auth; see --postgres-url), dropped if it exists and dropped again at the end. The schema
comes from the migrations; the data set is bench/seed.py's (seed 7), as of 2026-11-23 12:00
UTC: partners over three years, referrals over two with their whole history, about six
events each.

The summary is timed as the bot computes it (bot/reports/summary.py, three queries), each run
on a connection of its own as a command would take, for three periods: `this quarter` (the
default, and the issue's target), `last quarter`, and `last 365d` (the largest cohort). For
each: p50, p95 and max of --runs runs, and the cohort (referrals received in the period).
Target (issue 7): p50 under 300 ms on SQLite and on PostgreSQL on this machine.

Then the slash command, on the seeded SQLite database: `handoff serve` against the tests'
Slack stand-in (tests/support/slackbot.py), and --commands signed `/attribution` requests from a
manager, one after another, as Slack sends them. For each, the HTTP response time (the ack:
Slack wants it within 3 s, whatever the size) and the time until the report reached the
stand-in through the response_url (the bot, the stand-in and the client share this process,
as in bench/slack.py). The sweeps are caught up first (their nudges recorded and
marked sent), as in a bot that has been running all along; otherwise its first sweeps would
send two years of nudges while the commands are measured.

As the bot runs: SQLite shares one CPU (bot.db.share_one_cpu); PostgreSQL gets a VACUUM
ANALYZE after the load, as autovacuum would (it vacuums after many inserts since version 13).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # also runs as `python bench/report.py`

from bench.common import (  # noqa: E402
    NAMES,
    PG_URL,
    analyze,
    as_the_bot_runs,
    database,
    own_settings,
    percentile,
    progress,
    scaled,
)
from bench.seed import seed  # noqa: E402
from bench.sweeps import People  # noqa: E402 - two managers, zones from slack_user
from bot.config import load_settings  # noqa: E402
from bot.db import open_database  # noqa: E402
from bot.demo.standin.signing import command_body  # noqa: E402
from bot.demo.standin.slack import SlackStandIn  # noqa: E402
from bot.models import OutboxJob, utcnow  # noqa: E402
from bot.nudges.sweeps import SWEEPS, Sweeper  # noqa: E402
from bot.reports.periods import parse_period  # noqa: E402
from bot.reports.rolled import differences  # noqa: E402
from bot.reports.summary import summary  # noqa: E402
from tests.support.slackbot import running_bot  # noqa: E402

outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("UTC")  # HANDOFF_TIMEZONE's default
PERIODS = ("this quarter", "last quarter", "last 365d")
TARGETED = ("this quarter", "last 365d")
LANES = timedelta(days=60)  # HANDOFF_ATTACHED_AFTER's default: the attached lane applied
TARGET_MS = 300.0
ACK_MS = 3000.0  # Slack's limit for the ack
REPORT_TIMEOUT = 60.0  # seconds to wait for a report on the response_url
QUIET = 0.5  # seconds without a new message after which a report is taken as complete
MANAGER = "UMGR1"
PG_DATABASE = "handoff_bench_report"
SEED = 7


@dataclass
class Timing:
    period: str
    label: str
    cohort: int
    ms: list[float]  # the summary as /attribution reads it: from the rollups
    direct_ms: list[float] = field(default_factory=list)  # the floor: every referral read
    differences: list[str] = field(default_factory=list)  # rollups vs direct; none expected


@dataclass
class Command:
    acks: list[float] = field(default_factory=list)  # ms
    firsts: list[float] = field(default_factory=list)  # ms, sending to the report's first message
    lasts: list[float] = field(default_factory=list)  # ms, sending to its last message
    messages: int = 0  # messages of the first report
    said: str = ""  # the first report's text, to show it is the report and not an excuse
    missing: str | None = None  # why no report arrived
    caught_up: int = 0  # nudges the sweeps recorded before the bot started


@dataclass
class Backend:
    name: str
    seeded: dict[str, int]
    seconds: float
    timings: list[Timing]
    command: Command | None = None


async def time_summary(engine: AsyncEngine, text: str, runs: int, direct_runs: int) -> Timing:
    """The summary for one period, `runs` times, each on its own connection; then the direct
    query (the one before the rollups, kept as their check) `direct_runs` times, and whether
    the two said the same."""
    period = parse_period(text, ZONE, NOW)
    timing = Timing(text, period.label, 0, [])
    rolled = direct = None
    for n in range(runs + direct_runs):
        started = time.perf_counter()
        async with engine.connect() as conn:
            found = await summary(conn, period, now=NOW, attached_after=LANES, rolled=n < runs)
        (timing.ms if n < runs else timing.direct_ms).append((time.perf_counter() - started) * 1000)
        rolled, direct = (found, direct) if n < runs else (rolled, found)
    assert rolled is not None
    timing.cohort = rolled.totals.received
    if direct is not None:
        timing.differences = differences(rolled, direct)
    return timing


async def catch_up(engine: AsyncEngine) -> int:
    """Run every sweep once and mark what it queued as sent: a bot that has been running."""
    sweeper = Sweeper(engine, load_settings(managers=MANAGER), People(engine))
    nudges = 0
    for name in SWEEPS:
        nudges += len((await sweeper.run(name)).planned)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(outbox).where(outbox.c.done_at.is_(None)).values(done_at=utcnow())
        )
    return nudges


async def arrivals(slack: SlackStandIn, before: int, started: float) -> list[float]:
    """When each message of one report reached the response_url (ms after `started`): polled,
    until QUIET seconds pass without another one (or REPORT_TIMEOUT without any)."""
    times: list[float] = []
    while True:
        now = time.perf_counter()
        times += [(now - started) * 1000] * (len(slack.responded) - before - len(times))
        if (times and now - started > times[-1] / 1000 + QUIET) or (
            not times and now - started > REPORT_TIMEOUT
        ):
            return times
        await asyncio.sleep(0.002)


async def slash_commands(engine: AsyncEngine, count: int) -> Command:
    """`handoff serve` on the seeded database, and `count` /attribution commands from a manager."""
    measured = Command(caught_up=await catch_up(engine))
    progress(f"  slash command: sweeps caught up ({measured.caught_up:,} nudges), starting the bot")
    async with running_bot(engine, managers=MANAGER) as bot:
        for n in range(1, count + 1):
            before = len(bot.slack.responses)
            body = command_body(
                token="legacy-verification-token",
                team_id="T0TEAM",
                team_domain="standin",
                channel_id="C0INTROS",
                channel_name="partner-intros",
                user_id=MANAGER,
                user_name="manager",
                command="/attribution",
                text="",
                api_app_id="A0APP",
                response_url=bot.slack.response_url(),
                trigger_id=f"{n}.42.benchreport",
            )
            started = time.perf_counter()
            answer = await bot.send(body)
            if answer.status != 200:
                measured.missing = f"the command was answered {answer.status}: {answer.text[:200]}"
                break
            measured.acks.append(answer.seconds * 1000)
            arrived = await arrivals(bot.slack, before, started)
            if not arrived:
                said = answer.text.strip()[:200] or "an empty ack"
                measured.missing = (
                    f"no report on the response_url within {REPORT_TIMEOUT:.0f} s "
                    f"(the ack said: {said})"
                )
                break
            measured.firsts.append(arrived[0])
            measured.lasts.append(arrived[-1])
            if n == 1:
                first = bot.slack.responses[before]
                measured.messages, measured.said = len(arrived), str(first.get("text", ""))
            if n == 1 or n % 5 == 0:
                progress(f"  slash command: {n} / {count}")
    return measured


async def bench_backend(backend: str, url: str, args: argparse.Namespace) -> Backend:
    label = NAMES[backend]
    async with open_database(url, migrate=True) as engine:
        progress(f"{label}: seeding {args.referrals:,} referrals, {args.partners} partners")
        started = time.perf_counter()
        seeded = await seed(
            engine, referrals=args.referrals, partners=args.partners, now=NOW, seed=SEED
        )
        seconds = time.perf_counter() - started
        await analyze(engine, vacuum=True)  # PostgreSQL only: autovacuum after a bulk load
        progress(f"  {label}: seeded in {seconds:.1f} s ({seeded['events']:,} events)")
        timings = []
        for text in PERIODS:
            timing = await time_summary(engine, text, args.runs, args.direct_runs)
            direct = (
                f", direct {percentile(timing.direct_ms, 50):.0f} ms" if timing.direct_ms else ""
            )
            progress(
                f"  {label}: {text}: p50 {percentile(timing.ms, 50):.0f} ms{direct} "
                f"over {timing.cohort:,} referrals"
            )
            timings.append(timing)
        result = Backend(label, seeded, seconds, timings)
        if backend == "sqlite" and args.commands:
            result.command = await slash_commands(engine, args.commands)
    return result


# --- the report --------------------------------------------------------------------------------


def report(result: Backend, runs: int) -> None:
    seeded = result.seeded
    print()
    print(
        f"{result.name}: {seeded['referrals']:,} referrals, {seeded['partners']} partners, "
        f"{seeded['events']:,} events, seeded in {result.seconds:.1f} s; "
        f"summary as of {NOW:%Y-%m-%d %H:%M} UTC, {runs} runs per period"
    )
    print(
        f"  {'period':<14}{'':<10}{'cohort':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'direct p50':>12}  same as direct"
    )
    for t in result.timings:
        direct = f"{percentile(t.direct_ms, 50):>12.0f}" if t.direct_ms else f"{'-':>12}"
        same = "-" if not t.direct_ms else "yes" if not t.differences else "NO"
        print(
            f"  {t.period:<14}{t.label:<10}{t.cohort:>10,}{percentile(t.ms, 50):>9.1f}"
            f"{percentile(t.ms, 95):>9.1f}{max(t.ms):>9.1f}{direct}  {same}"
        )
        for difference in t.differences[:5]:
            print(f"    PROBLEM: {difference}")
    for t in result.timings:
        if t.period in TARGETED:
            p50 = percentile(t.ms, 50)
            print(
                f"  target (issues 7, 24): p50 <= {TARGET_MS:.0f} ms for `{t.period}`: "
                f"{'met' if p50 <= TARGET_MS else 'NOT met'} ({p50:.0f} ms)"
            )
    command = result.command
    if command is None:
        return
    print(
        f"  /attribution through `handoff serve` ({len(command.acks)} commands from a manager, "
        f"one after another; {command.caught_up:,} nudges caught up first):"
    )
    if command.acks:
        worst = max(command.acks)
        print(
            f"    ack (HTTP response): p50 {percentile(command.acks, 50):.0f} ms, "
            f"max {worst:.0f} ms (Slack wants < {ACK_MS / 1000:.0f} s: "
            f"{'met' if worst < ACK_MS else 'NOT met'})"
        )
    if command.firsts:
        print(
            f"    report on the response_url, first message: p50 "
            f"{percentile(command.firsts, 50):.0f} ms, max {max(command.firsts):.0f} ms; "
            f"last of its {command.messages}: p50 {percentile(command.lasts, 50):.0f} ms, "
            f"max {max(command.lasts):.0f} ms"
        )
        print(f"    it says: {command.said[:100]!r}")
    if command.missing:
        print(f"    PROBLEM: {command.missing}")


async def run(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with tempfile.TemporaryDirectory(prefix="handoff-bench-report-") as tmp:
        for backend in backends:
            with as_the_bot_runs(backend):
                db_file = Path(tmp) / "report.db"
                async with database(backend, db_file, args.postgres_url, PG_DATABASE) as url:
                    results.append(await bench_backend(backend, url, args))
    for result in results:
        report(result, args.runs)
    if any(t.differences for r in results for t in r.timings):
        sys.exit(1)  # the rollups said something else than the referrals
    if any(r.command is not None and r.command.missing for r in results):
        sys.exit(1)  # the command did not work: no figure stands in for that


def main() -> None:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Sizes given are scaled too: the tests run README's `--referrals 1000000` at 0.01 of it.
    parser.add_argument("--referrals", type=lambda text: scaled(int(text)), default=scaled(100_000))
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=scaled(30), help="summaries timed per period")
    parser.add_argument(
        "--direct-runs",
        type=int,
        default=3,
        help="the direct query (every referral read, the rollups' check) timed per period",
    )
    parser.add_argument(
        "--commands", type=int, default=scaled(20), help="slash commands sent on SQLite (0: none)"
    )
    parser.add_argument(
        "--postgres-url",
        default=PG_URL,
        help=f"a database to connect to while creating and dropping {PG_DATABASE} "
        f"(default {PG_URL})",
    )
    args = parser.parse_args()
    if args.referrals < 1 or args.partners < 1 or args.runs < 1 or args.commands < 0:
        parser.error("--referrals, --partners and --runs must be at least 1")
    if args.direct_runs < 0:
        parser.error("--direct-runs must be 0 or more")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
