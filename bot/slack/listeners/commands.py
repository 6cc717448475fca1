"""/attribution: the command, its dispute buttons and the modal that settles a dispute."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.referrals import disputes
from bot.referrals.acting import Actor, Refused
from bot.slack import attribution as attr
from bot.slack.services import Services
from bot.vocabulary import ROLE_LABELS, Role

log = logging.getLogger("handoff.slack")


async def attribution(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, services: Services
) -> None:
    """/attribution: help in the ack; anything else follows through the response_url."""
    asked = attr.parse(command.get("text", ""))
    if asked.form == "help":
        await ack(response_type="ephemeral", text=attr.HELP)
        return
    key = None
    if asked.form == "set":  # a change: written down before it is acknowledged
        key = await services.accept(ack, command, f"command:{command.get('trigger_id', '')}")
    else:
        await ack()  # at once: the report follows through the response_url
    failed: BaseException | None = None
    try:
        actor = await services.roster.actor(command["user_id"])
        if asked.form == "set":
            await _set_role(services, actor, asked, command, respond)
        else:
            await _report(services, actor, asked, command, respond)
    except attr.Refusal as exc:  # a form or period not understood: say why, then help
        await respond(text=f"{exc}\n\n{attr.HELP}", response_type="ephemeral")
    except Refused as exc:
        await respond(text=str(exc), response_type="ephemeral")
    except Exception as exc:  # noqa: BLE001 - the user gets a sentence, the log the trace
        failed = exc
        log.exception("slack: %s %r failed", attr.COMMAND, command.get("text", ""))
        await respond(
            text="Handoff could not answer that just now (the reason is in its log). "
            f"Try again in a moment, or `{attr.COMMAND} help`.",
            response_type="ephemeral",
        )
    except BaseException as exc:  # cut off (serve stopping): kept, applied on the next start
        failed = exc
        raise
    finally:
        if key is not None:
            await services.settled(key, failed=failed)


async def _set_role(
    services: Services,
    actor: Actor,
    asked: attr.Asked,
    command: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    """`set ACME-12 role ROLE [why]`: a manager's word on the partner's role."""
    ref, role, reason = attr.parse_set(asked.words)
    outcome = await disputes.override_role(
        engine=services.engine,
        ref=ref,
        actor=actor,
        role=role,
        reason=reason,
        at=services.clock(),
        request=f"command:{command.get('trigger_id', '')}",
    )
    services.outbox.wake()
    text = outcome.note or (
        f"{outcome.ref}: the partner's role is now {ROLE_LABELS[role]}, set by "
        f"<@{actor.user}>{'' if reason else ' (no reason given)'}; the report shows it "
        "as overridden."
    )
    await respond(text=text, response_type=_shown(asked), replace_original=False)


async def _report(
    services: Services,
    actor: Actor,
    asked: attr.Asked,
    command: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    """Every other form: the report in messages, or a file (CSV, chart) uploaded."""
    answer = await services.report(asked, user=actor.user, manager=actor.manager)
    if answer.file is not None:
        await attr.upload(
            services.client,
            user=actor.user,
            channel=command.get("channel_id"),
            public=asked.public,
            file=answer.file,
        )
        where = "here" if asked.public else "in your DM with Handoff"
        await respond(text=f"{answer.text}: uploaded {where}.", response_type="ephemeral")
        return
    for blocks in attr.messages(answer):
        await respond(
            text=answer.text, blocks=blocks, response_type=_shown(asked), replace_original=False
        )


def _shown(asked: attr.Asked) -> str:
    return "in_channel" if asked.public else "ephemeral"


async def dispute_winner(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """A dispute's "Acme wins" button: a manager is asked why, in a modal."""
    await ack()
    ref, _, winner = action["value"].partition("|")
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    actor = await services.roster.actor(user)
    placed = await services.card(ref)
    if not actor.manager or placed is None or not placed.card.disputed:
        text = (
            "Only partner managers can settle a dispute."
            if not actor.manager
            else f"{ref} is no longer disputed."
        )
        await services.tell(user=user, channel=channel, text=text)
        return
    card = placed.card
    names = {card.ref: card.partner_name, card.conflict_ref: card.conflict_partner or "?"}
    other = card.conflict_ref if winner == card.ref else card.ref
    view = attr.dispute_modal(ref, winner, names.get(winner, winner), other or "?")
    await services.client.views_open(trigger_id=body["trigger_id"], view=view)


async def settle(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    """The dispute modal: the winner, what the other becomes, and why (required)."""
    values = view["state"]["values"]
    reason = (values["reason"]["text"].get("value") or "").strip()
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why."})
        return
    await services.accept(ack, body)
    ref, _, winner = view["private_metadata"].partition("|")
    role = Role(values["role"]["role"]["selected_option"]["value"])
    placed = await services.card(ref)
    outcome = await services.act(
        body,
        disputes.resolve_dispute,
        channel=placed.channel if placed else None,
        ref=ref,
        winner=winner,
        loser_role=role,
        reason=reason,
    )
    if outcome is not None and outcome.applied:
        await services.tell(
            user=body["user"]["id"],
            channel=placed.channel if placed else None,
            text=f"Settled: {winner} wins, and the reason is kept on both referrals.",
        )


def register(app: AsyncApp) -> None:
    """The /attribution command and the dispute buttons and modal its reports show."""
    app.command(attr.COMMAND)(attribution)
    app.action(re.compile(f"^{attr.DISPUTE_WINNER}:"))(dispute_winner)
    app.view(attr.DISPUTE_MODAL)(settle)
