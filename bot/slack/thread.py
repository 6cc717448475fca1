"""A referral's Slack thread: one mrkdwn line per event of its timeline."""

from __future__ import annotations

from bot.slack.blocks import SECTION_TEXT, clean, escape, fit, mention, one_line

_EVENTS = {
    "first_response": (":speech_balloon:", "sent the first response"),
    "activity": (":incoming_envelope:", "wrote"),
    "reintroduced": (":repeat:", "introduced this prospect again"),
    "conflict": (":warning:", "flagged a conflict"),
    "claimed": (":raising_hand:", "claimed it"),
    "released": (":leftwards_arrow_with_hook:", "released it"),
    "role_changed": (":label:", "changed the partner role"),
    "stage_changed": (":arrow_forward:", "updated the stage"),
    "next_step": (":calendar:", "set the next joint step"),
    "reassigned": (":busts_in_silhouette:", "reassigned it"),
    "not_a_fit": (":no_entry_sign:", "marked it Not a fit"),
    "step_done": (":white_check_mark:", "completed the next joint step"),
    "partner_reply": (":envelope_with_arrow:", "replied by email"),
    "role_overridden": (":scales:", "set the partner role"),
    "dispute_resolved": (":scales:", "settled the dispute"),
    "crm_existing": (":card_index:", "already has this prospect"),
    "crm_conflict": (":twisted_rightwards_arrows:", "changed the stage too"),
    "logged": (":memo:", "logged it"),
    "confirmed": (":white_check_mark:", "confirmed the introduction"),
    "unconfirmed": (":hourglass:", "had no answer from the partner"),
    "overlap": (":mag:", "flagged a possible overlap"),
    "meeting": (":calendar:", "saw a meeting booked"),
    "meeting_cancelled": (":calendar:", "saw the meeting cancelled"),
    "expiry_notice": (":alarm_clock:", "asked whether it is still active"),
}


def actor_label(actor: str) -> str:
    """<@U…> for "slack:U…", the escaped address for "email:…", "Handoff" for "system",
    "HubSpot" for the CRM."""
    source, _, name = actor.partition(":")
    if source == "slack" and name:
        return mention(name)
    if source == "email" and name:
        return fit(escape(one_line(name)), 320)
    if actor == "hubspot":
        return "HubSpot"
    return "Handoff" if actor == "system" else fit(escape(one_line(actor)), 320)


def thread_line(kind: str, actor: str, detail: str | None, owner: str | None = None) -> str:
    """One mrkdwn line for an event in the post's thread, within a section's 3,000.

    A partner's reply mentions the referral's owner: it is theirs to answer.
    """
    # An unknown kind still renders: an event must never fail to reach the timeline.
    emoji, phrase = _EVENTS.get(kind, (":memo:", fit(escape(one_line(kind)), 80)))
    head = f"{emoji} {actor_label(actor)} {phrase}"
    if kind == "partner_reply" and owner:
        head += f" ({mention(owner)})"
    text = clean(detail or "").strip()
    if not text:
        return head
    budget = SECTION_TEXT - len(head) - 4
    if "\n" not in text:
        return f"{head}: {fit(escape(text), budget)}"
    quoted = "\n".join(f"> {escape(line.strip())}" for line in text.split("\n"))
    return f"{head}:\n{fit(quoted, budget)}"
