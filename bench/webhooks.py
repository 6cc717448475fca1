#!/usr/bin/env python3
"""Benchmark: referral changes delivered as signed webhooks to a receiver on loopback.

    uv run python bench/webhooks.py [--changes 1000] [--workers 4] [--database-url URL]

Intros are ingested and each referral claimed and moved through three stages (five events
a referral, so --changes / 5 referrals); every change queues its delivery in its own
transaction. Then the webhooks' lane of `handoff serve` (bot/webhooks/sending.py) delivers the
backlog to a receiver that verifies each signature with the Standard Webhooks reference library,
as a customer's would. Printed: deliveries/second, and the checks issue 22 asks for: each
delivered once, every signature valid, each referral's events in order.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import acme_engine, analyze, own_settings, progress, scaled  # noqa: E402
from tests.support.messages import message  # noqa: E402
from tests.support.receiver import Receiver  # noqa: E402

EVENTS_PER_REFERRAL = 5
STAGES = ("contacted", "meeting", "opportunity")


async def changes(engine, referrals: int) -> None:  # type: ignore[no-untyped-def]
    """The intros, claims and stage changes, each committed as Slack's clicks commit them."""
    from bot.db import session_factory
    from bot.intake.pipeline import Intake
    from bot.models import utcnow
    from bot.referrals import actions
    from bot.referrals.acting import Actor
    from bot.referrals.directory import load_directory
    from bot.vocabulary import Role, Stage

    async with session_factory(engine)() as session:
        directory = await load_directory(
            session=session,
            internal_domains=frozenset({"ours.example"}),
            mailbox="partners@ours.example",
        )
    async with Intake.open(
        engine=engine, directory=directory, protection=timedelta(days=90)
    ) as intake:
        for n in range(1, referrals + 1):
            await intake.ingest(message(to=f"Prospect {n} <p{n}@prospect{n}.example>"))
    rep, at = Actor(user="U0REP1"), utcnow()
    for n in range(1, referrals + 1):
        ref = f"ACME-{n}"
        await actions.claim(
            engine=engine, ref=ref, actor=rep, role=Role.SOURCED, at=at, request=f"c{n}"
        )
        for stage in STAGES:
            await actions.set_stage(
                engine=engine,
                ref=ref,
                actor=rep,
                stage=Stage(stage),
                amount=None,
                at=at,
                request=f"{ref}-{stage}",
            )


async def run(args: argparse.Namespace) -> None:
    from bot.models import utcnow
    from bot.webhooks import endpoints
    from bot.webhooks.sending import Policy, Sender

    referrals = max(1, args.changes // EVENTS_PER_REFERRAL)
    total = referrals * EVENTS_PER_REFERRAL
    receiver = await Receiver().start()
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{work}/bench.db"
        engine = await acme_engine(url, given=bool(args.database_url))
        added = await endpoints.add(
            engine, url=receiver.url, events="*", description="bench", at=utcnow()
        )
        receiver.secret = added.secret
        progress(f"queuing {total} changes on {referrals} referrals …")
        started = time.monotonic()
        await changes(engine, referrals)
        queued = time.monotonic() - started
        await analyze(engine)  # PostgreSQL: what autovacuum does after a bulk load
        sender = Sender(engine, Policy(timeout=10.0))
        lane = sender.lane(lease=timedelta(seconds=60), workers=args.workers)
        progress("delivering …")
        started = time.monotonic()
        task = asyncio.create_task(lane.run())
        await receiver.until("every delivery", lambda: len(receiver.got) >= total, seconds=600)
        elapsed = time.monotonic() - started
        lane.stop()
        await task
        await sender.aclose()
        await engine.dispose()
    await receiver.close()
    got = receiver.got
    ids = Counter(g.webhook_id for g in got)
    order: dict[str, list[str]] = {}
    for g in got:
        r = g.data["referral"]
        order.setdefault(r["ref"], []).append(r["stage"])
    expected = ["new", "claimed", *STAGES]
    in_order = sum(1 for stages in order.values() if stages == expected)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"webhooks, {backend}, {total} changes on {referrals} referrals, {args.workers} workers")
    print(f"  queued with their changes in {queued:.1f}s ({total / queued:,.0f} changes/s)")
    print(
        f"  delivered {len(got)} in {elapsed:.2f}s: {len(got) / elapsed:,.0f} deliveries/s "
        "(receiver on loopback, verifying each signature)"
    )
    print(
        f"  each once: {len(ids) == total and max(ids.values()) == 1}; "
        f"signatures valid: {sum(g.verified for g in got)} of {len(got)}; "
        f"referrals in order: {in_order} of {referrals}"
    )


def main() -> None:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--changes", type=int, default=scaled(1000))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
