"""Modal submissions: next joint step, stage (won asks for the amount), reassign."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.referrals import actions as claims
from bot.referrals.acting import Refused
from bot.slack import blocks
from bot.slack.services import Services
from bot.vocabulary import Stage


async def next_step(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The next joint step and its day; both asked for, the day not in the past."""
    values = view["state"]["values"]
    text = (values["step"]["text"].get("value") or "").strip()
    picked = values["due"]["date"].get("selected_date")
    errors = {}
    if not text:
        errors["step"] = "Describe the next joint step."
    due = date.fromisoformat(picked) if picked else None
    if due is None:
        errors["due"] = "Pick the day it is due."
    # Yesterday still passes: the user's day may lag UTC's.
    elif due < services.clock().date() - timedelta(days=1):
        errors["due"] = "Pick today or a later day."
    if errors:
        # Validation answers in the ack itself, so Slack shows it on the fields.
        await ack(response_action="errors", errors=errors)
        return
    await services.accept(ack, body)
    assert due is not None
    await _apply(services, body, view, claims.set_next_step, text=text, due=due)


async def stage(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The new stage; a won deal needs its amount."""
    values = view["state"]["values"]
    chosen = Stage(values["stage"]["stage"]["selected_option"]["value"])
    raw = values["amount"]["amount"].get("value")
    amount = None
    if chosen == Stage.WON:
        try:
            amount = claims.won_amount(raw)
        except Refused as refused:
            await ack(response_action="errors", errors={"amount": str(refused)})
            return
    await services.accept(ack, body)
    await _apply(
        services,
        body,
        view,
        claims.set_stage,
        stage=chosen,
        amount=amount,
        currency=services.settings.currency,
    )


async def reassign(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The referral's new owner, picked by a manager."""
    owner = view["state"]["values"]["owner"]["user"].get("selected_user")
    if not owner:
        await ack(response_action="errors", errors={"owner": "Choose the new owner."})
        return
    await services.accept(ack, body)
    await _apply(services, body, view, claims.reassign, owner=owner)


def register(app: AsyncApp) -> None:
    """The modals opened from a referral's post."""
    app.view(blocks.NEXT_STEP_MODAL)(next_step)
    app.view(blocks.STAGE_MODAL)(stage)
    app.view(blocks.REASSIGN_MODAL)(reassign)


async def _apply(
    services: Services, body: dict[str, Any], view: dict[str, Any], action: Any, **fields: Any
) -> None:
    # A modal has no channel: refusals go where the referral is posted.
    ref = view["private_metadata"]
    placed = await services.card(ref)
    channel = placed.channel if placed else None
    await services.act(body, action, channel=channel, ref=ref, **fields)
