"""The `handoff` command: parse arguments, build settings, call one function, print the answer.

Each command group is a module here with `add(commands)`, which adds its subparser and sets
`run`, the coroutine that runs it: `run(args, engine, settings) -> exit status`. A module
imports what its commands need when they run, so that `handoff --version` and `--help`
import little.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import __version__

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.config import Settings

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]  # what add() adds to
    Command = Callable[[argparse.Namespace, AsyncEngine, Settings], Awaitable[int]]  # a run


SERVE_WAITS_FOR_DATABASE = 60.0  # seconds


class UsageError(Exception):
    """Wrong arguments or a missing record: shown as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, in the order `handoff --help` lists them."""
    from bot.cli import (
        demo,
        digest,
        hubspot,
        ingest,
        jobs,
        oauth,
        partners,
        prune,
        referrals,
        replies,
        reports,
        serve,
        webhooks,
    )

    parser = argparse.ArgumentParser(
        prog="handoff",
        description="Partner referrals by email, claimed in Slack: the address is the attribution.",
        epilog="Settings come from HANDOFF_* environment variables and .env; see README.",
    )
    parser.add_argument("--version", action="version", version=f"handoff {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.add_migrate(commands)
    partners.add(commands)
    ingest.add(commands)
    referrals.add(commands)  # and triage
    replies.add(commands)
    serve.add(commands)
    jobs.add(commands)
    digest.add(commands)
    reports.add(commands)
    webhooks.add(commands)
    hubspot.add(commands)
    prune.add(commands)
    oauth.add(commands)
    demo.add(commands)
    return parser


def instant(text: str) -> datetime:
    """The type of --now: an ISO-8601 instant, UTC when it has no offset."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 instant (expected e.g. 2026-11-23T09:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def run() -> None:
    """`handoff` and `python -m bot`: main() in a process of its own, which it then leaves.

    Starting a command makes over 100,000 objects (SQLAlchemy, pydantic, the settings) and
    hardly any garbage, and the cyclic collector would scan them again and again. So the
    collector stays off while they are made, and main() freezes them (they live as long as the
    process) before it turns the collector on; at exit they are frozen once more, so that the
    interpreter's last collections skip them: `handoff referrals list` starts about 0.14 s
    sooner (README, Performance). main() called in-process, as the tests do, leaves the
    collector alone.
    """
    gc.disable()
    try:
        main()
    finally:
        gc.freeze()


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the command; exits with its status (run() is the entry)."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from bot.signals import remember_sigterm

        remember_sigterm()
    # Imported once the arguments are read: `--version`, `--help` and usage errors need none.
    import asyncio

    import sqlalchemy as sa

    import bot.db  # noqa: F401 - before the log is set up: alembic logs lines as it is imported
    from bot.config import ConfigError, load_settings
    from bot.logs import read_log_format, setup_logging

    if not gc.isenabled():  # run() kept it off while the modules loaded: see there
        gc.freeze()
        gc.enable()
    try:
        # The log format is read alone: it applies even when another setting is wrong.
        setup_logging(args.command, read_log_format())
        if args.command == "demo":  # the demo brings its own settings and database
            code = asyncio.run(args.run(args))
        elif not getattr(args, "database", True):  # e.g. `oauth authorize`: no database
            code = asyncio.run(args.run(args, load_settings()))
        else:
            settings = load_settings()
            code = asyncio.run(_dispatch(args, settings))
    except (ConfigError, UsageError) as exc:
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


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Open the database (migrated first, but by `migrate` itself) and run the command."""
    from bot.db import open_database, share_one_cpu

    if settings.database_url.startswith("sqlite"):
        share_one_cpu()  # before aiosqlite starts its thread, which inherits the affinity
    migrate_first = args.command != "migrate"  # `migrate` reports what it did itself
    # serve starts beside its database, which may not take connections yet: it waits a minute.
    patience = SERVE_WAITS_FOR_DATABASE if args.command == "serve" else 0.0
    async with open_database(
        settings.database_url, migrate=migrate_first, patience=patience
    ) as engine:
        run: Command = args.run
        return await run(args, engine, settings)
