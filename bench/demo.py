"""Benchmark: `handoff demo` from the command line to its last line (target: under 30 s).

Each run is a new process, as a newcomer runs it: imports, the throwaway database and its
migrations, the stand-ins, the whole story. Prints each run's wall time and the median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import own_settings, scaled  # noqa: E402


def main() -> int:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=scaled(5))
    args = parser.parse_args()
    seconds = []
    for n in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bot", "demo"],
                cwd=folder,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(f"run {n}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            return 1
        print(f"run {n}: {seconds[-1]:.1f} s", flush=True)
    print(
        f"handoff demo: median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s "
        f"over {len(seconds)} runs (target < 30 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
