#!/usr/bin/env python3
"""Benchmark: the IMAP watcher against a real Dovecot on loopback.

    uv run python bench/imap.py [--latency 200] [--backlog 2000] [--database-url URL] [--oauth]

1. Latency: messages APPENDed one at a time while the watcher sits in IDLE; for each, the time
   from the start of the APPEND to the commit of what intake made of it. Prints p50, p95, max.
   Target (issue 3): p50 under 250 ms, p95 under 1 s.
2. Backlog: the watcher stopped, N messages APPENDed, the watcher started; prints the time until
   the last one is committed, and messages/second.

The messages are bench/mbox's realistic mix (intros, forwards, replies, noise, …).
Needs Dovecot (`apt-get install dovecot-imapd`); the server runs from a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # also runs as `python bench/imap.py`

# The parser process intake starts for a catch-up (bot/intake/parsers.py) begins by importing
# the main module, as multiprocessing's spawn does: this one imports Handoff inside functions,
# so that the process is up as soon as it is under `handoff serve`.
if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot

USER = "partners@ours.example"
NEWS: list[float] = []  # when the watcher's connection received each untagged EXISTS


def record_exists() -> None:
    """Timestamp every EXISTS the server pushes: the server's share of latency ends there."""
    from bot.mail import imap as imap_wire

    original = imap_wire.ImapConnection._notice_exists

    def notice(self: imap_wire.ImapConnection, protocol: object) -> None:
        original(self, protocol)
        inner = protocol._untagged_response  # type: ignore[attr-defined]

        def untagged(line: bytes) -> object:
            if b"EXISTS" in line:
                NEWS.append(time.perf_counter())
            return inner(line)

        protocol._untagged_response = untagged  # type: ignore[attr-defined]

    imap_wire.ImapConnection._notice_exists = notice  # type: ignore[method-assign]


TARGET_P50_MS, TARGET_P95_MS = 250, 1000


def messages(count: int, seed: int, work: Path) -> list[bytes]:
    path = work / "mix.mbox"
    from bench.mbox import write_mbox
    from bot.intake.sources import read_mbox

    write_mbox(path, messages=count, seed=seed)
    return [m.raw for m in read_mbox(path)][:count]


