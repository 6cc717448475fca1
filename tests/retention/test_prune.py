"""`handoff prune` and serve's daily pruning: what only guarded a retry goes, nothing a sweep,
a retry or the audit needs does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import InboundMessage, SlackRequest, WebhookDelivery, WebhookEndpoint
from bot.nudges.sweeps import INACTIVE_PARTNERS, NEXT_STEPS, SWEEPS, UNCLAIMED
from bot.retention.prune import prune
from tests.support.handoff import Handoff
from tests.support.world import T0, add_partner, add_referral, nudge, outbox, sweeper, update

inbound: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
slack_request: sa.Table = SlackRequest.__table__  # type: ignore[attr-defined]
webhook_endpoint: sa.Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
webhook_delivery: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
LONG_AGO = T0 - timedelta(days=60)


async def planned(engine: AsyncEngine) -> dict[str, list[object]]:
    """What every sweep would send as of T0 (a dry run records nothing)."""
    shown: dict[str, list[object]] = {}
    for name in SWEEPS:
        result = await sweeper(engine).run(name, as_of=T0, dry_run=True)
        shown[name] = sorted((p.due.key, p.targets) for p in result.planned)
    return shown


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_pruned_nudges_are_never_sent_again_and_live_ones_stay(engine: AsyncEngine) -> None:
    acme = await add_partner(engine, created=LONG_AGO - timedelta(days=30))
    still_unclaimed = await add_referral(engine, acme, received=LONG_AGO)
    claimed_since = await add_referral(engine, acme, received=LONG_AGO)
    overdue = await add_referral(
        engine,
        acme,
        received=LONG_AGO,
        owner="USAM",
        claimed_at=LONG_AGO,
        first_response_at=LONG_AGO,
        next_step="Demo",
        next_step_due=LONG_AGO,
    )
    # Two months of sweeps: thread and manager nudges, an overdue reminder every two days,
    # Monday notes about inactive partners.
    for day in range(0, 56, 1):
        at = LONG_AGO + timedelta(days=day, hours=12)
        for name in (UNCLAIMED, NEXT_STEPS, INACTIVE_PARTNERS):
            await sweeper(engine).run(name, as_of=at)
        if day == 1:
            await update(engine, claimed_since, owner="ULEE", claimed_at=at, first_response_at=at)
    async with engine.begin() as conn:  # each nudge was delivered on its day, long ago
        await conn.execute(sa.update(outbox).values(done_at=LONG_AGO + timedelta(days=1)))
    before_prune = await planned(engine)
    nudges_before = await count(engine, nudge)

    result = await prune(engine, older_than=timedelta(days=30), now=T0)

    assert result.counts["nudge"] > 0
    assert await count(engine, nudge) == nudges_before - result.counts["nudge"]
    assert await planned(engine) == before_prune  # nothing comes back to life
    async with engine.connect() as conn:
        kept = {
            (r.subject, r.kind, r.level)
            for r in await conn.execute(sa.select(nudge.c.subject, nudge.c.kind, nudge.c.level))
        }
    # The unclaimed one's nudges guard it still; the claimed one's are spent.
    assert {(still_unclaimed, "unclaimed", 1), (still_unclaimed, "unclaimed", 2)} <= kept
    assert not any(s == claimed_since for s, _, _ in kept)
    levels = sorted(level for s, kind, level in kept if s == overdue)
    assert levels and levels[0] > 0 and len(levels) < 28  # the latest stays, early ones went


async def test_prune_deletes_done_jobs_old_keys_and_noise_and_keeps_the_rest(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    now = T0
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    acme = await add_partner(engine, "newco")
    ref = await add_referral(engine, acme, received=old)
    job = {"kind": "slack_update", "referral_id": ref, "attempts": 1}
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(outbox),
            [
                job | {"created_at": old, "due_at": old, "done_at": old},  # goes
                job | {"created_at": old, "due_at": old, "done_at": recent},  # stays: recent
                job | {"created_at": old, "due_at": old, "done_at": None},  # stays: not done
            ],
        )
        await conn.execute(
            sa.insert(slack_request), [{"key": "old", "at": old}, {"key": "new", "at": recent}]
        )
        message = {"source": "", "size": 1, "raw": b"x", "arrival_at": old, "processed_at": old}
        await conn.execute(
            sa.insert(inbound),
            [
                message | {"dedupe_key": "a", "kind": "duplicate"},  # goes
                message | {"dedupe_key": "b", "kind": "auto_reply"},  # goes
                message | {"dedupe_key": "c", "kind": "new_intro", "referral_id": ref},  # audit
                message | {"dedupe_key": "d", "kind": "bounce"},  # marked a contact: kept
                message | {"dedupe_key": "e", "kind": "duplicate", "processed_at": recent},
            ],
        )
        endpoint = await conn.scalar(
            sa.insert(webhook_endpoint).returning(webhook_endpoint.c.id),
            {"url": "https://crm.example/h", "secret": "whsec_x", "created_at": old},
        )
        sent = {"endpoint_id": endpoint, "msg_id": "msg_1", "type": "ping", "payload": "{}"}
        await conn.execute(
            sa.insert(webhook_delivery),
            [
                sent | {"created_at": old, "retry_from": old, "status": "delivered"},  # goes
                sent | {"created_at": old, "retry_from": old, "status": "failed"},  # to redeliver
                sent | {"created_at": recent, "retry_from": recent, "status": "delivered"},
            ],
        )

    dry = await prune(engine, older_than=timedelta(days=30), now=now, dry_run=True)
    assert dry.counts == {
        "outbox": 1,
        "slack_request": 1,
        "nudge": 0,
        "inbound_message": 2,
        "webhook_delivery": 1,
    }
    assert await count(engine, outbox) == 3  # a dry run deletes nothing

    shown = await asyncio.to_thread(scenario.json, "prune", "--older-than", "30")
    assert shown["deleted"] == dry.counts  # type: ignore[index]
    async with engine.connect() as conn:
        jobs = [r.done_at for r in await conn.execute(sa.select(outbox.c.done_at))]
        keys = [r.key for r in await conn.execute(sa.select(slack_request.c.key))]
        kinds = sorted(r.dedupe_key for r in await conn.execute(sa.select(inbound.c.dedupe_key)))
    assert len(jobs) == 2 and None in jobs
    assert keys == ["new"] and kinds == ["c", "d", "e"]
    assert await count(engine, webhook_delivery) == 2


def test_prune_without_retention_says_how(db_url: str, handoff: Handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_RETENTION_DAYS", "0")
    handoff("prune", expect=2)
    assert "HANDOFF_RETENTION_DAYS is 0" in handoff.err
    handoff("prune", "--older-than", "zero", expect=2)
    assert "is not a whole number of days" in handoff.err


async def test_serve_prunes_at_start_and_keeps_going(engine: AsyncEngine) -> None:
    from bot.models import utcnow
    from bot.retention.prune import daily
    from tests.support.imap import until

    acme = await add_partner(engine, "initech")
    ref = await add_referral(engine, acme)
    old = utcnow() - timedelta(days=31)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(outbox).values(
                kind="slack_update", referral_id=ref, created_at=old, due_at=old, done_at=old
            )
        )
    task = asyncio.create_task(daily(engine, older_than=timedelta(days=30)))
    try:

        async def pruned() -> bool:
            return await count(engine, outbox) == 0

        await until(pruned, "the old job to be pruned")
        assert not task.done()  # it waits for tomorrow
    finally:
        task.cancel()
