"""The buttons on reminders sent by DM: responded, snooze, next step done, reschedule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.nudges import followups
from bot.referrals import actions as claims
from bot.referrals.acting import Outcome
from bot.slack import nudges
from bot.slack.listeners.claims import open_modal_for
from bot.slack.services import Services

# What each button does, and the line that replaces the buttons once it is done.
_ACTIONS: dict[str, tuple[Callable[..., Awaitable[Outcome]], str]] = {
    nudges.RESPONDED: (claims.mark_first_response, ":white_check_mark: Marked responded"),
    nudges.SNOOZE_RESPONSE: (followups.snooze_first_response, ":zzz: Snoozed for a day"),
    nudges.STEP_DONE: (followups.complete_next_step, ":white_check_mark: Done"),
    nudges.STEP_SNOOZE: (followups.snooze_next_step, ":zzz: Snoozed for a day"),
}


async def reminder_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: Services,
) -> None:
    """Responded, snooze, done: applied, then the DM's buttons become a line saying so."""
    await services.accept(ack, body)
    do, line = _ACTIONS[action["action_id"]]
    channel = (body.get("container") or {}).get("channel_id")
    outcome = await services.act(body, do, channel=channel, ref=action["value"])
    if outcome is not None and body.get("message"):
        user = body["user"]["id"]
        blocks = nudges.answered(body["message"], f"{line} by <@{user}>")
        await respond(replace_original=True, text=body["message"].get("text", ""), blocks=blocks)


async def reschedule(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """The next-step modal, to move the step to another day."""
    await ack()
    await open_modal_for(services, body, action["value"], "next_step")


def register(app: AsyncApp) -> None:
    """The buttons on reminder DMs."""
    for action_id in _ACTIONS:
        app.action(action_id)(reminder_button)
    app.action(nudges.STEP_RESCHEDULE)(reschedule)