class Appender:
    """Another mail client: one IMAP connection of its own, in a thread of its own."""

    def __init__(self, server: Dovecot) -> None:
        from tests.support.dovecot import PASSWORD

        self.imap = imaplib.IMAP4("127.0.0.1", server.port)
        self.imap.login(USER, PASSWORD)
        self.lock = threading.Lock()

    def append(self, raw: bytes) -> None:
        with self.lock:
            status, data = self.imap.append("INBOX", None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


async def main() -> int:
    from bench.common import emptied, own_settings, scaled
    from bench.mbox import INTERNAL_DOMAINS, PARTNER_MAILBOX, PARTNERS
    from bot.config import load_settings
    from bot.db import create_engine, session_factory, upgrade
    from bot.email.parse import parse
    from bot.mail.watcher import FolderWatcher
    from bot.referrals.partners import add_partner
    from bot.wiring import watch_settings
    from tests.support.dovecot import Dovecot
    from tests.support.oauth import TokenStandIn

    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=scaled(200), help="messages, one at a time")
    parser.add_argument(
        "--backlog", type=int, default=scaled(2000), help="messages appended while down"
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument(
        "--oauth",
        action="store_true",
        help="sign in with OAuth (XOAUTH2, Dovecot's oauth2 passdb, a local token endpoint)",
    )
    args = parser.parse_args()
    if args.latency < 1:
        parser.error("--latency must be at least 1")
    record_exists()

    work = Path(tempfile.mkdtemp(prefix="handoff-bench-imap-"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    if args.database_url:
        await emptied(url)
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as session:
        for p in PARTNERS:
            await add_partner(
                session=session,
                slug=p["slug"],
                name=p["name"],
                addresses=p["addresses"],
                contacts=p["contacts"],
                domains=p["domains"],
            )
        await session.commit()
    mix = messages(args.latency + args.backlog, args.seed, work)
    latency_set, backlog_set = mix[: args.latency], mix[args.latency :]

    oauth: dict[str, object] = {}
    tokens = None
    if args.oauth:
        tokens = await TokenStandIn(mailbox=USER).start()
        oauth = {
            "imap_auth": "oauth2",
            "oauth_provider": "microsoft",
            "oauth_tenant": "bench",
            "oauth_token_url": tokens.token_url,
            "oauth_client_id": tokens.client_id,
            "oauth_client_secret": tokens.client_secret,
        }
    server = Dovecot(introspection_url=tokens.introspection_url if tokens else None)
    server.start()
    server.add_user(USER)
    settings = load_settings(
        imap_url=server.url(USER),
        internal_domains=",".join(INTERNAL_DOMAINS),
        partner_mailbox=PARTNER_MAILBOX,
        **oauth,
    )
    print(f"signing in with {'OAuth (XOAUTH2)' if args.oauth else 'a password'}")
    target = settings.imap_targets[0]
    committed: dict[str, float] = {}
    waiting: dict[str, asyncio.Future[float]] = {}
    processed = 0

    def observe(results: list) -> None:  # type: ignore[type-arg]
        nonlocal processed
        now = time.perf_counter()
        processed += len(results)
        for r in results:
            key = r.message_id or ""
            committed[key] = now
            future = waiting.pop(key, None)
            if future is not None and not future.done():
                future.set_result(now)

    watcher = FolderWatcher(
        target, engine=engine, settings=watch_settings(settings), observer=observe
    )
    appender = Appender(server)
    try:
        # 1. Latency, in IDLE.
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(1.0)  # connected, caught up (empty), idling
        latencies, ours = [], []
        loop = asyncio.get_running_loop()
        for raw in latency_set:
            key = parse(raw).message_id or ""
            if key in committed:
                continue  # a duplicate delivery in the mix: the first one was measured
            future: asyncio.Future[float] = loop.create_future()
            waiting[key] = future
            started = time.perf_counter()
            await asyncio.to_thread(appender.append, raw)
            try:
                done_at = await asyncio.wait_for(future, 30)
            except TimeoutError:
                raise RuntimeError(
                    f"message {key!r} never committed ({len(latencies)} done)"
                ) from None
            latencies.append((done_at - started) * 1000)
            pushed = [t for t in NEWS if started <= t <= done_at]
            if pushed:
                ours.append((done_at - pushed[-1]) * 1000)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        p50, p95, top = percentiles(latencies)
        print(
            f"latency, APPEND to commit, {len(latencies)} messages one at a time (IDLE): "
            f"p50 {p50:.0f} ms (target < {TARGET_P50_MS}), p95 {p95:.0f} ms "
            f"(target < {TARGET_P95_MS}), max {top:.0f} ms"
        )
        if ours:
            p50, p95, top = percentiles(ours)
            print(
                f"  of which Handoff's share, EXISTS pushed to commit: p50 {p50:.1f} ms, "
                f"p95 {p95:.1f} ms, max {top:.1f} ms (the rest is the server's notification)"
            )

        # 2. Backlog: appended while stopped, then started.
        started = time.perf_counter()
        for raw in backlog_set:
            appender.append(raw)
        print(f"appended {len(backlog_set):,} messages in {time.perf_counter() - started:.1f}s")
        processed = 0
        started = time.perf_counter()
        task = asyncio.create_task(watcher.run())
        while processed < len(backlog_set):
            await asyncio.sleep(0.01)
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"backlog stalled at {processed}")
        elapsed = time.perf_counter() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(
            f"backlog: {len(backlog_set):,} messages caught up in {elapsed:.1f}s: "
            f"{len(backlog_set) / elapsed:,.0f} msg/s ({engine.dialect.name})"
        )
    finally:
        server.cleanup()
        await engine.dispose()
        if tokens is not None:
            await tokens.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
