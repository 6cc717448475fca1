"""Generate a realistic, deterministic mbox of partner-referral mail for benchmarking Handoff.

uv run python -m bench.mbox OUT.mbox [--messages 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .writer import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.mbox", description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output mbox path")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts, details = generate(a.out, a.messages, a.seed)
    dt = time.perf_counter() - t0
    size = os.path.getsize(a.out)
    for k, v in counts.items():
        print(f"{k:10} {v:6}")
    print("details:", ", ".join(f"{k}={v}" for k, v in details.items()))
    print(
        f"wrote {a.messages} messages, {size / 1e6:.1f} MB ({size / max(a.messages, 1) / 1024:.1f} "
        f"KiB/msg) to {a.out} in {dt:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
