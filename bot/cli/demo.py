"""`handoff demo`: the bundled story, run against stand-ins in a throwaway database."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli import Commands


def add(commands: Commands) -> None:
    """`handoff demo`."""
    commands.add_parser(
        "demo",
        help="ingest the bundled sample intros into a throwaway database and print the referrals",
    ).set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Run the demo; it brings its own settings and database, so it takes neither."""
    from bot.demo.story import run_demo

    return await run_demo(sys.stdout)
