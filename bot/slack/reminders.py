"""Pure Block Kit for nudges: the thread nudge, the owner's reminders, the managers' notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    SectionBlock,
)

from bot.models import NudgeKind
from bot.referrals.cards import Card
from bot.slack.blocks import (
    FALLBACK_TEXT,
    SECTION_TEXT,
    Post,
    _md,
    escape,
    fit,
    mention,
    one_line,
    who,
)
from bot.text import day, duration

# Action ids of the reminders' buttons (bot/slack/listeners/reminders.py).
RESPONDED = "nudge_responded"
SNOOZE_RESPONSE = "nudge_snooze_response"
STEP_DONE = "step_done"
STEP_SNOOZE = "step_snooze"
STEP_RESCHEDULE = "step_reschedule"


@dataclass(frozen=True)
class Quiet:
    """A partner in the weekly note: no referral since `last` (None: never, since registered)."""

    name: str
    slug: str
    last: datetime | None
    registered: datetime


def nudge_post(
    kind: str,
    level: int,
    card: Card,
    *,
    now: datetime,
    channel: str | None = None,
    rep_group: str | None = None,
    overdue_every: str | None = None,
) -> Post:
    """The message of one nudge about one referral, as of `now`."""
    ref = f"*{escape(card.ref)}*"
    about = f"{ref} · {who(card)} · from {escape(one_line(card.partner_name))}"
    where = f" in <#{channel}>" if channel else ""
    buttons: list[ButtonElement] = []
    if kind == NudgeKind.UNCLAIMED and level == 1:
        waited = duration(now - card.received_at)
        group = f"<!subteam^{rep_group}> " if rep_group and rep_group.startswith("S") else ""
        text = (
            f":hourglass_flowing_sand: {group}{ref} has waited {waited} for an owner. "
            "Claim it above, or mark it Not a fit."
        )
    elif kind == NudgeKind.UNCLAIMED:
        waited = duration(now - card.received_at)
        text = f":rotating_light: Still unclaimed after {waited}{where}: {about}"
    elif kind == NudgeKind.FIRST_RESPONSE and level == 1:
        since = duration(now - card.claimed_at) if card.claimed_at else "a while"
        text = (
            f":alarm_clock: You claimed {about} {since} ago, and no first response is recorded "
            "yet. Reply-all to the intro so that Handoff sees it, or tell Handoff here."
        )
        buttons = [
            ButtonElement(action_id=RESPONDED, text="Responded", value=card.ref, style="primary"),
            ButtonElement(action_id=SNOOZE_RESPONSE, text="Snooze 1 day", value=card.ref),
        ]
    elif kind == NudgeKind.FIRST_RESPONSE:
        since = duration(now - card.claimed_at) if card.claimed_at else "a while"
        owner = mention(card.owner) if card.owner else "Nobody"
        text = (
            f":rotating_light: No first response yet: {owner} claimed {about} {since} ago{where}."
        )
    elif kind == NudgeKind.NEXT_STEP:
        step = fit(escape(one_line(card.next_step or "next joint step")), 1500)
        due = card.next_step_due
        if due is not None and now.astimezone(UTC).date() > due:
            late = duration(now - datetime.combine(due, datetime.min.time(), tzinfo=UTC))
            head = f":warning: Overdue since {day(due)} ({late})"
        else:
            head = ":calendar: Due today"
        text = f"{head}, next joint step on {about}:\n> {step}"
        if overdue_every and due is not None and now.astimezone(UTC).date() > due:
            text += f"\n_Reminded every {overdue_every} until it is done or moved._"
        buttons = [
            ButtonElement(action_id=STEP_DONE, text="Done", value=card.ref, style="primary"),
            ButtonElement(action_id=STEP_SNOOZE, text="Snooze 1 day", value=card.ref),
            ButtonElement(action_id=STEP_RESCHEDULE, text="Reschedule", value=card.ref),
        ]
    else:
        raise ValueError(f"no message for a {kind} nudge of level {level}")
    blocks: list[Block] = [SectionBlock(text=_md(fit(text, SECTION_TEXT)))]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    fallback = fit(_plain(text), FALLBACK_TEXT)
    return Post(text=fallback, blocks=[b.to_dict() for b in blocks])


def inactive_post(partners: list[Quiet], *, now: datetime, after: str) -> Post:
    """The weekly note to managers: partners with no referral for `after` (e.g. 60d)."""
    lines = []
    for p in partners:
        name = f"*{escape(one_line(p.name))}* ({escape(p.slug)})"
        if p.last is None:
            lines.append(f"• {name}: no referral yet, registered {day(p.registered.date())}")
        else:
            lines.append(
                f"• {name}: last referral {day(p.last.date())}, {duration(now - p.last)} ago"
            )
    head = f":zzz: Partners with no referral in {after}:"
    blocks: list[Block] = []
    chunk = head
    for line in lines:  # one section per 3,000 characters, as Slack allows
        if len(chunk) + 1 + len(line) > SECTION_TEXT:
            blocks.append(SectionBlock(text=_md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(SectionBlock(text=_md(fit(chunk, SECTION_TEXT))))
    blocks = blocks[:49]
    blocks.append(
        ContextBlock(elements=[_md("Attached but inactive: worth a call before they forget you.")])
    )
    text = f"{len(partners)} partner(s) with no referral in {after}"
    return Post(text=text, blocks=[b.to_dict() for b in blocks])


def answered(message: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """A reminder's blocks once acted on: its buttons replaced by what was done."""
    kept = [b for b in message.get("blocks") or () if b.get("type") != "actions"]
    return [*kept, ContextBlock(elements=[_md(fit(line, 2000))]).to_dict()]


def _plain(text: str) -> str:
    return one_line(text.replace("*", ""))
