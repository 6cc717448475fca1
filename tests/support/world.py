"""Referrals at chosen instants, written straight into the database, for the sweeps' tests."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, load_settings
from bot.models import Event, Nudge, OutboxJob, Partner, Referral
from bot.nudges.sweeps import Sweeper

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


@dataclass
class People:
    """Managers and time zones as Slack would answer them."""

    managers_: list[str] | None = field(default_factory=lambda: ["UMGR1", "UMGR2"])
    zones_: dict[str, str] = field(default_factory=dict)
    asked: list[set[str]] = field(default_factory=list)

    async def managers(self) -> list[str] | None:
        return self.managers_

    async def zones(self, users: Collection[str]) -> dict[str, ZoneInfo]:
        self.asked.append(set(users))
        return {u: ZoneInfo(z) for u, z in self.zones_.items() if u in users}


def sweeper(engine: AsyncEngine, people: People | None = None, **settings: Any) -> Sweeper:
    """A freshly started sweeper (a new one per call is a restart)."""
    return Sweeper(engine, settings_of(**settings), people or People())


def settings_of(**settings: Any) -> Settings:
    return load_settings(**settings)


async def add_partner(
    engine: AsyncEngine,
    slug: str = "acme",
    *,
    created: datetime = T0 - timedelta(days=365),
    sla: timedelta | None = None,
) -> int:
    async with engine.begin() as conn:
        return int(
            await conn.scalar(
                sa.insert(partner)
                .values(
                    slug=slug,
                    name=slug.capitalize(),
                    created_at=created,
                    first_response_sla_seconds=int(sla.total_seconds()) if sla else None,
                )
                .returning(partner.c.id)
            )
        )


async def add_referral(
    engine: AsyncEngine,
    partner_id: int,
    *,
    received: datetime = T0,
    posted: datetime | None = None,
    **values: Any,
) -> int:
    """A referral received then, posted to Slack at `posted` (default: when received)."""
    async with engine.begin() as conn:
        seq = (
            int(
                await conn.scalar(
                    sa.select(sa.func.count()).where(referral.c.partner_id == partner_id)
                )
                or 0
            )
            + 1
        )
        slug = await conn.scalar(sa.select(partner.c.slug).where(partner.c.id == partner_id))
        ref = f"{str(slug).upper()}-{seq}"
        posted = posted or received
        row = {
            "ref": ref,
            "partner_id": partner_id,
            "seq": seq,
            "dedupe_key": f"<{ref}@test>",
            "prospect_email": f"p{seq}@{slug}-prospect.example",
            "prospect_name": f"Prospect {seq}",
            "subject": "Intro",
            "received_at": received,
            "stage": "new",
            "slack_channel": "C0INTROS",
            "slack_ts": f"{posted.timestamp():.6f}",
            "created_at": received,
        } | values
        return int(await conn.scalar(sa.insert(referral).values(**row).returning(referral.c.id)))


async def update(engine: AsyncEngine, referral_id: int, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.update(referral).where(referral.c.id == referral_id).values(**values))


async def nudges(engine: AsyncEngine) -> list[tuple[str, int, int]]:
    """(kind, subject, level) of every recorded nudge, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(nudge.c.kind, nudge.c.subject, nudge.c.level).order_by(nudge.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def jobs(engine: AsyncEngine) -> list[tuple[int | None, str | None]]:
    """(referral id, target) of every queued nudge message, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.referral_id, outbox.c.target)
            .where(outbox.c.kind == "slack_nudge")
            .order_by(outbox.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]
