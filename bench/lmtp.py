#!/usr/bin/env python3
"""Benchmark: intros delivered to `handoff serve` over LMTP, until Slack has their posts.

    uv run python bench/lmtp.py [--latency 200] [--burst 1000] [--connections 4]
                                [--database-url URL]

1. Latency: intros sent one at a time on loopback, as an MTA sends them; for each, the time
   from the end of DATA (the final "." handed to the socket) to the Slack stand-in receiving
   its chat.postMessage, and to the LMTP reply (the commit). Target (issue 21): p50 <= 100 ms,
   p95 <= 250 ms.
2. Burst: intros over several connections at once; every one posted, each once, and the
   messages/second from the first DATA to the last post.

Slack is the tests' stand-in on loopback (bot/demo/standin/slack.py); serve runs in this
process, as bench/slack.py runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import acme_engine, own_settings, percentile, scaled  # noqa: E402
from tests.support.lmtp import LmtpClient  # noqa: E402
from tests.support.messages import message  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.slackbot import running_bot  # noqa: E402

TARGET_P50_MS, TARGET_P95_MS = 100, 250
PARTNER = "partners+acme@ours.example"
REF = re.compile(r"\bACME-\d+\b")
SENDER = "dana@acmeconsulting.example"


def intro(n: int) -> bytes:
    return message(to=f"Prospect {n} <p{n}@prospect{n}.example>", cc=None)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{work}/bench.db"
        engine = await acme_engine(url, given=bool(args.database_url))
        port = free_port()
        overrides = {
            "lmtp_listen": f"127.0.0.1:{port}",
            "internal_domains": "ours.example",
            "partner_mailbox": "partners@ours.example",
        }
        async with running_bot(engine, **overrides) as bot:
            slack = bot.slack

            def posts() -> list[float]:
                return [c.at for c in slack.calls if c.method == "chat.postMessage"]

            # 1. One at a time.
            client = await LmtpClient.connect("127.0.0.1", port)
            to_post, to_commit = [], []
            for n in range(1, args.latency + 1):
                before = len(posts())
                sent = await client.send(intro(n), SENDER, [PARTNER])
                committed = time.monotonic()
                assert sent.data[0].startswith("250"), sent
                posted = await bot.until(
                    f"intro {n} posted", lambda b=before: posts()[b:] or None, seconds=30
                )
                to_post.append((posted[0] - sent.sent_at) * 1000)
                to_commit.append((committed - sent.sent_at) * 1000)
            await client.close()

            # 2. A burst over several connections.
            first = args.latency + 1
            numbers = list(range(first, first + args.burst))
            shares = [numbers[i :: args.connections] for i in range(args.connections)]
            before = len(posts())
            started = time.monotonic()

            async def deliver(share: list[int]) -> None:
                mta = await LmtpClient.connect("127.0.0.1", port)
                for n in share:
                    sent = await mta.send(intro(n), SENDER, [PARTNER])
                    assert sent.data[0].startswith("250"), sent
                await mta.close()

            await asyncio.gather(*(deliver(s) for s in shares))
            stored = time.monotonic() - started
            await bot.until(
                "the burst posted", lambda: len(posts()) >= before + args.burst, seconds=600
            )
            elapsed = time.monotonic() - started
            texts = [c.args.get("text", "") for c in slack.calls if c.method == "chat.postMessage"]
            refs = Counter(m[0] for t in texts[before:] if (m := REF.search(t)))
        await engine.dispose()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    p50, p95 = percentile(to_post, 50), percentile(to_post, 95)
    met = p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS
    print(f"LMTP, {backend}, {args.latency} intros one at a time on loopback")
    print(
        f"  end of DATA to Slack post: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"max {max(to_post):.0f} ms (target p50 <= {TARGET_P50_MS}, p95 <= {TARGET_P95_MS}: "
        f"{'met' if met else 'NOT met'})"
    )
    print(
        f"  end of DATA to 250 (committed): p50 {percentile(to_commit, 50):.0f} ms, "
        f"p95 {percentile(to_commit, 95):.0f} ms"
    )
    doubled = sum(1 for n in refs.values() if n > 1)
    print(
        f"burst: {args.burst} intros over {args.connections} connections: "
        f"{sum(refs.values())} posted ({len(refs)} referrals, {doubled} posted twice) in "
        f"{elapsed:.1f}s: {args.burst / elapsed:,.0f} msg/s (all committed after {stored:.1f}s: "
        f"{args.burst / stored:,.0f} msg/s)"
    )


def main() -> None:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--latency", type=int, default=scaled(200))
    parser.add_argument("--burst", type=int, default=scaled(1000))
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
