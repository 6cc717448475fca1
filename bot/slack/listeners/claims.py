"""The buttons on a referral's post: claim, not a fit, first response, role, release."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.referrals import actions as claims
from bot.referrals.acting import Refused, owner_or_manager
from bot.slack import blocks
from bot.slack.services import Services
from bot.slack.views import next_step_modal, reassign_modal, stage_modal
from bot.vocabulary import Role


async def claim_button(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """Claim, sourced or influenced, from the post's buttons."""
    await services.accept(ack, body)
    role = Role.SOURCED if action["action_id"] == blocks.CLAIM_SOURCED else Role.INFLUENCED
    await services.act(body, claims.claim, channel=_channel(body), ref=action["value"], role=role)


async def intro_more(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The unclaimed post's overflow menu: claim with another role, or not a fit."""
    await services.accept(ack, body)
    verb, arg, ref = blocks.parse_value(action["selected_option"]["value"])
    if verb == "claim":
        await services.act(body, claims.claim, channel=_channel(body), ref=ref, role=Role(arg))
    elif verb == "not_a_fit":
        await services.act(body, claims.not_a_fit, channel=_channel(body), ref=ref)


async def first_response(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The owner has answered the prospect."""
    await services.accept(ack, body)
    await services.act(
        body, claims.mark_first_response, channel=_channel(body), ref=action["value"]
    )


async def change_role(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The partner's role, picked from the claimed post's menu."""
    await services.accept(ack, body)
    _, role, ref = blocks.parse_value(action["selected_option"]["value"])
    await services.act(body, claims.change_role, channel=_channel(body), ref=ref, role=Role(role))


async def claimed_more(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The claimed post's overflow menu: release, or reassign (a modal)."""
    verb, _, ref = blocks.parse_value(action["selected_option"]["value"])
    if verb == "release":
        await services.accept(ack, body)
    else:
        await ack()
    if verb == "release":
        await services.act(body, claims.release, channel=_channel(body), ref=ref)
    elif verb == "reassign":
        await open_modal_for(services, body, ref, "reassign")


async def open_modal(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The next joint step or the stage, each in its modal."""
    await ack()
    what = "next_step" if action["action_id"] == blocks.NEXT_STEP else "stage"
    await open_modal_for(services, body, action["value"], what)


def register(app: AsyncApp) -> None:
    """The buttons and menus on a referral's post."""
    app.action(blocks.CLAIM_SOURCED)(claim_button)
    app.action(blocks.CLAIM_INFLUENCED)(claim_button)
    app.action(blocks.INTRO_MORE)(intro_more)
    app.action(blocks.FIRST_RESPONSE)(first_response)
    app.action(blocks.CHANGE_ROLE)(change_role)
    app.action(blocks.CLAIMED_MORE)(claimed_more)
    app.action(blocks.NEXT_STEP)(open_modal)
    app.action(blocks.UPDATE_STAGE)(open_modal)


async def open_modal_for(services: Services, body: dict[str, Any], ref: str, what: str) -> None:
    """A modal for the referral, opened only for someone allowed to submit it."""
    user = body["user"]["id"]
    placed = await services.card(ref)
    if placed is None:
        await services.tell(user=user, channel=_channel(body), text=f"There is no referral {ref}.")
        return
    card = placed.card
    try:
        actor = await services.roster.actor(user)
        if what == "reassign" and not actor.manager:
            raise Refused("Only managers can reassign referrals.")
        if what != "reassign":
            owner_or_manager(card, actor, "change")
    except Refused as exc:
        await services.tell(user=user, channel=_channel(body), text=str(exc))
        return
    if what == "stage":
        view = stage_modal(card, services.settings.currency)
    else:
        view = {"next_step": next_step_modal, "reassign": reassign_modal}[what](card)
    await services.client.views_open(trigger_id=body["trigger_id"], view=view)


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
