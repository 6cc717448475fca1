"""A referral as data, as a change left it: what webhooks carry and the CRM's deal is made of."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Partner, Referral, SlackUser

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
slack_user: sa.Table = SlackUser.__table__  # type: ignore[attr-defined]


def iso(at: datetime | None) -> str | None:
    """RFC 3339 in UTC, with a Z, as receivers parse it everywhere."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def snapshot(conn: AsyncConnection, referral_id: int) -> dict[str, Any]:
    """The referral as the change left it: what a CRM's deal needs."""
    rival = referral.alias("rival")
    r = referral.c
    row = (
        await conn.execute(
            sa.select(
                referral,
                partner.c.slug.label("partner_slug"),
                partner.c.name.label("partner_name"),
                slack_user.c.name.label("owner_name"),
                slack_user.c.email.label("owner_email"),
                rival.c.ref.label("rival_ref"),
            )
            .join(partner, partner.c.id == r.partner_id)
            .outerjoin(slack_user, slack_user.c.id == r.owner)
            .outerjoin(rival, rival.c.id == r.conflict_with_id)
            .where(r.id == referral_id)
        )
    ).one()
    owner = None
    if row.owner:
        owner = {"slack_id": row.owner, "name": row.owner_name, "email": row.owner_email}
    step = None
    if row.next_step:
        step = {"text": row.next_step, "due": iso(row.next_step_due)}
    return {
        "ref": row.ref,
        "partner": {"slug": row.partner_slug, "name": row.partner_name},
        "prospect": {
            "email": row.prospect_email,
            "name": row.prospect_name,
            "company": row.prospect_company,
            "domain": row.prospect_domain,
        },
        "received_at": iso(row.received_at),
        "proof": {
            "message_id": row.intro_message_id,
            "subject": row.subject,
            "url": row.proof_url,
        },
        "partner_action": {
            "type": row.action_type or "intro_email",
            "at": iso(row.action_at or row.received_at),
        },
        "confirmed_at": iso(row.confirmed_at),
        "meeting_at": iso(row.meeting_at),
        "conflict_with": row.rival_ref,
        "owner": owner,
        "role": row.role,
        "stage": row.stage,
        "amount": row.amount,
        "claimed_at": iso(row.claimed_at),
        "first_response_at": iso(row.first_response_at),
        "next_step": step,
        "protected_until": iso(row.protected_until),
        "slack": {"channel": row.slack_channel, "ts": row.slack_ts} if row.slack_ts else None,
    }
