"""A HubSpot deal as Handoff reads it back: its ref, stage, amount and when it last changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.crm.pulled import DealChange
from bot.models import utcnow

# hs_v2_date_entered_current_stage: when the deal entered its stage (HubSpot's calculated
# property; where a portal lacks it, the deal's last change stands in).
PROPERTIES = [
    "handoff_ref",
    "dealstage",
    "amount",
    "pipeline",
    "hs_lastmodifieddate",
    "hs_v2_date_entered_current_stage",
]


def _instant(text: str | None) -> datetime | None:
    """HubSpot's datetimes: ISO 8601, or epoch milliseconds."""
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _amount(text: str | None) -> float | None:
    try:
        return round(float(text), 2) if text else None
    except ValueError:
        return None


def deal_change(deal: dict[str, Any], now: datetime | None = None) -> DealChange:
    """The deal ({id, properties}) as a change to apply."""
    props = deal["properties"]
    return DealChange(
        deal_id=deal["id"],
        ref=props.get("handoff_ref") or "",
        stage=props.get("dealstage"),
        amount=_amount(props.get("amount")),
        modified_at=modified_at(deal) or now or utcnow(),
        stage_at=_instant(props.get("hs_v2_date_entered_current_stage")),
    )


def modified_at(deal: dict[str, Any]) -> datetime | None:
    """When the deal last changed: hs_lastmodifieddate, else the object's updatedAt."""
    return _instant(deal["properties"].get("hs_lastmodifieddate")) or deal.get("updated_at")
