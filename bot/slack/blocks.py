"""Pure Block Kit builders for a referral's post and thread, from plain dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.referrals.cards import Card
from bot.text import day, duration, stage_label
from bot.vocabulary import (
    ACTION_LABELS,
    CLOSED_STAGES,
    ROLE_LABELS,
    ActionType,
    Role,
    Stage,
    role_label,
)

# Action ids, and the callback ids of the modals they open (bot/slack/views.py).
CLAIM_SOURCED = "claim_sourced"
CLAIM_INFLUENCED = "claim_influenced"
INTRO_MORE = "intro_more"
FIRST_RESPONSE = "first_response"
NEXT_STEP = "next_step"
UPDATE_STAGE = "update_stage"
CHANGE_ROLE = "change_role"
CLAIMED_MORE = "claimed_more"
NEXT_STEP_MODAL = "next_step_modal"
STAGE_MODAL = "stage_modal"
REASSIGN_MODAL = "reassign_modal"

# Slack's limits, https://docs.slack.dev/reference/block-kit/blocks and …/composition-objects
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_TEXT = 2000
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
FALLBACK_TEXT = 4000  # chat.postMessage truncates `text` beyond 4,000 characters
EXCERPT_SHOWN = 500

# C0/C1 controls except the newline; bidi overrides and zero-width characters can disguise
# text (a right-to-left override makes "moc.evil" read as "live.com"), so they go entirely.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]+")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_VALUE = re.compile(r"([a-z_]+):([a-z_]*):([^:\s]+)")


@dataclass(frozen=True)
class Post:
    """A chat.postMessage / chat.update payload: notification fallback and blocks."""

    text: str
    blocks: list[dict[str, Any]]


# --- text -------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Normalise line ends, collapse control characters to one space, drop invisible ones."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text))


def escape(text: str) -> str:
    """Make text from email inert in mrkdwn: no mentions, channel links or disguised links."""
    # https://docs.slack.dev/messaging/formatting-message-text#escaping: these three only,
    # & first so that the entities written next are not escaped again.
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Cut text to at most limit characters with "…", never inside an &amp;-style entity."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    # The longest entity, "&amp;", is 5 characters, so a cut one starts in the last 4.
    amp = kept.rfind("&", max(0, len(kept) - 4))
    if amp != -1 and ";" not in kept[amp:]:
        kept = kept[:amp]
    return kept.rstrip() + "…"


def one_line(text: str) -> str:
    """Text from a header field on one line, runs of white space as one space."""
    return " ".join(clean(text).split())


def _esc(text: str, limit: int) -> str:
    return fit(escape(one_line(text)), limit)


def _md(text: str) -> MarkdownTextObject:
    # verbatim: Slack then does not turn bare URLs, #channel names, @here or addresses into
    # links and mentions; the <…> sequences we write ourselves still work.
    # https://docs.slack.dev/reference/block-kit/composition-objects/text-object
    return MarkdownTextObject(text=text, verbatim=True)


def mention(user_id: str) -> str:
    """<@U…> for a Slack user id; anything else is shown as inert text."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape(user_id)


