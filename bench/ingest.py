#!/usr/bin/env python3
"""Benchmark: build a 10,000-message mbox of intros, replies and noise, and ingest it.

    uv run python bench/ingest.py [--messages 10000] [--database-url URL] [--keep DIR]

Runs the real `handoff ingest` in a child process against a fresh database (SQLite by default)
and prints messages/second and the peak RSS of the child with its parser process (sampled).
Targets: >= 500 msg/s (issue 2) and >= 1,000 msg/s (issue 24) on SQLite, with peak RSS under
200 MB, on a 2-core machine.

On SQLite it then runs the floor, in a child of its own: Handoff's own mbox reader and parser
and one executemany INSERT of the stored rows per batch, nothing decided (issue 24: ingest
within 2x of it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # also runs as `python bench/ingest.py`

from bench.common import emptied, own_settings, scaled  # noqa: E402
from bench.mbox import INTERNAL_DOMAINS, PARTNER_MAILBOX, PARTNERS, write_mbox  # noqa: E402

TARGET_RATE = 500
TARGET_RATE_SQLITE = 1_000  # issue 24
TARGET_RSS_MB = 200


def handoff(env: dict[str, str], *args: str, stdout: int | None = None) -> None:
    command = [sys.executable, "-m", "bot", *args]
    subprocess.run(command, env=env, check=True, stdout=stdout or subprocess.DEVNULL)


# `handoff A…`, then `handoff B…`, … in one child: the set-up pays the start-up once.
SEVERAL = """
import json, sys
from bot import cli
for argv in json.loads(sys.argv[1]):
    try:
        cli.main(argv)
    except SystemExit as exc:
        if exc.code:
            raise
"""


def _rss_kb(pid: int) -> int:
    """A process's resident memory and its descendants' (its parser process), in KB (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        own = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        children = [
            int(c)
            for t in Path(f"/proc/{pid}/task").iterdir()
            for c in (t / "children").read_text().split()
        ]
    except (OSError, StopIteration, ValueError):
        return 0  # gone meanwhile
    return own + sum(_rss_kb(c) for c in children)


def peak_rss(child: subprocess.Popen[bytes]) -> int:
    """The peak, sampled every 20 ms until it ends, of the child's resident memory together
    with its own children's (ru_maxrss would give the largest one alone)."""
    peak = 0
    while child.poll() is None:
        peak = max(peak, _rss_kb(child.pid))
        time.sleep(0.02)
    return max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def several(env: dict[str, str], commands: list[list[str]]) -> None:
    child = [sys.executable, "-c", SEVERAL, json.dumps(commands)]
    subprocess.run(child, env=env, check=True, stdout=subprocess.DEVNULL)


# The floor: what no ingest can skip (read, parse, store the bytes), in batches as ingest's.
FLOOR = """
import sqlite3, sys, time
from pathlib import Path
from bot.cli.ingest import BATCH
from bot.email.parse import parse
from bot.intake.sources import batched, read_mbox
from bot.models import utcnow
started = time.perf_counter()
db = sqlite3.connect(sys.argv[2], isolation_level="IMMEDIATE")
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
insert = (
    "INSERT INTO inbound_message (message_id, dedupe_key, source, arrival_at, size, sender,"
    " subject, raw, kind, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'floor', ?)"
)
count = 0
for batch in batched(read_mbox(Path(sys.argv[1])), BATCH):
    rows = []
    for m in batch:
        p = parse(m.raw)
        arrival = (m.arrival_at or utcnow()).isoformat()
        sender = p.sender.email if p.sender else None
        row = (p.message_id, p.dedupe_key, m.source, arrival, len(m.raw), sender, p.subject,
               m.raw, utcnow().isoformat())
        rows.append(row)
    with db:
        db.executemany(insert, rows)
    count += len(batch)
print(count, time.perf_counter() - started)
"""


def floor(env: dict[str, str], mbox: Path, database: Path) -> tuple[int, float]:
    """The floor's messages and seconds, timed as `handoff ingest` is (child start included)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", FLOOR, str(mbox), str(database)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), time.perf_counter() - started


def main() -> int:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=scaled(10_000))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--keep", type=Path, help="keep the mbox and database in this folder")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    mbox = work / "export.mbox"
    started = time.perf_counter()
    counts = write_mbox(mbox, messages=args.messages, seed=args.seed)
    print(
        f"built {mbox} ({mbox.stat().st_size / 1e6:.1f} MB, {args.messages:,} messages) "
        f"in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
    )

    if args.database_url:
        asyncio.run(emptied(args.database_url))
    env = {
        **os.environ,
        "HANDOFF_DATABASE_URL": args.database_url or f"sqlite:///{work / 'bench.db'}",
        "HANDOFF_INTERNAL_DOMAINS": ",".join(INTERNAL_DOMAINS),
        "HANDOFF_PARTNER_MAILBOX": PARTNER_MAILBOX,
        "PYTHONPATH": str(HERE.parent),
    }
    handoff(env, "migrate")
    commands = []
    for partner in PARTNERS:
        options = ["--name", partner["name"]]
        options += [x for c in partner["contacts"] for x in ("--contact", c)]
        options += [x for d in partner["domains"] for x in ("--domain", d)]
        options += [x for a in partner["addresses"] for x in ("--address", a)]
        commands.append(["partners", "add", partner["slug"], *options])
    several(env, commands)

    out = work / "ingest.jsonl"
    started = time.perf_counter()
    with out.open("wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", "ingest", str(mbox), "--json"], env=env, stdout=sink
        )
        peak_mb = peak_rss(child) / 1024
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, child.args)
    elapsed = time.perf_counter() - started
    kinds = Counter(json.loads(line)["kind"] for line in out.open())
    rate = sum(kinds.values()) / elapsed
    print("kinds: " + ", ".join(f"{n} {k}" for k, n in kinds.most_common()))
    print(
        f"ingested {sum(kinds.values()):,} messages in {elapsed:.1f}s: {rate:,.0f} msg/s "
        f"(target >= {TARGET_RATE}), peak RSS {peak_mb:.0f} MB (target < {TARGET_RSS_MB} MB)"
    )
    if not args.database_url:
        met = "met" if rate >= TARGET_RATE_SQLITE else "NOT met"
        print(f"issue 24, SQLite: >= {TARGET_RATE_SQLITE:,} msg/s: {met}")
        handoff({**env, "HANDOFF_DATABASE_URL": f"sqlite:///{work / 'floor.db'}"}, "migrate")
        count, seconds = floor(env, mbox, work / "floor.db")
        print(
            f"floor (own reader and parser, one executemany a batch): {count:,} messages in "
            f"{seconds:.1f}s: {count / seconds:,.0f} msg/s; ingest takes "
            f"{elapsed / seconds:.2f}x the floor's time (issue 24: <= 2x)"
        )
    if not args.keep:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
