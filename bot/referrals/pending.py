"""Slack gestures acknowledged but not yet applied: kept before the acknowledgement, applied
from there, and applied again after a crash.

Slack never repeats a request it got a 200 for, so a click acknowledged and then lost (a deploy,
kill -9) would be lost for good. Each state-changing request is therefore written here, with its
payload, before Slack is answered; applying it deletes it; what a process left behind is
replayed. Applying twice is harmless: an action records its request key in `slack_request` in
its own transaction (bot/referrals/acting.py), and a replay finds it applied.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import upsert_insert
from bot.models import PendingAction, utcnow

log = logging.getLogger("handoff.slack")
pending: sa.Table = PendingAction.__table__  # type: ignore[attr-defined]
MAX_REPLAYS = 5  # an action that fails this often is a bug of ours: logged and dropped


@dataclass(frozen=True)
class Pending:
    key: str
    body: dict[str, Any]
    replays: int


async def keep(engine: AsyncEngine, key: str, body: dict[str, Any]) -> None:
    """Write the request down (committed) before it is acknowledged; again is a no-op."""
    values = {"key": key[:300], "body": json.dumps(body), "received_at": utcnow(), "replays": 0}
    async with engine.begin() as conn:
        await conn.execute(
            upsert_insert(conn.dialect, pending).values(**values).on_conflict_do_nothing()
        )


async def done(engine: AsyncEngine, key: str) -> None:
    """The request was applied (or refused, or found applied before): nothing left to do."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(pending).where(pending.c.key == key[:300]))


async def left_behind(engine: AsyncEngine, *, older_than: timedelta) -> list[Pending]:
    """Requests kept longer ago than `older_than` and not done: their process went away.

    Each is counted as replayed once more here; one replayed MAX_REPLAYS times is dropped.
    """
    before: datetime = utcnow() - older_than
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(pending)
                .where(pending.c.received_at < before)
                .order_by(pending.c.received_at)
                .limit(100)
            )
        ).all()
        if rows:
            await conn.execute(
                sa.update(pending)
                .where(pending.c.key.in_([r.key for r in rows]))
                .values(replays=pending.c.replays + 1, received_at=utcnow())
            )
            await conn.execute(sa.delete(pending).where(pending.c.replays > MAX_REPLAYS))
    for row in rows:
        if row.replays + 1 > MAX_REPLAYS:
            log.error("slack: request %s failed %d times; dropped", row.key, MAX_REPLAYS)
    return [
        Pending(r.key, json.loads(r.body), r.replays + 1) for r in rows if r.replays < MAX_REPLAYS
    ]
