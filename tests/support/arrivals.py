"""Intake of one message that arrived at a given instant, for tests of intake's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import session_factory
from bot.intake.pipeline import Intake
from bot.referrals.directory import load_directory

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Globex's people write from their own domain and copy Globex's alias (bot/demo/cast.py).
FROM_GLOBEX = {"sender": "Hank <hank@globexpartners.example>", "cc": "globex-intros@ours.example"}


async def arrive(engine: AsyncEngine, raw: bytes, at: datetime) -> dict[str, object]:
    """What `handoff ingest --json` would print for the message, arrived at `at`."""
    async with session_factory(engine)() as session:
        directory = await load_directory(
            session=session,
            internal_domains=frozenset({"ours.example"}),
            mailbox="partners@ours.example",
        )
    async with Intake.open(engine=engine, directory=directory, protection=90 * DAY) as intake:
        return (await intake.ingest(raw, arrival_at=at)).as_json()
