"""The two-lane model's attached lane, computed: a referral whose partner has done nothing
recorded (the intro, an email in its thread, a reply, a confirmation) for HANDOFF_ATTACHED_AFTER
is attached, whatever role a claim gave it, while it is open; the partner's next action restores
that role. A role a manager set, a dispute, "unattributed" and a closed deal never lapse."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Referral
from bot.vocabulary import CLOSED_STAGES, Role

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

LAPSING = (str(Role.SOURCED), str(Role.INFLUENCED), str(Role.ASSISTED_CLOSE))
ATTACHED = str(Role.ATTACHED)


def last_partner_action() -> sa.ColumnElement[datetime]:
    """When the partner last did something recorded for the referral."""
    return sa.func.coalesce(referral.c.partner_action_at, referral.c.received_at)


def lapsed(attached_before: datetime) -> sa.ColumnElement[bool]:
    """The referral is in the attached lane: open, and its partner's last action is older than
    that. A closed deal keeps the role it closed with: a report of a past quarter reads the same
    next year."""
    return sa.and_(
        referral.c.stage.not_in([str(s) for s in CLOSED_STAGES]),
        referral.c.role_overridden_at.is_(None),
        sa.or_(referral.c.role.is_(None), referral.c.role.in_(LAPSING)),
        last_partner_action() < attached_before,
    )


async def partner_acted(conn: AsyncConnection, referral_id: int, at: datetime) -> None:
    """The partner did something for the referral then: its lane is restored (never moved back
    by an older message arriving late)."""
    await conn.execute(
        sa.update(referral)
        .where(
            referral.c.id == referral_id,
            sa.or_(referral.c.partner_action_at.is_(None), referral.c.partner_action_at < at),
        )
        .values(partner_action_at=at)
    )