def when(moment: datetime) -> str:
    """A time each reader sees in their own time zone, with a UTC fallback."""
    # https://docs.slack.dev/messaging/formatting-message-text#date-formatting
    utc = moment.astimezone(UTC)
    stamp = int(utc.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{utc:%Y-%m-%d %H:%M} UTC>"


def who(card: Card) -> str:
    """The prospect as one escaped line: name (or address) and company."""
    name = card.prospect_name or card.prospect_email
    company = f" ({card.prospect_company})" if card.prospect_company else ""
    return _esc(name + company, 600)


# --- button and option values -----------------------------------------------------------


def action_value(verb: str, arg: str, ref: str) -> str:
    """The value "verb:arg:REF" of an option; ValueError if it would not parse back."""
    value = f"{verb}:{arg}:{ref}"
    if len(value) > OPTION_VALUE or parse_value(value) != (verb, arg, ref):
        raise ValueError(f"cannot make an action value of {value!r}")
    return value


def parse_value(value: str) -> tuple[str, str, str]:
    """(verb, arg, ref) from "verb:arg:REF"; ValueError on anything else."""
    match = _VALUE.fullmatch(value)
    if match is None:
        raise ValueError(f"not an action value: {value[:80]!r}")
    return match[1], match[2], match[3]


def _button(action_id: str, text: str, ref: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(action_id=action_id, text=text, value=ref, style=style)


def _option(text: str, verb: str, arg: str, ref: str) -> Option:
    return Option(text=fit(text, OPTION_TEXT), value=action_value(verb, arg, ref))


# --- the post ---------------------------------------------------------------------------


def intro_post(card: Card, *, now: datetime) -> Post:
    """The referral's channel post, in the state the card is in."""
    header = one_line(f"{card.ref} · {card.partner_name}")
    blocks: list[Block] = [
        # plain_text is never parsed for mentions or links, so it needs no entities.
        HeaderBlock(text=fit(header, HEADER_TEXT)),
        SectionBlock(fields=[_md(field) for field in _fields(card)]),
    ]
    if card.excerpt.strip():
        blocks.append(SectionBlock(text=_md(_quote(card.excerpt))))
    if card.conflict_ref:
        blocks.append(ContextBlock(elements=[_md(_conflict(card))]))
    notes = _notes(card)
    if notes:
        blocks.append(ContextBlock(elements=[_md(fit(" · ".join(notes), CONTEXT_TEXT))]))
    blocks += _state(card, now)
    return Post(text=_fallback(card), blocks=[block.to_dict() for block in blocks])


def _fallback(card: Card) -> str:
    # The notification and screen-reader text; it is mrkdwn too, so it is escaped.
    # https://docs.slack.dev/reference/methods/chat.postMessage#text_usage
    name = card.prospect_name or card.prospect_email
    company = f" ({card.prospect_company})" if card.prospect_company else ""
    line = f"New referral {card.ref} from {card.partner_name}: {name}{company}"
    return fit(escape(one_line(line)), FALLBACK_TEXT)


def _fields(card: Card) -> list[str]:
    prospect = _esc(card.prospect_name, 500) + "\n" if card.prospect_name else ""
    company = _esc(card.prospect_company, 1000) if card.prospect_company else "—"
    return [
        f"*Prospect*\n{prospect}{_esc(card.prospect_email, 400)}",
        f"*Company*\n{company}",
        f"*Partner*\n{_esc(card.partner_name, 1000)}",
        f"*Received*\n{when(card.received_at)}" + _protected(card),
        f"*Subject*\n{_esc(card.subject, FIELD_TEXT - 20)}",
    ]


def _protected(card: Card) -> str:
    """When the partner's protection of an open referral ends (deal registration)."""
    if card.protected_until is None or card.stage in CLOSED_STAGES:
        return ""
    return f"\nprotected until {day(card.protected_until.date())}"


def _quote(excerpt: str) -> str:
    # Cut what the reader sees to 500 characters before escaping makes it longer.
    text = clean(excerpt).strip()
    if len(text) > EXCERPT_SHOWN:
        text = text[: EXCERPT_SHOWN - 1].rstrip() + "…"
    lines: list[str] = []
    for line in (line.strip() for line in text.split("\n")):
        if line or (lines and lines[-1] != ">"):  # one empty quoted line between paragraphs
            lines.append(f"> {escape(line)}" if line else ">")
    return fit("\n".join(lines), SECTION_TEXT)


def _notes(card: Card) -> list[str]:
    """What else a reader of the post must know: a possible overlap, how it came (logged in
    Slack, confirmed by the partner or not yet), the meeting an invitation booked."""
    notes = []
    if card.overlap_ref:
        other = escape(card.overlap_ref)
        if card.overlap_partner:
            other += f" ({escape(card.overlap_partner)})"
        notes.append(f":mag: Possible overlap with {other}: another person at this company")
    if card.action_type:
        what = ACTION_LABELS.get(ActionType(card.action_type), card.action_type)
        on = f" on {day(card.action_at.date())}" if card.action_at else ""
        by = f" by {mention(card.logged_by)}" if card.logged_by else ""
        url = card.proof_url or ""
        linkable = url.startswith("https://") and not any(c in url for c in "|<> ")
        source = f"<{url}|logged in Slack>" if linkable else "logged in Slack"
        notes.append(f":memo: {what}{on}, {source}{by}")
        if card.confirmed_at:
            notes.append(":white_check_mark: confirmed by the partner")
        else:
            notes.append(":hourglass: awaiting the partner's confirmation")
    if card.meeting_at and not card.meeting_cancelled:
        notes.append(f":calendar: Meeting {when(card.meeting_at)}")
    elif card.meeting_at:
        notes.append(":calendar: Meeting cancelled")
    return notes


def _conflict(card: Card) -> str:
    other = escape(card.conflict_ref or "")
    if card.conflict_partner:
        other += f" ({escape(card.conflict_partner)})"
    if card.conflict_settled:
        text = f":scales: {other} introduced this prospect too; the dispute is settled"
    elif card.disputed:
        text = f":warning: Disputed: {other} introduced this prospect first"
    else:
        text = f":warning: {other} introduced this prospect later and is disputed"
    return fit(text, CONTEXT_TEXT)


def _state(card: Card, now: datetime) -> list[Block]:
    closed = Stage(card.stage) in CLOSED_STAGES
    if card.owner is None and not closed:
        return [ActionsBlock(elements=_claim_controls(card.ref))]
    if card.owner is None:
        by = f" — marked by {mention(card.closed_by)}" if card.closed_by else ""
        return [ContextBlock(elements=[_md(f":no_entry_sign: Not a fit{by}")])]
    summary = SectionBlock(text=_md(_summary(card, now)))
    if closed:
        # Closed referrals can only be reopened; the role stays as it was at the close.
        return [summary, ActionsBlock(elements=[_button(UPDATE_STAGE, "Update stage", card.ref)])]
    return [summary, ActionsBlock(elements=_claimed_controls(card))]


def _claim_controls(ref: str) -> list[InteractiveElement]:
    more = [
        _option("Claim · Assisted close", "claim", Role.ASSISTED_CLOSE, ref),
        _option("Claim · Attached", "claim", Role.ATTACHED, ref),
        _option("Claim · Unattributed", "claim", Role.UNATTRIBUTED, ref),
        _option("Not a fit", "not_a_fit", "", ref),
    ]
    return [
        _button(CLAIM_SOURCED, "Claim · Sourced", ref, style="primary"),
        _button(CLAIM_INFLUENCED, "Claim · Influenced", ref),
        OverflowMenuElement(action_id=INTRO_MORE, options=more),
    ]


def _summary(card: Card, now: datetime) -> str:
    owner = mention(card.owner or "")
    if card.disputed or card.role == Role.DISPUTED:
        role = "*Disputed (resolve in /attribution)*"
    else:
        role = f"*{role_label(card.role, none='No role')}*"
    claim = f"Claimed by {owner} as {role}"
    if card.claimed_at:
        claim += f" · time to claim {duration(card.claimed_at - card.received_at)}"
    lines = [claim, f"*Stage:* {stage_label(card.stage)}"]
    if card.first_response_at:
        since = card.claimed_at or card.received_at
        after = duration(card.first_response_at - since)
        lines.append(f"*First response:* {when(card.first_response_at)} ({after} after claim)")
    else:
        lines.append("*First response:* not yet")
    if card.next_step:
        step = f"*Next joint step:* {_esc(card.next_step, 1500)}"
        if card.next_step_due:
            step += f" · due {day(card.next_step_due)}"
            if card.next_step_due < now.date():
                step += " :warning: overdue"
        lines.append(step)
    else:
        lines.append("*Next joint step:* none set")
    if card.stage == Stage.WON and card.amount is not None:
        lines.append(f"*Amount:* {card.amount:,.2f}")
    return "\n".join(lines)


def _claimed_controls(card: Card) -> list[InteractiveElement]:
    ref = card.ref
    roles: dict[Role, Option] = {
        role: _option(ROLE_LABELS[role], "role", role, ref)
        for role in Role
        if role != Role.DISPUTED
    }
    # A disputed referral has no current role to pre-select: a manager resolves it.
    current = None if card.disputed or not card.role else roles.get(Role(card.role))
    controls: list[InteractiveElement] = []
    if card.first_response_at is None:
        controls.append(_button(FIRST_RESPONSE, "Mark first response", ref))
    controls += [
        _button(NEXT_STEP, "Set next joint step", ref),
        _button(UPDATE_STAGE, "Update stage", ref),
        StaticSelectElement(
            action_id=CHANGE_ROLE,
            placeholder="Change role",
            options=list(roles.values()),
            initial_option=current,
        ),
        OverflowMenuElement(
            action_id=CLAIMED_MORE,
            options=[
                _option("Release", "release", "", ref),
                _option("Reassign…", "reassign", "", ref),
            ],
        ),
    ]
    return controls
