"""The `handoff` command: parse arguments, build settings, call one function, print the answer."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.db import open_database, session_factory, share_one_cpu, upgrade
from bot.digests.sweep import DIGESTS
from bot.intake.pipeline import IngestResult, Intake
from bot.intake.sources import SourceError, batched, read_paths
from bot.logs import read_log_format, setup_logging
from bot.nudges.sweeps import SWEEPS
from bot.referrals.directory import settings_directory
from bot.referrals.lookup import list_referrals, raw_message, show_referral, triage
from bot.referrals.partners import PartnerError, add_partner, list_partners

log = logging.getLogger("handoff")
PROGRESS_SECONDS = 5.0
BATCH = 100  # messages per transaction in `ingest` (a batch in flight is at most this many)


class UsageError(Exception):
    """Wrong arguments or a missing record: shown as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handoff",
        description="Partner referrals by email, claimed in Slack: the address is the attribution.",
        epilog="Settings come from HANDOFF_* environment variables and .env; see README.",
    )
    parser.add_argument("--version", action="version", version=f"handoff {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "migrate",
        help="bring the database schema up to date (every command also does this by itself)",
    )

    partners = commands.add_parser("partners", help="register and list partners")
    partner_cmds = partners.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = partner_cmds.add_parser(
        "add",
        help="register a partner, or add addresses to one",
        description="Register a partner. Run again with the same SLUG to add addresses.",
    )
    add.add_argument("slug", metavar="SLUG", help="short name, e.g. acme (refs become ACME-1 …)")
    add.add_argument("--name", help="display name (required for a new partner)")
    add.add_argument(
        "--address",
        action="append",
        default=[],
        metavar="ADDR",
        help="one of our addresses that belongs to the partner, e.g. "
        "acme-intros@ours.example (repeatable)",
    )
    add.add_argument(
        "--contact",
        action="append",
        default=[],
        metavar="EMAIL",
        help="a person at the partner allowed to send intros (repeatable)",
    )
    add.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="the partner's own email domain (repeatable)",
    )
    add.add_argument(
        "--slack-channel",
        metavar="CHANNEL",
        help="post this partner's intros there instead of HANDOFF_SLACK_CHANNEL (id or name)",
    )
    add.add_argument(
        "--first-response-sla",
        metavar="DURATION",
        help="this partner's first-response deadline after a claim, e.g. 4h "
        "(default HANDOFF_FIRST_RESPONSE_SLA)",
    )
    add.add_argument(
        "--digest",
        metavar="CRON",
        help="when its status digest goes out, as a cron line in its time zone, e.g. "
        "'0 9 * * mon' (default HANDOFF_DIGEST_SCHEDULE), or 'off'",
    )
    add.add_argument(
        "--timezone",
        metavar="ZONE",
        help="its time zone for digests, e.g. Europe/Berlin (default HANDOFF_TIMEZONE)",
    )
    add.add_argument(
        "--stage-emails",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="email its contacts at once when a referral gets a meeting, is won or lost",
    )
    plist = partner_cmds.add_parser("list", help="list partners")
    plist.add_argument("--json", action="store_true", help="print JSON")

    ingest = commands.add_parser(
        "ingest",
        help="ingest .eml files, mbox files or Maildirs",
        description="Process messages in argument order, exactly as the IMAP watcher does.",
    )
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
        help="store referrals without posting them or their replies to Slack (for backfills "
        "of old mail)",
    )

    referrals = commands.add_parser("referrals", help="list and show referrals")
    ref_cmds = referrals.add_subparsers(dest="action", metavar="ACTION", required=True)
    rlist = ref_cmds.add_parser("list", help="list referrals, oldest first")
    rlist.add_argument("--json", action="store_true", help="print JSON")
    rlist.add_argument("--partner", metavar="SLUG", help="only this partner's referrals")
    show = ref_cmds.add_parser("show", help="one referral with its timeline")
    show.add_argument("ref", metavar="REF", help="e.g. ACME-12")
    show.add_argument("--json", action="store_true", help="print JSON")

    tri = commands.add_parser(
        "triage", help="messages that need a person: unknown partner, rejected, digest replies"
    )
    tri.add_argument("--json", action="store_true", help="print JSON")
    tri_cmds = tri.add_subparsers(dest="action", metavar="ACTION")
    tri_show = tri_cmds.add_parser("show", help="print one stored message exactly as received")
    tri_show.add_argument("id", type=int, metavar="ID", help="the message number `triage` lists")

    replies = commands.add_parser(
        "replies", help="partners' answers to digests and notices: how one was read"
    )
    reply_cmds = replies.add_subparsers(dest="action", metavar="ACTION", required=True)
    explain = reply_cmds.add_parser(
        "explain",
        help="show how a reply was split (new text, quotes, signature) and where each answer goes",
        description="Read one email as intake reads a reply: the part read, each stretch as "
        "new text, quote, reply header or signature, the referral each quote ends in, and "
        "where each answer goes with the reason. Reads the database, changes nothing. "
        "Get a stored message with: handoff triage show ID > reply.eml",
    )
    explain.add_argument("file", metavar="FILE", help="an .eml file, or - for standard input")
    explain.add_argument("--json", action="store_true", help="print JSON")

    commands.add_parser(
        "serve",
        help="watch the partner mailboxes (HANDOFF_IMAP_URL) and process each message as it lands",
        description="Run until SIGTERM or Ctrl-C. Logs one line per event to stderr.",
    )

    jobs = commands.add_parser(
        "jobs",
        help="the scheduled sweeps (nudges and reminders): list them, run one now",
        description="The sweeps `handoff serve` runs on a schedule. Each one looks at the "
        "database and sends what is due and was not sent before, so running one by hand "
        "never sends a nudge twice.",
    )
    job_cmds = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    jlist = job_cmds.add_parser("list", help="each job's schedule, last run and next run")
    jlist.add_argument("--json", action="store_true", help="print JSON")
    jrun = job_cmds.add_parser(
        "run",
        help="run one sweep now and deliver what it sends before exiting",
        description="Run one sweep as of now (or --now), print each nudge it sends, and "
        "deliver them through the outbox before exiting.",
    )
    jrun.add_argument("name", metavar="NAME", help=f"one of: {', '.join((*SWEEPS, DIGESTS))}")
    jrun.add_argument(
        "--now",
        metavar="ISO-8601",
        type=_instant,
        help="run as of this instant, e.g. 2026-11-23T09:00:00Z (a time without offset is UTC)",
    )
    jrun.add_argument(
        "--dry-run", action="store_true", help="print what would be sent, send and record nothing"
    )

    digest = commands.add_parser(
        "digest",
        help="partner status digests: preview one, send one now",
        description="The status digest a partner gets on its schedule (see partners add "
        "--digest). Sending one by hand records it like a scheduled one: the next digest "
        "covers what happened after it.",
    )
    digest_cmds = digest.add_subparsers(dest="action", metavar="ACTION", required=True)
    preview = digest_cmds.add_parser(
        "preview", help="print the digest the partner would get now (nothing is sent)"
    )
    preview.add_argument("slug", metavar="SLUG", help="the partner, e.g. acme")
    preview.add_argument("--html", action="store_true", help="print the HTML version")
    preview.add_argument("--now", metavar="ISO-8601", type=_instant, help="as of this instant")
    dsend = digest_cmds.add_parser(
        "send", help="send the partner's digest now to each of its contacts, and wait for it"
    )
    dsend.add_argument("slug", metavar="SLUG", help="the partner, e.g. acme")
    dsend.add_argument(
        "--always", action="store_true", help="send it even when nothing is new since the last"
    )
    dsend.add_argument("--now", metavar="ISO-8601", type=_instant, help="as of this instant")

    rep = commands.add_parser(
        "report",
        help="what each partner brought in a period and what became of it (as /attribution)",
        description="Referrals received in the period, per partner, and what became of them: "
        "claims, time to claim and to first response, meetings, roles, opportunities, won and "
        "lost, revenue. Periods are in HANDOFF_TIMEZONE.",
    )
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
    rep.add_argument("--now", metavar="ISO-8601", type=_instant, help="as of this instant")

    commands.add_parser(
        "demo",
        help="ingest the bundled sample intros into a throwaway database and print the referrals",
    )
    return parser


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 instant (expected e.g. 2026-11-23T09:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main(argv: list[str] | None = None) -> None:
    """Entry point of `handoff` and `python -m bot`."""
    args = build_parser().parse_args(argv)
    try:
        # The log format is read alone: it applies even when another setting is wrong.
        setup_logging(args.command, read_log_format())
        if args.command == "demo":
            from bot.demo.story import run_demo

            code = asyncio.run(run_demo(sys.stdout))
        else:
            settings = load_settings()
            code = asyncio.run(_dispatch(args, settings))
    except (ConfigError, UsageError, PartnerError, SourceError) as exc:
        print(f"handoff: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("handoff: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`handoff … | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except sa.exc.DBAPIError as exc:
        # The database went away mid-command (what was committed stays committed).
        lines = str(exc.orig or exc).strip().splitlines() or [type(exc).__name__]
        print(f"handoff: database error: {lines[0]}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # e.g. a file we may not read
        print(f"handoff: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


Handler = Callable[[argparse.Namespace, Any, Settings], Awaitable[int]]


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handler = _HANDLERS[(args.command, getattr(args, "action", None))]
    if settings.database_url.startswith("sqlite"):
        share_one_cpu()  # before aiosqlite starts its thread, which inherits the affinity
    migrate_first = args.command != "migrate"  # `migrate` reports what it did itself
    async with open_database(settings.database_url, migrate=migrate_first) as engine:
        return await handler(args, engine, settings)


async def _serve(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.wiring import serve

    return await serve(settings, engine)


async def _migrate(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    before, after = await upgrade(engine)
    print(
        f"database at revision {after}"
        + (f" (was {before or 'empty'})" if before != after else " (already up to date)")
    )
    return 0


async def _partners_add(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        partner, created = await add_partner(
            session=session,
            slug=args.slug,
            name=args.name,
            addresses=args.address,
            contacts=args.contact,
            domains=args.domain,
            slack_channel=args.slack_channel,
            first_response_sla=args.first_response_sla,
            digest=args.digest,
            timezone=args.timezone,
            stage_emails=args.stage_emails,
        )
        await session.commit()
    verb = "registered" if created else "updated"
    hint = ""
    if settings.partner_mailbox:
        local, _, domain = settings.partner_mailbox.partition("@")
        hint = f"; intros to {local}+{partner.slug}@{domain} are its"
    print(f"{verb} partner {partner.slug} ({partner.name}){hint}")
    return 0


async def _partners_list(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        views = await list_partners(session=session)
    if args.json:
        print(json.dumps([v.as_json() for v in views], indent=2))
        return 0
    if not views:
        print("no partners yet: handoff partners add SLUG --name NAME")
    for v in views:
        addresses = ", ".join(v.addresses + v.contacts + [f"@{d}" for d in v.domains]) or "-"
        print(f"{v.slug:<16} {v.name:<28} {v.referrals:>5} referrals  {addresses}")
        for contact, why in (v.not_mailed or {}).items():
            print(f"{'':<16} no mail to {contact}: {why}")
    return 0


async def _ingest(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    directory = await settings_directory(engine, settings)
    counts: Counter[str] = Counter()
    started = last_report = time.monotonic()
    protection = timedelta(days=settings.protection_days)
    async with Intake.open(
        engine=engine,
        directory=directory,
        protection=protection,
        dry_run=args.dry_run,
        slack=not args.no_slack,
    ) as intake:
        for batch in batched(read_paths(args.paths), BATCH):
            for result in await intake.ingest_batch(batch):
                counts[str(result.kind)] += 1
                _print_result(result, args.json, sys.stdout)
            now = time.monotonic()
            if now - last_report >= PROGRESS_SECONDS:
                last_report = now
                total = sum(counts.values())
                rate = total / (now - started)
                print(f"handoff: {total:,} messages so far ({rate:,.0f} msg/s)", file=sys.stderr)
    total = sum(counts.values())
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.most_common()) or "nothing"
    prefix = "would ingest" if args.dry_run else "ingested"
    print(
        f"handoff: {prefix} {total:,} message{'s' if total != 1 else ''} in {elapsed:.1f}s: "
        f"{summary}",
        file=sys.stderr,
    )
    return 0


def _print_result(result: IngestResult, as_json: bool, out: TextIO) -> None:
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


async def _referrals_list(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        rows = await list_referrals(session=session, partner=args.partner)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print_referral_table(rows, sys.stdout)
    return 0


def print_referral_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The referral list as `handoff referrals list` and the demo print it."""
    if not rows:
        out.write("no referrals yet: handoff ingest PATH…\n")
        return
    out.write(
        f"{'REF':<12} {'PARTNER':<12} {'PROSPECT':<44} {'COMPANY':<18} {'STAGE':<9} "
        f"{'ROLE':<22} RECEIVED (UTC)\n"
    )
    for r in rows:
        p = r["prospect"]
        who = f"{p['name']} <{p['email']}>" if p["name"] else p["email"]
        role = r["role"] or "-"
        if r["conflict_with"]:
            role += f" (vs {r['conflict_with']})"
        received = r["received_at"][:16].replace("T", " ")
        out.write(
            f"{r['ref']:<12} {r['partner']:<12} {who[:44]:<44} "
            f"{(p['company'] or '-')[:18]:<18} {r['stage']:<9} {role:<22} {received}\n"
        )


async def _referrals_show(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        data = await show_referral(session=session, ref=args.ref)
    if data is None:
        raise UsageError(f"no referral {args.ref.upper()} (see: handoff referrals list)")
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    p = data["prospect"]
    print(f"{data['ref']}  {p['name'] or ''} <{p['email']}>  {p['company'] or ''}")
    for key in (
        "partner",
        "subject",
        "stage",
        "role",
        "owner",
        "received_at",
        "first_response_at",
        "conflict_with",
    ):
        if data[key]:
            print(f"  {key.replace('_', ' ')}: {data[key]}")
    print("  timeline:")
    for event in data["events"]:
        print(
            f"    {event['at'][:19].replace('T', ' ')}  {event['kind']:<15} {event['actor']}"
            f"  {event['detail'] or ''}"
        )
    return 0


async def _triage(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        rows = await triage(session=session)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("nothing to triage")
    for row in rows:
        print(f"#{row['id']:<6} {row['kind']:<16} {row['sender'] or '-':<30} {row['reason']}")
    return 0


async def _triage_show(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    async with session_factory(engine)() as session:
        raw = await raw_message(session=session, message_id=args.id)
    if raw is None:
        raise UsageError(f"no stored message #{args.id} (see: handoff triage)")
    sys.stdout.flush()
    sys.stdout.buffer.write(raw)
    return 0


async def _replies_explain(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.intake.explain import as_json, explain, render

    try:
        raw = await asyncio.to_thread(
            lambda: sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        )
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise UsageError(f"{args.file} is empty: expected one email message (.eml)")
    found = await explain(engine, settings, raw)
    if args.json:
        print(json.dumps(as_json(found), indent=2, ensure_ascii=False))
    else:
        render(found, sys.stdout)
    return 0


async def _jobs_list(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
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


async def _jobs_run(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.cli.jobs import run_job

    if args.name not in (*SWEEPS, DIGESTS):
        raise UsageError(f"no job {args.name!r} (one of: {', '.join((*SWEEPS, DIGESTS))})")
    return await run_job(
        engine, settings, args.name, as_of=args.now, dry_run=args.dry_run, out=sys.stdout
    )


async def _digest_preview(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.cli.jobs import preview_digest

    return await preview_digest(
        engine, settings, args.slug, html=args.html, as_of=args.now, out=sys.stdout
    )


async def _digest_send(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.cli.jobs import send_digest

    return await send_digest(
        engine, settings, args.slug, always=args.always, as_of=args.now, out=sys.stdout
    )


async def _report(args: argparse.Namespace, engine: Any, settings: Settings) -> int:
    from bot.cli.reports import ReportError, report

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


_HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("report", None): _report,
    ("digest", "preview"): _digest_preview,
    ("digest", "send"): _digest_send,
    ("migrate", None): _migrate,
    ("serve", None): _serve,
    ("partners", "add"): _partners_add,
    ("partners", "list"): _partners_list,
    ("ingest", None): _ingest,
    ("referrals", "list"): _referrals_list,
    ("referrals", "show"): _referrals_show,
    ("triage", None): _triage,
    ("triage", "show"): _triage_show,
    ("replies", "explain"): _replies_explain,
    ("jobs", "list"): _jobs_list,
    ("jobs", "run"): _jobs_run,
}
