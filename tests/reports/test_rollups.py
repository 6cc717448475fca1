"""The report rollups (bot/rollups.py) against the referrals themselves, on SQLite and PostgreSQL.

A summary read from the rollups must equal the direct query on every data set: bench/seed.py's
realistic set, in zones whose periods do not fall on UTC days, with and without the attached
lane, for all partners and for some; after every kind of change the bot (or anyone) makes to a
referral, the triggers must leave exactly what adding everything up again gives; and the
migration must fill them for a database that already has referrals.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.seed import seed
from bot import rollups
from bot.db import upgrade
from bot.models import Event, Partner, Referral
from bot.reports.periods import parse_period
from bot.reports.rolled import differences
from bot.reports.summary import summary
from bot.vocabulary import Role, Stage

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")  # +13:45 in summer
PERIODS = (
    "this quarter",
    "last quarter",
    "last 365d",
    "2025-Q3",
    "this month",
    "last 7d",
    "2026-02-10..2026-03-20",
    "2025",
)


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await seed(engine, referrals=1_500, partners=8, now=NOW, seed=11)
    return engine


async def both(engine: AsyncEngine, label: str, zone: str, **how: Any) -> tuple[Any, Any]:
    period = parse_period(label, ZoneInfo(zone), NOW)
    async with engine.connect() as conn:
        rolled = await summary(conn, period, now=NOW, rolled=True, **how)
        direct = await summary(conn, period, now=NOW, rolled=False, **how)
    return rolled, direct


async def test_the_rollups_say_what_the_referrals_say(
    seeded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOFF_REPORT_CHECK")  # compared here, one by one
    lanes = timedelta(days=60)
    async with seeded.connect() as conn:
        slugs = list((await conn.scalars(sa.select(partner.c.slug).order_by(partner.c.id))).all())
    some = {"partners": slugs[1:3], "attached_after": lanes}
    for zone in ZONES:
        for label in PERIODS:
            for how in ({}, {"attached_after": lanes}, some):
                rolled, direct = await both(seeded, label, zone, **how)
                assert differences(rolled, direct) == [], (zone, label, how)
    # The comparison is of real numbers: the year has them all, attached lane included.
    rolled, _ = await both(seeded, "last 365d", "America/New_York", attached_after=lanes)
    totals = rolled.totals
    assert [line.partner for line in (await both(seeded, "2025", "UTC", **some))[0].lines] == [
        *sorted(slugs[1:3])
    ]
    assert totals.received > 500 and totals.won > 10 and totals.attached > 10
    assert totals.median_claim_minutes is not None and totals.revenue > 0


async def rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row that holds something, in a stable order."""
    async with engine.connect() as conn:
        day = await conn.execute(
            sa.select(rollups.report_day)
            .where(rollups.report_day.c.received != 0)
            .order_by(*rollups.report_day.primary_key.columns)
        )
        hist = await conn.execute(
            sa.select(rollups.report_hist)
            .where(rollups.report_hist.c.n != 0)
            .order_by(*rollups.report_hist.primary_key.columns)
        )
        span = await conn.execute(
            sa.select(rollups.report_span).order_by(*rollups.report_span.primary_key.columns)
        )
        return {"day": day.all(), "hist": hist.all(), "span": span.all()}


async def added_up_again(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.begin() as conn:
        for statement in rollups.fill(conn.dialect.name):
            await conn.execute(sa.text(statement))
    return await rows(engine)


async def test_every_kind_of_change_keeps_the_rollups_exact(seeded: AsyncEngine) -> None:
    rng = random.Random(3)
    async with seeded.connect() as conn:
        ids = list((await conn.scalars(sa.select(referral.c.id).order_by(referral.c.id))).all())
    picked = rng.sample(ids, 120)
    moments = [NOW - timedelta(days=d, hours=h) for d, h in zip(range(40), range(40), strict=True)]
    changes: list[dict[str, Any]] = [
        {"claimed_at": None, "owner": None, "role": None, "stage": str(Stage.NEW)},  # released
        {"claimed_at": NOW - timedelta(hours=3), "role": str(Role.SOURCED)},  # claimed
        {"stage": str(Stage.WON), "amount": 12_345.0},
        {"stage": str(Stage.LOST)},
        {"role": str(Role.INFLUENCED), "role_overridden_at": NOW},  # a manager's word
        {"first_response_at": NOW - timedelta(hours=1)},
        {"met_at": NOW - timedelta(days=2), "stage": str(Stage.MEETING)},
        {"partner_action_at": NOW - timedelta(days=1)},  # the partner replied: lane restored
        {"confirmed_at": NOW, "action_type": "logged"},
        {"opportunity_at": NOW, "stage": str(Stage.OPPORTUNITY)},
    ]
    async with seeded.begin() as conn:
        for i, referral_id in enumerate(picked[:100]):
            values = dict(changes[i % len(changes)])
            if i % 7 == 0:
                values["received_at"] = rng.choice(moments)  # moved to another day and month
            await conn.execute(
                sa.update(referral).where(referral.c.id == referral_id).values(**values)
            )
        partners = sorted(set((await conn.scalars(sa.select(referral.c.partner_id))).all()))
        await conn.execute(  # a referral handed to another partner
            sa.update(referral).where(referral.c.id == picked[100]).values(partner_id=partners[0])
        )
        gone = picked[101:120]  # deleted, as retention deletes: their events first
        await conn.execute(sa.delete(event).where(event.c.referral_id.in_(gone)))
        await conn.execute(sa.delete(referral).where(referral.c.id.in_(gone)))
    kept = await rows(seeded)
    assert kept["day"] and kept["hist"] and kept["span"]
    assert kept == await added_up_again(seeded)


async def test_a_rollup_that_disagrees_fails_the_check(seeded: AsyncEngine) -> None:
    """HANDOFF_REPORT_CHECK (set for every test) compares each summary with the direct query."""
    async with seeded.begin() as conn:
        await conn.execute(sa.update(rollups.report_day).values(won=rollups.report_day.c.won + 1))
    period = parse_period("last 365d", ZoneInfo("UTC"), NOW)
    async with seeded.connect() as conn:
        with pytest.raises(AssertionError, match=r"the rollups disagree .*\.won: "):
            await summary(conn, period, now=NOW)


async def test_the_migration_adds_up_a_database_that_has_referrals(seeded: AsyncEngine) -> None:
    before = await rows(seeded)

    def back_to_0013(connection: sa.Connection) -> None:
        from alembic import command
        from alembic.config import Config

        from bot.db import MIGRATIONS

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")

    async with seeded.begin() as conn:
        await conn.run_sync(back_to_0013)
        tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    assert "report_day" not in tables
    assert await upgrade(seeded) == ("0013", "0014")
    assert await rows(seeded) == before
    rolled, direct = await both(seeded, "last 365d", "UTC", attached_after=timedelta(days=60))
    assert differences(rolled, direct) == [] and rolled.totals.received > 500
