"""`handoff referrals list|show` and `handoff triage [show ID]`: what came in, read back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add(commands: Commands) -> None:
    """`handoff referrals` and `handoff triage`, with their actions."""
    referrals = commands.add_parser("referrals", help="list and show referrals")
    actions = referrals.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list referrals, oldest first")
    listing.set_defaults(run=list_referrals)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--partner", metavar="SLUG", help="only this partner's referrals")
    show = actions.add_parser("show", help="one referral with its timeline")
    show.set_defaults(run=show_referral)
    show.add_argument("ref", metavar="REF", help="e.g. ACME-12")
    show.add_argument("--json", action="store_true", help="print JSON")

    triage = commands.add_parser(
        "triage", help="messages that need a person: unknown partner, rejected, digest replies"
    )
    triage.set_defaults(run=list_triage)  # `show` sets its own
    triage.add_argument("--json", action="store_true", help="print JSON")
    triage_actions = triage.add_subparsers(dest="action", metavar="ACTION")
    message = triage_actions.add_parser("show", help="print one stored message exactly as received")
    message.set_defaults(run=show_message)
    message.add_argument("id", type=int, metavar="ID", help="the message number `triage` lists")
    done = triage_actions.add_parser(
        "done", help="take a message out of triage: a person dealt with it (kept, with the note)"
    )
    done.set_defaults(run=triage_done)
    done.add_argument("id", type=int, metavar="ID", help="the message number `triage` lists")
    done.add_argument("--note", metavar="TEXT", help="what was done about it")


async def list_referrals(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """The referral table, or JSON."""
    from bot.db import session_factory
    from bot.referrals import lookup

    async with session_factory(engine)() as session:
        rows = await lookup.list_referrals(session=session, partner=args.partner)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print_referral_table(rows, sys.stdout)
    return 0


def print_referral_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The referral list as `handoff referrals list` prints it."""
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


async def show_referral(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """One referral's fields and timeline, or JSON; exit status 2 if there is no such one."""
    from bot.db import session_factory
    from bot.referrals import lookup

    async with session_factory(engine)() as session:
        data = await lookup.show_referral(session=session, ref=args.ref)
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


async def list_triage(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """The stored messages that need a person, one line each, or JSON."""
    from bot.db import session_factory
    from bot.referrals import lookup

    async with session_factory(engine)() as session:
        rows = await lookup.triage(session=session)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("nothing to triage")
    for row in rows:
        print(f"#{row['id']:<6} {row['kind']:<16} {row['sender'] or '-':<30} {row['reason']}")
    return 0


async def triage_done(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Mark one triage entry done: it leaves the list; re-ingesting it is then a duplicate."""
    import getpass

    from bot.models import utcnow
    from bot.referrals import triage

    note = " ".join((args.note or "").split()) or None
    async with engine.begin() as conn:
        done = await triage.mark_done(
            conn, message_id=args.id, by=f"cli:{getpass.getuser()}", note=note, at=utcnow()
        )
    if not done:
        raise UsageError(f"message #{args.id} is not waiting in triage (see: handoff triage)")
    print(f"#{args.id} done" + (f": {note}" if note else "") + "; it left triage (kept)")
    return 0


async def show_message(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """The stored message's bytes exactly as received (e.g. for `replies explain`)."""
    from bot.db import session_factory
    from bot.referrals import lookup

    async with session_factory(engine)() as session:
        raw = await lookup.raw_message(session=session, message_id=args.id)
    if raw is None:
        raise UsageError(f"no stored message #{args.id} (see: handoff triage)")
    if not raw:
        raise UsageError(
            f"message #{args.id} was never read: the mail server would not hand it over "
            "(its reason is in handoff triage; it is asked for again)"
        )
    sys.stdout.flush()
    sys.stdout.buffer.write(raw)
    return 0
