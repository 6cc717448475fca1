"""Messages a mail server would not hand over: kept in triage by where they are, until read.

A corrupt file on the server (or Gmail's "Some messages could not be FETCHed") must not stop
everything behind it. Such a message gets a row of its own, kind `unfetchable`, with the
server's words and its IMAP URL as source, and no bytes: a person sees it in `handoff triage`,
the watcher tries it again now and then, and when it can be read at last, the message itself
replaces the row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import metrics
from bot.intake import queries as q
from bot.models import InboundMessage, utcnow
from bot.vocabulary import Kind

INBOUND = InboundMessage.__table__  # type: ignore[attr-defined]
PREFIX = "unfetchable:"


@dataclass(frozen=True)
class Unfetchable:
    id: int
    source: str
    reason: str


async def keep(conn: AsyncConnection, *, source: str, reason: str) -> None:
    """Record a message at `source` as unreadable, in the caller's transaction."""
    now = utcnow()
    await conn.execute(
        q.INSERT_INBOUND,
        {
            "message_id": None,
            "dedupe_key": (PREFIX + source)[:1000],
            "source": source[:1000],
            "arrival_at": now,
            "size": 0,
            "sender": None,
            "subject": None,
            "raw": b"",
            "kind": str(Kind.UNFETCHABLE),
            "reason": reason[:500],
            "partner_id": None,
            "referral_id": None,
            "processed_at": now,
        },
    )
    metrics.count_intake([Kind.UNFETCHABLE])


async def under(conn: AsyncConnection, prefix: str) -> list[Unfetchable]:
    """The unreadable messages whose source starts with `prefix` (one folder), oldest first."""
    c = INBOUND.c
    rows = await conn.execute(
        sa.select(c.id, c.source, c.reason)
        .where(c.kind == str(Kind.UNFETCHABLE), c.dedupe_key.startswith(PREFIX + prefix))
        .order_by(c.id)
    )
    return [Unfetchable(r.id, r.source, r.reason or "") for r in rows]


async def retried(conn: AsyncConnection, row: Unfetchable, reason: str) -> None:
    """Another failed try: the server's latest words."""
    await conn.execute(sa.update(INBOUND).where(INBOUND.c.id == row.id).values(reason=reason[:500]))


async def forget(conn: AsyncConnection, row: Unfetchable) -> bool:
    """The message was read at last (or is gone): drop its row; False if another did first."""
    result = await conn.execute(
        sa.delete(INBOUND).where(INBOUND.c.id == row.id, INBOUND.c.kind == str(Kind.UNFETCHABLE))
    )
    return result.rowcount == 1
