"""Reading referrals, their timelines, and the messages waiting for triage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Event, InboundMessage, Partner, Referral
from bot.vocabulary import waits_for_triage


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _referral_json(
    referral: Referral, slug: str, conflict_ref: str | None, overlap_ref: str | None = None
) -> dict[str, Any]:
    return {
        "ref": referral.ref,
        "partner": slug,
        "prospect": {
            "email": referral.prospect_email,
            "name": referral.prospect_name,
            "company": referral.prospect_company,
            "domain": referral.prospect_domain,
        },
        "subject": referral.subject,
        "intro_excerpt": referral.intro_excerpt,
        "intro_message_id": referral.intro_message_id,
        "sender": referral.sender,
        "received_at": _iso(referral.received_at),
        "owner": referral.owner,
        "role": referral.role,
        "stage": referral.stage,
        "claimed_at": _iso(referral.claimed_at),
        "first_response_at": _iso(referral.first_response_at),
        "next_step": referral.next_step,
        "next_step_due": _iso(referral.next_step_due),
        "amount": referral.amount,
        "conflict_with": conflict_ref,
        "slack": {"channel": referral.slack_channel, "ts": referral.slack_ts},
        "crm_existing": referral.crm_existing,
        "protected_until": _iso(referral.protected_until),
        "overlap_with": overlap_ref,
        "partner_action": {
            "type": referral.action_type or "intro_email",
            "at": _iso(referral.action_at or referral.received_at),
            "last_at": _iso(referral.partner_action_at or referral.received_at),
        },
        "proof_url": referral.proof_url,
        "logged_by": referral.logged_by,
        "confirm_asked_at": _iso(referral.confirm_asked_at),
        "confirmed_at": _iso(referral.confirmed_at),
        "confirm_message_id": referral.confirm_message_id,
        "meeting_at": _iso(referral.meeting_at),
        "meeting_cancelled_at": _iso(referral.meeting_cancelled_at),
    }


def _with_partner_and_conflict():  # type: ignore[no-untyped-def]
    rival, overlap = aliased(Referral), aliased(Referral)
    return (
        select(Referral, Partner.slug, rival.ref, overlap.ref)
        .join(Partner, col(Partner.id) == Referral.partner_id)
        .outerjoin(rival, col(rival.id) == Referral.conflict_with_id)
        .outerjoin(overlap, col(overlap.id) == Referral.overlap_with_id)
    )


async def list_referrals(
    *, session: AsyncSession, partner: str | None = None
) -> list[dict[str, Any]]:
    """Referrals, oldest first, optionally of one partner."""
    query = _with_partner_and_conflict().order_by(col(Referral.received_at), col(Referral.id))
    if partner:
        query = query.where(Partner.slug == partner.lower())
    rows = (await session.exec(query)).all()
    return [_referral_json(*row) for row in rows]


async def show_referral(*, session: AsyncSession, ref: str) -> dict[str, Any] | None:
    """One referral with every field and its timeline (`events`), or None."""
    row = (
        await session.exec(_with_partner_and_conflict().where(Referral.ref == ref.strip().upper()))
    ).first()
    if row is None:
        return None
    referral = row[0]
    events = (
        await session.exec(
            select(Event)
            .where(Event.referral_id == referral.id)
            .order_by(col(Event.at), col(Event.id))
        )
    ).all()
    data = _referral_json(*row)
    data["events"] = [
        {
            "kind": e.kind,
            "actor": e.actor,
            "at": _iso(e.at),
            "message_id": e.message_id,
            "detail": e.detail,
        }
        for e in events
    ]
    return data


async def triage(*, session: AsyncSession) -> list[dict[str, Any]]:
    """Messages a person has to look at: unknown partner, rejected, digest replies."""
    m = InboundMessage.__table__.c  # type: ignore[attr-defined]
    columns = (m.id, m.kind, m.reason, m.message_id, m.sender, m.subject, m.source, m.arrival_at)
    query = (
        sa.select(*columns)  # named columns: never the raw bytes
        # An applied digest reply has its referral; one not applied, or only in part, waits.
        .where(waits_for_triage(InboundMessage.__table__))  # type: ignore[attr-defined]
        .order_by(m.id)
    )
    rows = (await (await session.connection()).execute(query)).all()
    names = ("id", "kind", "reason", "message_id", "sender", "subject", "source", "arrival_at")
    return [dict(zip(names, (*row[:-1], _iso(row[-1])), strict=True)) for row in rows]


async def raw_message(*, session: AsyncSession, message_id: int) -> bytes | None:
    """The bytes of one stored message, exactly as received."""
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.raw).where(table.c.id == message_id)
    return (await (await session.connection()).execute(query)).scalar_one_or_none()
