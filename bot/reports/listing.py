"""Every referral of a period, with what became of it: the partner detail and the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import as_utc
from bot.reports.periods import Period
from bot.reports.summary import event, in_period, partner, referral, seconds_between
from bot.vocabulary import ActionType, role_label

rival = referral.alias("rival")


@dataclass(frozen=True)
class Item:
    ref: str
    partner: str
    partner_name: str
    prospect_email: str
    prospect_name: str | None
    prospect_company: str | None
    prospect_domain: str | None
    subject: str
    received_at: datetime
    owner: str | None
    role: str | None
    role_overridden_at: datetime | None
    stage: str
    claimed_at: datetime | None
    minutes_to_claim: float | None
    first_response_at: datetime | None
    hours_to_first_response: float | None
    met_at: datetime | None
    opportunity_at: datetime | None
    amount: float | None
    next_step: str | None
    next_step_due: datetime | None
    conflict_with: str | None
    last_activity_at: datetime | None
    action_type: str | None  # what the partner did, for a referral logged in Slack
    action_at: datetime | None
    confirmed_at: datetime | None  # the partner confirmed a logged referral by email
    meeting_at: datetime | None  # the meeting a calendar invitation booked

    @property
    def role_shown(self) -> str:
        """ "Influenced (overridden)" when a manager set it; "—" before a claim."""
        shown = role_label(self.role, none="—")
        return f"{shown} (overridden)" if self.role_overridden_at else shown

    @property
    def partner_action_type(self) -> str:
        """What the partner did: the logged action, or the intro email itself."""
        return self.action_type or str(ActionType.INTRO_EMAIL)

    @property
    def partner_action_date(self) -> datetime:
        """When the partner did it: the logged action's time, or the intro's arrival."""
        return self.action_at or self.received_at


def _query(period: Period) -> sa.Select[Any]:
    last_activity = (
        sa.select(sa.func.max(event.c.at))
        .where(event.c.referral_id == referral.c.id)
        .correlate(referral)
        .scalar_subquery()
    )
    return (
        sa.select(
            referral.c.ref,
            partner.c.slug.label("partner"),
            partner.c.name.label("partner_name"),
            referral.c.prospect_email,
            referral.c.prospect_name,
            referral.c.prospect_company,
            referral.c.prospect_domain,
            referral.c.subject,
            referral.c.received_at,
            referral.c.owner,
            referral.c.role,
            referral.c.role_overridden_at,
            referral.c.stage,
            referral.c.claimed_at,
            seconds_between(referral.c.claimed_at, referral.c.received_at).label("claim_s"),
            referral.c.first_response_at,
            seconds_between(referral.c.first_response_at, referral.c.received_at).label(
                "response_s"
            ),
            referral.c.met_at,
            referral.c.opportunity_at,
            referral.c.amount,
            referral.c.next_step,
            referral.c.next_step_due,
            rival.c.ref.label("conflict_with"),
            last_activity.label("last_activity_at"),
            referral.c.action_type,
            referral.c.action_at,
            referral.c.confirmed_at,
            referral.c.meeting_at,
        )
        .join(partner, partner.c.id == referral.c.partner_id)
        .outerjoin(rival, rival.c.id == referral.c.conflict_with_id)
        .where(in_period(period))
        .order_by(referral.c.received_at, referral.c.id)
    )


async def referrals(
    conn: AsyncConnection,
    period: Period,
    *,
    partner_slug: str | None = None,
    owner: str | None = None,
    limit: int | None = None,
) -> list[Item]:
    """The period's referrals (a partner's, an owner's, or all), oldest first."""
    query = _query(period)
    if partner_slug is not None:
        query = query.where(partner.c.slug == partner_slug)
    if owner is not None:
        query = query.where(referral.c.owner == owner)
    if limit is not None:
        query = query.limit(limit)
    return [_item(row) for row in await conn.execute(query)]


def _item(row: sa.Row[Any]) -> Item:
    return Item(
        ref=row.ref,
        partner=row.partner,
        partner_name=row.partner_name,
        prospect_email=row.prospect_email,
        prospect_name=row.prospect_name,
        prospect_company=row.prospect_company,
        prospect_domain=row.prospect_domain,
        subject=row.subject,
        received_at=as_utc(row.received_at),
        owner=row.owner,
        role=row.role,
        role_overridden_at=as_utc(row.role_overridden_at),
        stage=row.stage,
        claimed_at=as_utc(row.claimed_at),
        minutes_to_claim=None if row.claim_s is None else round(float(row.claim_s) / 60, 1),
        first_response_at=as_utc(row.first_response_at),
        hours_to_first_response=(
            None if row.response_s is None else round(float(row.response_s) / 3600, 1)
        ),
        met_at=as_utc(row.met_at),
        opportunity_at=as_utc(row.opportunity_at),
        amount=row.amount,
        next_step=row.next_step,
        next_step_due=as_utc(row.next_step_due),
        conflict_with=row.conflict_with,
        last_activity_at=as_utc(row.last_activity_at),
        action_type=row.action_type,
        action_at=as_utc(row.action_at),
        confirmed_at=as_utc(row.confirmed_at),
        meeting_at=as_utc(row.meeting_at),
    )


CSV_COLUMNS = (
    "ref",
    "partner",
    "partner_name",
    "role",
    "role_overridden",
    "stage",
    "owner",
    "prospect_email",
    "prospect_name",
    "prospect_company",
    "prospect_domain",
    "subject",
    "received_at",
    "claimed_at",
    "minutes_to_claim",
    "first_response_at",
    "hours_to_first_response",
    "met_at",
    "opportunity_at",
    "amount",
    "next_step",
    "next_step_due",
    "conflict_with",
    "last_activity_at",
    # Added later, at the end so that the earlier columns keep their places.
    "partner_action_date",
    "partner_action_type",
    "confirmed_at",
    "meeting_at",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # A spreadsheet runs a cell that starts with =, +, - or @ as a formula: never from email.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(items: list[Item]) -> str:
    """Every field of every referral, one row each, for spreadsheets and other systems."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        values = {
            name: getattr(item, name)
            for name in CSV_COLUMNS
            if name not in ("role_overridden", "next_step_due")
        }
        values["role_overridden"] = "yes" if item.role_overridden_at else ""
        values["next_step_due"] = item.next_step_due.date() if item.next_step_due else None
        writer.writerow([_cell(values[name]) for name in CSV_COLUMNS])
    return out.getvalue()
