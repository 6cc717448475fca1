"""What every action on a referral shares: the prologue and the event.

An action is one transaction: it records the Slack request (so a retried request applies
once), loads the referral, checks who may do it, changes the referral with a compare-and-set,
and writes the event with the Slack user as actor, queuing the post's update and the line in
its thread (bot/outbox.py) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import upsert_insert
from bot.models import Referral, SlackRequest
from bot.outbox import enqueue
from bot.referrals import timeline
from bot.vocabulary import EventKind, JobKind

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
applied_requests: sa.Table = SlackRequest.__table__  # type: ignore[attr-defined]


class Refused(Exception):  # noqa: N818 - an answer to the user, not a crash
    """The action is not allowed or no longer possible; the message is shown to the user."""


@dataclass(frozen=True)
class Actor:
    """Who clicked, and what Slack's user groups let them do (bot/slack/roster.py); or a
    system such as the CRM, acting as a manager would."""

    user: str
    may_claim: bool = True
    manager: bool = False
    system: str | None = None  # another system acting (e.g. "hubspot"): the actor's name

    @property
    def name(self) -> str:
        return self.system or f"slack:{self.user}"


@dataclass(frozen=True)
class Outcome:
    ref: str
    applied: bool  # False: this very request was applied before (a Slack retry)
    note: str | None = None  # told to the user alone (ephemeral)


async def first_time(conn: AsyncConnection, request: str, at: datetime) -> bool:
    """Record a Slack request as applied; False when it was applied before (a retry)."""
    values = {"key": request[:300], "at": at}
    insert = upsert_insert(conn.dialect, applied_requests).values(**values)
    insert = insert.on_conflict_do_nothing()
    return (await conn.execute(insert)).rowcount == 1


async def load(conn: AsyncConnection, ref: str) -> Any:
    """The referral's id, ref, owner, role, stage, amount and rival; Refused if there is none."""
    row = (
        await conn.execute(
            sa.select(
                referral.c.id,
                referral.c.ref,
                referral.c.owner,
                referral.c.role,
                referral.c.stage,
                referral.c.amount,
                referral.c.conflict_with_id,
                referral.c.role_overridden_at,
            ).where(referral.c.ref == ref.strip().upper())
        )
    ).first()
    if row is None:
        raise Refused(f"There is no referral {ref}.")
    return row


def owner_or_manager(row: Any, actor: Actor, doing: str) -> None:
    """Refused unless the referral has an owner and the actor is that owner or a manager."""
    if row.owner is None and doing != "release":
        raise Refused(f"Claim {row.ref} first.")
    if row.owner is None:
        raise Refused(f"{row.ref} has no owner to release it from.")
    if row.owner != actor.user and not actor.manager:
        raise Refused(f"Only {row.ref}'s owner <@{row.owner}> or a manager can {doing} it.")


async def changed(
    conn: AsyncConnection,
    referral_id: int,
    kind: EventKind,
    actor: Actor,
    at: datetime,
    detail: str,
    *,
    shown: bool = True,
) -> int:
    """The event with the Slack user as actor; unless not `shown`, the post re-rendered and a
    line in its thread. Returns the event's id."""
    event_id = await timeline.record(
        conn, referral_id, kind, actor=actor.name, at=at, detail=detail, threaded=False
    )
    if shown:
        await enqueue(conn, JobKind.SLACK_UPDATE, referral_id)
        await enqueue(conn, JobKind.SLACK_THREAD, referral_id, event_id=event_id)
    return event_id


Change = Callable[[AsyncConnection, Any], Awaitable["Outcome"]]


async def act(
    *,
    engine: AsyncEngine,
    ref: str,
    actor: Actor,
    at: datetime,
    request: str,
    change: Change,
    doing: str | None = None,
) -> Outcome:
    """The prologue of every action, then `change(conn, row)` in the same transaction.

    A request applied before (Slack retries) changes nothing; with `doing`, only the owner or
    a manager may go on (owner_or_manager says why not).
    """
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            return Outcome(ref, applied=False)
        row = await load(conn, ref)
        if doing is not None:
            owner_or_manager(row, actor, doing)
        return await change(conn, row)
