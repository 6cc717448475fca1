"""Referrals that did not come by email: the "Log as partner referral" message shortcut and
/referral open the modal; its submission logs the referral (bot/intake/logged.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.intake.logged import Logged, log_referral, problems
from bot.slack.links import permalinks
from bot.slack.log_modal import (
    LOG_COMMAND,
    LOG_MODAL,
    LOG_SHORTCUT,
    Suggested,
    log_modal,
    submitted,
    suggest,
)
from bot.slack.services import Services

log = logging.getLogger("handoff.slack")


async def from_message(ack: AsyncAck, shortcut: dict[str, Any], services: Services) -> None:
    """The message shortcut: the modal, with the message's outside address and text, and its
    permalink kept as the referral's proof."""
    await ack()
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    ts = shortcut.get("message_ts") or message.get("ts")
    proof = await permalinks(services.client)(channel, ts) if channel and ts else None
    internal = services.settings.all_internal_domains
    suggested = suggest(message.get("text") or "", internal=internal, proof_url=proof)
    await _open(services, shortcut["trigger_id"], shortcut["user"]["id"], suggested)


async def command(ack: AsyncAck, command: dict[str, Any], services: Services) -> None:
    """/referral [email or note]: the modal, with an address in the text as the prospect's."""
    await ack()
    internal = services.settings.all_internal_domains
    suggested = suggest(command.get("text") or "", internal=internal)
    await _open(services, command["trigger_id"], command["user_id"], suggested)


async def _open(services: Services, trigger_id: str, user: str, suggested: Suggested) -> None:
    partners = await services.partner_choices()
    if not partners:
        await services.tell(
            user=user,
            channel=None,
            text="No partner is registered yet: `handoff partners add SLUG --name NAME` first.",
        )
        return
    view = log_modal(partners, suggested, today=services.clock().date())
    try:
        await services.client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:  # the trigger expired (3 s): the user tries again
        log.warning("slack: the log-a-referral modal did not open: %s", exc.response.get("error"))


async def submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The modal's Log it: fields checked in the ack, then the referral logged."""
    got = submitted(view)
    errors = problems(email=got.email, happened_on=got.happened_on, today=services.clock().date())
    if not got.partner:
        errors["partner"] = "Choose the partner who made the introduction."
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await services.accept(ack, body)
    assert got.happened_on is not None
    logged = Logged(
        partner=got.partner,
        email=got.email,
        name=got.name,
        company=got.company,
        action=got.action,
        happened_on=got.happened_on,
        note=got.note,
        proof_url=got.proof_url,
        claim_as=got.claim_as,
    )
    await services.act(body, log_referral, channel=None, logged=logged, settings=services.settings)


def register(app: AsyncApp) -> None:
    """The shortcut, the command and the modal."""
    app.shortcut(LOG_SHORTCUT)(from_message)
    app.command(LOG_COMMAND)(command)
    app.view(LOG_MODAL)(submit)
