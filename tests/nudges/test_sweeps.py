"""The sweeps against a real database (SQLite and PostgreSQL), at chosen instants."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.nudges.sweeps import FIRST_RESPONSE, INACTIVE_PARTNERS, NEXT_STEPS, UNCLAIMED
from tests.support.world import (
    T0,
    People,
    add_partner,
    add_referral,
    event,
    jobs,
    nudges,
    sweeper,
    update,
)

M = timedelta(minutes=1)
S = timedelta(seconds=1)


async def test_an_unclaimed_intro_is_nudged_in_its_thread_then_escalated_each_once(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    ref = await add_referral(engine, acme, received=T0)
    sweep = sweeper(engine)
    assert (await sweep.run(UNCLAIMED, as_of=T0 + 30 * M - S)).planned == []
    first = await sweep.run(UNCLAIMED, as_of=T0 + 30 * M)
    assert [(p.due.level, p.targets) for p in first.planned] == [(1, (None,))]
    assert (await sweep.run(UNCLAIMED, as_of=T0 + 59 * M)).planned == []
    second = await sweep.run(UNCLAIMED, as_of=T0 + 60 * M)
    assert [(p.due.level, p.targets) for p in second.planned] == [(2, ("UMGR1", "UMGR2"))]
    assert await nudges(engine) == [("unclaimed", ref, 1), ("unclaimed", ref, 2)]
    assert await jobs(engine) == [(ref, None), (ref, "UMGR1"), (ref, "UMGR2")]
    # A restarted process, an hour later: nothing new.
    assert (await sweeper(engine).run(UNCLAIMED, as_of=T0 + 2 * 60 * M)).planned == []
    assert len(await jobs(engine)) == 3


async def test_the_claim_clock_starts_when_the_post_reached_slack(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    await add_referral(engine, acme, received=T0, posted=T0 + 20 * M)
    sweep = sweeper(engine)
    assert (await sweep.run(UNCLAIMED, as_of=T0 + 49 * M)).planned == []
    assert len((await sweep.run(UNCLAIMED, as_of=T0 + 50 * M)).planned) == 1


async def test_a_claimed_or_closed_intro_is_not_nudged(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    claimed = await add_referral(engine, acme, received=T0)
    closed = await add_referral(engine, acme, received=T0)
    await update(engine, claimed, owner="UREP", stage="claimed", claimed_at=T0 + M)
    await update(engine, closed, stage="disqualified")
    assert (await sweeper(engine).run(UNCLAIMED, as_of=T0 + 5 * 60 * M)).planned == []


async def test_a_day_of_missed_runs_sends_each_due_nudge_once(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    ref = await add_referral(engine, acme, received=T0)
    sweep = sweeper(engine)
    # Down for a day; then the catch-up run and the minute-by-minute runs after it.
    caught_up = await sweep.run(UNCLAIMED, as_of=T0 + timedelta(days=1))
    assert [p.due.level for p in caught_up.planned] == [1, 2]
    for minute in range(1, 30):
        again = await sweep.run(UNCLAIMED, as_of=T0 + timedelta(days=1) + minute * M)
        assert again.planned == []
    assert await nudges(engine) == [("unclaimed", ref, 1), ("unclaimed", ref, 2)]


async def test_a_released_intro_starts_a_new_claim_clock(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    ref = await add_referral(engine, acme, received=T0)
    sweep = sweeper(engine)
    await sweep.run(UNCLAIMED, as_of=T0 + 2 * 60 * M)  # both levels sent
    released = T0 + 3 * 60 * M
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(event).values(referral_id=ref, kind="released", actor="slack:U1", at=released)
        )
    assert (await sweep.run(UNCLAIMED, as_of=released + 29 * M)).planned == []
    again = await sweep.run(UNCLAIMED, as_of=released + 30 * M)
    assert [p.due.level for p in again.planned] == [1]


async def test_no_first_response_reminds_the_owner_then_the_managers(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    ref = await add_referral(engine, acme, received=T0)
    await update(engine, ref, owner="UREP", stage="claimed", claimed_at=T0 + 10 * M)
    sweep = sweeper(engine)
    claimed = T0 + 10 * M
    assert (await sweep.run(FIRST_RESPONSE, as_of=claimed + timedelta(hours=24) - S)).planned == []
    owner = await sweep.run(FIRST_RESPONSE, as_of=claimed + timedelta(hours=24))
    assert [(p.due.level, p.targets) for p in owner.planned] == [(1, ("UREP",))]
    assert (await sweep.run(FIRST_RESPONSE, as_of=claimed + timedelta(hours=48) - S)).planned == []
    managers = await sweep.run(FIRST_RESPONSE, as_of=claimed + timedelta(hours=48))
    assert [(p.due.level, p.targets) for p in managers.planned] == [(2, ("UMGR1", "UMGR2"))]


async def test_a_referral_at_a_meeting_or_later_gets_no_first_response_reminder(
    engine: AsyncEngine,
) -> None:
    # Issue 23, bug: the meeting (or the opportunity, or the win) is the answer, clicked or not.
    acme = await add_partner(engine)
    talking = {
        stage: await add_referral(engine, acme, received=T0)
        for stage in ("meeting", "opportunity", "won")
    }
    waiting = await add_referral(engine, acme, received=T0)
    for ref in (*talking.values(), waiting):
        await update(engine, ref, owner="UREP", stage="claimed", claimed_at=T0)
    sweep = sweeper(engine)
    first = await sweep.run(FIRST_RESPONSE, as_of=T0 + timedelta(days=1))
    assert len(first.planned) == 4
    for stage, ref in talking.items():
        await update(engine, ref, stage=stage)
    later = await sweep.run(FIRST_RESPONSE, as_of=T0 + timedelta(days=2))
    assert [(p.due.subject, p.due.level) for p in later.planned] == [(waiting, 2)]


async def test_a_partner_may_set_its_own_first_response_sla(engine: AsyncEngine) -> None:
    fast = await add_partner(engine, "fast", sla=timedelta(hours=4))
    ref = await add_referral(engine, fast, received=T0)
    await update(engine, ref, owner="UREP", stage="claimed", claimed_at=T0)
    sweep = sweeper(engine)
    assert (await sweep.run(FIRST_RESPONSE, as_of=T0 + timedelta(hours=4) - S)).planned == []
    assert len((await sweep.run(FIRST_RESPONSE, as_of=T0 + timedelta(hours=4))).planned) == 1
    assert len((await sweep.run(FIRST_RESPONSE, as_of=T0 + timedelta(hours=8))).planned) == 1


async def test_a_first_response_or_a_snooze_stops_the_reminders(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    answered = await add_referral(engine, acme, received=T0)
    snoozed = await add_referral(engine, acme, received=T0)
    for ref in (answered, snoozed):
        await update(engine, ref, owner="UREP", stage="claimed", claimed_at=T0)
    sweep = sweeper(engine)
    day = timedelta(days=1)
    assert len((await sweep.run(FIRST_RESPONSE, as_of=T0 + day)).planned) == 2
    await update(engine, answered, first_response_at=T0 + day + M)
    await update(engine, snoozed, response_snoozed_until=T0 + 2 * day + M)
    # Without the snooze, the managers would hear at T0 + 2d.
    assert (await sweep.run(FIRST_RESPONSE, as_of=T0 + 2 * day)).planned == []
    again = await sweep.run(FIRST_RESPONSE, as_of=T0 + 2 * day + M)
    assert [(p.due.subject, p.due.level, p.targets) for p in again.planned] == [
        (snoozed, 1, ("UREP",))
    ]
    escalated = await sweep.run(FIRST_RESPONSE, as_of=T0 + 3 * day + M)
    assert [(p.due.subject, p.due.level) for p in escalated.planned] == [(snoozed, 2)]


async def test_a_next_step_is_reminded_at_nine_in_the_owners_time_zone(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    due = datetime(2026, 11, 25, tzinfo=UTC)  # the day, as its UTC midnight
    ref = await add_referral(engine, acme, received=T0)
    await update(
        engine,
        ref,
        owner="UNY",
        stage="claimed",
        claimed_at=T0,
        next_step="Joint call",
        next_step_due=due,
    )
    people = People(zones_={"UNY": "America/New_York"})  # 09:00 there is 14:00 UTC in November
    sweep = sweeper(engine, people)
    assert (await sweep.run(NEXT_STEPS, as_of=due + timedelta(hours=14) - S)).planned == []
    today = await sweep.run(NEXT_STEPS, as_of=due + timedelta(hours=14))
    assert [(p.due.level, p.targets) for p in today.planned] == [(0, ("UNY",))]
    assert {"UNY"} in people.asked
    assert (await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=2, hours=14) - S)).planned == []
    overdue = await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=2, hours=14))
    assert [p.due.level for p in overdue.planned] == [1]
    # Asleep for five days: one reminder (the latest), not one per missed period.
    late = await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=7, hours=14))
    assert [p.due.level for p in late.planned] == [3]
    assert (await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=7, hours=15))).planned == []


async def test_owners_without_a_known_zone_get_nine_in_handoff_timezone(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    due = datetime(2026, 11, 25, tzinfo=UTC)
    ref = await add_referral(engine, acme, received=T0)
    await update(
        engine, ref, owner="UX", stage="claimed", claimed_at=T0, next_step="x", next_step_due=due
    )
    sweep = sweeper(engine, timezone="Asia/Tokyo")  # 09:00 in Tokyo is 00:00 UTC
    assert len((await sweep.run(NEXT_STEPS, as_of=due)).planned) == 1


async def test_a_done_or_rescheduled_step_stops_or_restarts_its_reminders(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    due = datetime(2026, 11, 25, tzinfo=UTC)
    done, moved = (await add_referral(engine, acme), await add_referral(engine, acme))
    for ref in (done, moved):
        await update(
            engine,
            ref,
            owner="U1",
            stage="claimed",
            claimed_at=T0,
            next_step="x",
            next_step_due=due,
        )
    sweep = sweeper(engine)
    assert len((await sweep.run(NEXT_STEPS, as_of=due + 9 * 60 * M)).planned) == 2
    await update(engine, done, next_step=None, next_step_due=None)
    await update(engine, moved, next_step_due=due + timedelta(days=7))
    assert (await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=2, hours=9))).planned == []
    again = await sweep.run(NEXT_STEPS, as_of=due + timedelta(days=7, hours=9))
    assert [(p.due.subject, p.due.level) for p in again.planned] == [(moved, 0)]


async def test_quiet_partners_are_noted_to_managers_once_a_week(engine: AsyncEngine) -> None:
    quiet = await add_partner(engine, "quiet")
    busy = await add_partner(engine, "busy")
    never = await add_partner(engine, "never", created=T0 - timedelta(days=90))
    await add_referral(engine, quiet, received=T0 - timedelta(days=61))
    await add_referral(engine, busy, received=T0 - timedelta(days=3))
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    sweep = sweeper(engine)
    note = await sweep.run(INACTIVE_PARTNERS, as_of=monday)
    assert len(note.planned) == 1
    listed = [p["slug"] for p in json.loads(note.planned[0].due.detail or "[]")]
    assert listed == ["never", "quiet"]
    assert note.planned[0].targets == ("UMGR1", "UMGR2")
    # Later that week, from a restarted process: already noted.
    assert (
        await sweeper(engine).run(INACTIVE_PARTNERS, as_of=monday + 3 * 24 * 60 * M)
    ).planned == []
    assert len((await sweep.run(INACTIVE_PARTNERS, as_of=monday + timedelta(days=7))).planned) == 1
    assert never  # registered 90 days ago, no referral since


async def test_managers_unknown_for_now_are_told_on_a_later_run(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    await add_referral(engine, acme, received=T0)
    people = People(managers_=None)
    sweep = sweeper(engine, people)
    first = await sweep.run(UNCLAIMED, as_of=T0 + 2 * 60 * M)
    assert [p.due.level for p in first.planned] == [1]
    assert first.warnings
    people.managers_ = ["UMGR1"]
    later = await sweep.run(UNCLAIMED, as_of=T0 + 2 * 60 * M + M)
    assert [(p.due.level, p.targets) for p in later.planned] == [(2, ("UMGR1",))]


async def test_a_dry_run_records_and_queues_nothing(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    await add_referral(engine, acme, received=T0)
    dry = await sweeper(engine).run(UNCLAIMED, as_of=T0 + 2 * 60 * M, dry_run=True)
    assert [p.due.level for p in dry.planned] == [1, 2]
    assert await nudges(engine) == [] and await jobs(engine) == []
    real = await sweeper(engine).run(UNCLAIMED, as_of=T0 + 2 * 60 * M)
    assert len(real.planned) == 2


async def test_two_processes_sweeping_at_the_same_instant_send_once(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine)
    refs = [await add_referral(engine, acme, received=T0) for _ in range(40)]
    # Two processes: two engines, two connection pools, one database.
    other = create_async_engine(engine.url)
    try:
        one, two = sweeper(engine), sweeper(other)
        at = T0 + 2 * 60 * M
        results = await asyncio.gather(one.run(UNCLAIMED, as_of=at), two.run(UNCLAIMED, as_of=at))
    finally:
        await other.dispose()
    sent = sorted((p.due.subject, p.due.level) for r in results for p in r.planned)
    assert sent == sorted((ref, level) for ref in refs for level in (1, 2))
    assert len(await jobs(engine)) == 40 * 3  # the thread, and two managers, once each


async def test_queries_per_sweep_do_not_grow_with_referrals(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)

    async def statements(n: int) -> int:
        for _ in range(n):
            await add_referral(engine, acme, received=T0)
        seen = []

        def count(*args: object) -> None:
            seen.append(args)

        sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await sweeper(engine).run(UNCLAIMED, as_of=T0 + 2 * 60 * M)
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(seen)

    few = await statements(5)
    many = await statements(200)
    assert few == many
