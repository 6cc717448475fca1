"""`handoff serve` (everything on one loop, see bot.wiring) and `handoff migrate`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add_migrate(commands: Commands) -> None:
    """`handoff migrate` (listed first in `handoff --help`, apart from serve)."""
    commands.add_parser(
        "migrate",
        help="bring the database schema up to date (every command also does this by itself)",
    ).set_defaults(run=migrate)


def add(commands: Commands) -> None:
    """`handoff serve`."""
    commands.add_parser(
        "serve",
        help="watch the partner mailboxes (HANDOFF_IMAP_URL) and process each message as it lands",
        description="Run until SIGTERM or Ctrl-C. Logs one line per event to stderr.",
    ).set_defaults(run=serve)


async def serve(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Slack, the IMAP watchers, the outbox and the sweeps, until SIGTERM or Ctrl-C."""
    from bot.wiring import serve

    return await serve(settings, engine)


async def migrate(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Upgrade the schema and say from which revision to which."""
    from bot.db import upgrade

    before, after = await upgrade(engine)
    print(
        f"database at revision {after}"
        + (f" (was {before or 'empty'})" if before != after else " (already up to date)")
    )
    return 0
