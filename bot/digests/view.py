"""What a partner sees of its referrals: the digest's items, from referrals and their events.

Internal matters stay internal: roles and conflicts (attribution is ours to settle), thread
activity and snoozes are not shown; claims, first responses, stages and next steps are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.digests.content import Item
from bot.models import Event, Referral
from bot.text import stage_label
from bot.vocabulary import CLOSED_STAGES, EventKind, Stage

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]

SHOWN = (
    EventKind.CLAIMED,
    EventKind.RELEASED,
    EventKind.REASSIGNED,
    EventKind.FIRST_RESPONSE,
    EventKind.STAGE_CHANGED,
    EventKind.NEXT_STEP,
    EventKind.STEP_DONE,
    EventKind.NOT_A_FIT,
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN_OWNER = "our team"  # a rep whose name Slack did not give us
STAGE_CHANGE = re.compile(r"^stage (\w+) → (\w+)")  # claims.set_stage's event detail
_STEP = re.compile(r"^next joint step: (.*) \(due (\d{4}-\d{2}-\d{2})[^)]*\)$", re.DOTALL)


class Names(Protocol):
    async def names(self, users: Collection[str]) -> dict[str, str]:
        """Each Slack user's display name, where known."""
        ...


@dataclass(frozen=True)
class Row:
    """One referral with its events of the period, before names are known."""

    referral: Any
    events: tuple[Any, ...]
    new: bool

    @property
    def users(self) -> set[str]:
        found = {self.referral.owner} if self.referral.owner else set()
        return found | {e.actor.removeprefix("slack:") for e in self.events if _slack(e.actor)}


def _slack(actor: str) -> bool:
    return actor.startswith("slack:")


async def rows(
    conn: AsyncConnection,
    *,
    partner_id: int,
    start: datetime | None,
    end: datetime,
    only: Collection[int] | None = None,
) -> list[Row]:
    """The partner's referrals new in [start, end), every open one, and those changed since."""
    since = start or EPOCH
    changed = (
        sa.exists()
        .where(
            event.c.referral_id == referral.c.id,
            event.c.at >= since,
            event.c.at < end,
            event.c.kind.in_([str(k) for k in SHOWN]),
        )
        .correlate(referral)
    )
    query = (
        sa.select(referral)
        .where(
            referral.c.partner_id == partner_id,
            referral.c.received_at < end,
            sa.or_(
                referral.c.stage.notin_([str(s) for s in CLOSED_STAGES]),
                referral.c.received_at >= since,
                changed,
            ),
        )
        .order_by(referral.c.received_at, referral.c.id)
    )
    if only is not None:
        query = query.where(referral.c.id.in_(list(only)))
    found = (await conn.execute(query)).all()
    if not found:
        return []
    events: dict[int, list[Any]] = {r.id: [] for r in found}
    for e in await conn.execute(
        sa.select(event.c.referral_id, event.c.kind, event.c.actor, event.c.at, event.c.detail)
        .where(
            event.c.referral_id.in_(list(events)),
            event.c.at >= since,
            event.c.at < end,
            event.c.kind.in_([str(k) for k in SHOWN]),
        )
        .order_by(event.c.at, event.c.id)
    ):
        events[e.referral_id].append(e)
    return [Row(r, tuple(events[r.id]), new=start is None or r.received_at >= start) for r in found]


def items(
    found: list[Row], names: Mapping[str, str], reply_to: Callable[[int], str]
) -> tuple[Item, ...]:
    """The digest's items: new referrals first, then the others, each with its changes."""
    ordered = sorted(found, key=lambda row: (not row.new, row.referral.received_at))
    return tuple(item(row, names, reply_to(row.referral.id)) for row in ordered)


def item(row: Row, names: Mapping[str, str], reply_to: str) -> Item:
    r = row.referral
    first = r.first_response_at - r.received_at if r.first_response_at else None
    return Item(
        ref=r.ref,
        prospect=r.prospect_name or r.prospect_email,
        company=r.prospect_company,
        owner=(names.get(r.owner) or UNKNOWN_OWNER) if r.owner else None,
        stage=r.stage,
        received_at=r.received_at,
        first_response=first if first is None or first.total_seconds() >= 0 else None,
        next_step=r.next_step,
        next_step_due=r.next_step_due,
        changes=tuple(c for c in (change(e, names) for e in row.events) if c),
        new=row.new,
        reply_to=reply_to,
        amount=r.amount if r.stage == Stage.WON else None,
    )


def change(e: Any, names: Mapping[str, str]) -> str | None:
    """One event as a sentence for the partner, or None for what stays internal."""
    who = names.get(e.actor.removeprefix("slack:"), UNKNOWN_OWNER) if _slack(e.actor) else None
    detail = e.detail or ""
    kind = e.kind
    if kind == EventKind.CLAIMED:
        return f"Picked up by {who or UNKNOWN_OWNER}"
    if kind == EventKind.RELEASED:
        return "Waiting for a new owner"
    if kind == EventKind.REASSIGNED:
        return "Handed over to a colleague"
    if kind == EventKind.FIRST_RESPONSE:
        return "First response sent"
    if kind == EventKind.NOT_A_FIT:
        return "Closed: not a fit for now"
    if kind == EventKind.STEP_DONE:
        return "Next joint step done: " + detail.removeprefix("done: ")
    if kind == EventKind.STAGE_CHANGED:
        match = STAGE_CHANGE.match(detail)
        if match is None or match.group(2) not in set(Stage):
            return None
        before = stage_label(match.group(1)) if match.group(1) in set(Stage) else match.group(1)
        return f"Stage: {before} → {stage_label(match.group(2))}"
    if kind == EventKind.NEXT_STEP:
        match = _STEP.match(detail)
        return f"Next joint step: {match.group(1)}, due {match.group(2)}" if match else None
    return None


def has_news(found: list[Row]) -> bool:
    """A referral new in the period, or a change the partner would read."""
    return any(row.new or any(change(e, {}) for e in row.events) for row in found)
