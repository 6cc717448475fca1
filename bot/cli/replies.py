"""`handoff replies explain FILE`: how intake reads a partner's answer, and where each part goes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add(commands: Commands) -> None:
    """`handoff replies` and its action."""
    replies = commands.add_parser(
        "replies", help="partners' answers to digests and notices: how one was read"
    )
    actions = replies.add_subparsers(dest="action", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain",
        help="show how a reply was split (new text, quotes, signature) and where each answer goes",
        description="Read one email as intake reads a reply: the part read, each stretch as "
        "new text, quote, reply header or signature, the referral each quote ends in, and "
        "where each answer goes with the reason. Reads the database, changes nothing. "
        "Get a stored message with: handoff triage show ID > reply.eml",
    )
    explain.set_defaults(run=explain_reply)
    explain.add_argument("file", metavar="FILE", help="an .eml file, or - for standard input")
    explain.add_argument("--json", action="store_true", help="print JSON")


async def explain_reply(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Read the file (or standard input) and print how it was read, or JSON."""
    import asyncio
    from pathlib import Path

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
