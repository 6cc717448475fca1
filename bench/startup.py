#!/usr/bin/env python3
"""Benchmark: how fast `handoff` starts, beside the floor of the libraries it cannot do without.

    uv run python bench/startup.py [--runs 9]

Each measure is a new process, as a user's command is: `handoff --version`, `handoff --help`,
and `handoff referrals list` on an empty, migrated SQLite database; then the floor, a process
that only imports sqlmodel, SQLAlchemy's asyncio engine and aiosqlite (what every command that
opens the database needs). Prints the median and the fastest of --runs. Targets (issue 24):
--version and --help <= 0.2 s, referrals list <= 0.5 s, with bytecode.

With bytecode means Handoff's own modules too, as an install for use has them (the image's
non-editable install is compiled): an editable checkout on a machine that sets
PYTHONDONTWRITEBYTECODE would compile them again in every process, so they are compiled first.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # also runs as `python bench/startup.py`

from bench.common import own_settings, scaled  # noqa: E402

FLOOR = "import sqlmodel, sqlalchemy.ext.asyncio, aiosqlite"
TARGETS = {"--version": 0.2, "--help": 0.2, "referrals list": 0.5}


def timed(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=max(3, scaled(9)))
    args = parser.parse_args()
    compileall.compile_dir(HERE.parent / "bot", quiet=1)
    with tempfile.TemporaryDirectory(prefix="handoff-bench-startup-") as tmp:
        env = {**os.environ, "HANDOFF_DATABASE_URL": f"sqlite:///{Path(tmp) / 'empty.db'}"}
        handoff = [sys.executable, "-m", "bot"]
        subprocess.run([*handoff, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        cases = {
            "--version": [*handoff, "--version"],
            "--help": [*handoff, "--help"],
            "referrals list": [*handoff, "referrals", "list"],
            f"floor: {FLOOR}": [sys.executable, "-c", FLOOR],
        }
        print(f"each a new process, {args.runs} runs (median, fastest):")
        for name, command in cases.items():
            seconds = timed(command, env, args.runs)
            median = statistics.median(seconds)
            target = TARGETS.get(name)
            verdict = (
                ""
                if target is None
                else f"  target <= {target} s: {'met' if median <= target else 'NOT met'}"
            )
            print(f"  {name:<62} {median:.3f} s, {min(seconds):.3f} s{verdict}")


if __name__ == "__main__":
    main()
