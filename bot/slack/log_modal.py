"""The "Log as partner referral" modal (message shortcut and /referral), and reading it back.

Pure: the views.open payload from the partners and what the message suggests, and the
submitted values as a bot.intake.logged.Logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.intake.logged import ACTIONS
from bot.intake.rules import emails_in
from bot.referrals.directory import domain_suffixes
from bot.slack.blocks import fit, one_line
from bot.vocabulary import ACTION_LABELS, ROLE_LABELS, ActionType, Role

LOG_SHORTCUT = "log_referral"  # the message shortcut's callback_id (manifest.yml)
LOG_COMMAND = "/referral"
LOG_MODAL = "log_referral_modal"
NOTE_MAX = 2000
OPTIONS_MAX = 100  # a static select's limit (https://docs.slack.dev/reference/block-kit/)
_CLAIMS = (Role.SOURCED, Role.INFLUENCED, Role.ASSISTED_CLOSE)
NO_CLAIM = "none"


@dataclass(frozen=True)
class Suggested:
    """What the modal opens with: from the message the shortcut was used on, or /referral's text."""

    email: str | None = None
    note: str = ""
    proof_url: str | None = None


def suggest(text: str, *, internal: frozenset[str], proof_url: str | None = None) -> Suggested:
    """The first outside address in the text as the prospect, the text as the note."""
    outside = (
        address
        for address in emails_in(text or "")
        if not internal.intersection(domain_suffixes(address.rpartition("@")[2]))
    )
    return Suggested(next(outside, None), fit(text or "", NOTE_MAX), proof_url)


def log_modal(
    partners: list[tuple[str, str]], suggested: Suggested, *, today: date
) -> dict[str, Any]:
    """The views.open payload that logs a referral made outside email."""
    choices = [Option(text=fit(one_line(name), 75), value=slug) for slug, name in partners]
    partner = StaticSelectElement(
        action_id="partner",
        placeholder="Choose the partner",
        options=choices[:OPTIONS_MAX],
        initial_option=choices[0] if len(choices) == 1 else None,
    )
    action_options = [Option(text=ACTION_LABELS[a], value=str(a)) for a in ACTIONS]
    claim_options = [Option(text="No, leave it for the team", value=NO_CLAIM)] + [
        Option(text=f"Yes, as {ROLE_LABELS[r]}", value=str(r)) for r in _CLAIMS
    ]
    blocks: list[Block] = [
        InputBlock(block_id="partner", label="Partner", element=partner),
        InputBlock(
            block_id="email",
            label="Prospect's email",
            element=PlainTextInputElement(
                action_id="email",
                initial_value=suggested.email,
                placeholder="jane@hooli.example",
                max_length=320,
            ),
        ),
        InputBlock(
            block_id="name",
            label="Prospect's name",
            optional=True,
            element=PlainTextInputElement(action_id="name", max_length=300),
        ),
        InputBlock(
            block_id="company",
            label="Company",
            optional=True,
            element=PlainTextInputElement(action_id="company", max_length=300),
        ),
        InputBlock(
            block_id="action",
            label="What the partner did",
            element=StaticSelectElement(
                action_id="action",
                options=action_options,
                initial_option=action_options[0],
            ),
        ),
        InputBlock(
            block_id="when",
            label="When it happened",
            element=DatePickerElement(action_id="date", initial_date=today.isoformat()),
        ),
        InputBlock(
            block_id="note",
            label="Note",
            optional=True,
            element=PlainTextInputElement(
                action_id="note",
                multiline=True,
                max_length=NOTE_MAX,
                initial_value=suggested.note or None,
            ),
        ),
        InputBlock(
            block_id="claim",
            label="Claim it for yourself?",
            element=StaticSelectElement(
                action_id="claim",
                options=claim_options,
                initial_option=claim_options[0],
            ),
        ),
    ]
    if suggested.proof_url:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="The Slack message it was logged from is kept as its proof.",
                        verbatim=True,
                    )
                ]
            )
        )
    view = View(
        type="modal",
        callback_id=LOG_MODAL,
        private_metadata=json.dumps({"proof_url": suggested.proof_url}),
        title="Log partner referral",
        submit="Log it",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


@dataclass(frozen=True)
class Submitted:
    """The modal's values as typed (checked by bot.intake.logged.problems)."""

    partner: str
    email: str
    name: str | None
    company: str | None
    action: ActionType
    happened_on: date | None
    note: str
    claim_as: Role | None
    proof_url: str | None


def submitted(view: dict[str, Any]) -> Submitted:
    """What a view_submission of the modal says."""
    values = view["state"]["values"]

    def text(block: str) -> str:
        return (values.get(block, {}).get(block, {}).get("value") or "").strip()

    def picked(block: str, action: str) -> str | None:
        chosen = values.get(block, {}).get(action, {}).get("selected_option") or {}
        return chosen.get("value")

    day = values.get("when", {}).get("date", {}).get("selected_date")
    claim = picked("claim", "claim")
    try:
        proof = json.loads(view.get("private_metadata") or "{}").get("proof_url")
    except (ValueError, AttributeError):
        proof = None
    return Submitted(
        partner=picked("partner", "partner") or "",
        email=text("email").lower(),
        name=text("name") or None,
        company=text("company") or None,
        action=ActionType(picked("action", "action") or ActionType.INTRO_CALL),
        happened_on=date.fromisoformat(day) if day else None,
        note=text("note"),
        claim_as=Role(claim) if claim and claim != NO_CLAIM else None,
        proof_url=proof if isinstance(proof, str) else None,
    )
