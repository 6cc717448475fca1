"""What the sweeps ask the database alike: their candidate rows, and whether a referral's nudge
of a kind and cycle was recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Nudge, Referral
from bot.vocabulary import NudgeKind

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]


async def candidates(conn: AsyncConnection, query: sa.Select[Any]) -> list[sa.Row[Any]]:
    """A sweep's candidate rows, in id order: sorted here, since an ORDER BY id would have
    SQLite walk the whole table in rowid order rather than the sweep's partial index."""
    return sorted((await conn.execute(query)).all(), key=lambda row: row.id)


def nudged(kind: NudgeKind, cycle: sa.ColumnElement[Any], level: int | None = None) -> sa.Exists:
    """The referral's nudge of this kind and cycle (at this level, if given) is recorded."""
    terms = [nudge.c.kind == str(kind), nudge.c.subject == referral.c.id, nudge.c.cycle_at == cycle]
    if level is not None:
        terms.append(nudge.c.level == level)
    return sa.exists().where(*terms).correlate(referral)
