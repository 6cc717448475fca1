"""Pure Block Kit builders for the referral modals and the App Home."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.referrals.actions import MAX_AMOUNT
from bot.referrals.cards import Card
from bot.slack.blocks import (
    NEXT_STEP_MODAL,
    REASSIGN_MODAL,
    SECTION_TEXT,
    STAGE_MODAL,
    escape,
    fit,
    mention,
    one_line,
    who,
)
from bot.text import day, duration, stage_label
from bot.vocabulary import Stage

NEXT_STEP_MAX = 500
# How many cards each App Home list shows: a view holds at most 100 blocks
# (https://docs.slack.dev/reference/views), so with the headers, dividers and "…and N more"
# lines a manager's Home has at most 3 + 2 + 3 + 40 + 25 + 25 = 98, anyone else's 92.
MINE_SHOWN = 90
MANAGER_MINE_SHOWN = 25
# Three lists: 25 + 3 x 20 lines, their headers and the triage buttons stay under 100 blocks.
MANAGER_LIST_SHOWN = 20
TRIAGE_DISMISS = "triage_dismiss"
ATTENTION_SHOWN = 10  # mail problems: one section, within its 3,000 characters


def _md(text: str) -> MarkdownTextObject:
    # verbatim: no automatic links or mentions in text that came from email or from people.
    return MarkdownTextObject(text=text, verbatim=True)


def _context(card: Card) -> ContextBlock:
    return ContextBlock(elements=[_md(f"*{escape(card.ref)}* · {who(card)}")])


def _modal(callback_id: str, card: Card, title: str, blocks: list[Block]) -> dict[str, Any]:
    # private_metadata carries the ref back in the view_submission payload.
    # https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=card.ref,
        title=title,
        submit="Save",
        close="Cancel",
        blocks=[_context(card), *blocks],
    )
    return view.to_dict()


def next_step_modal(card: Card) -> dict[str, Any]:
    """The views.open payload that sets the next joint step and its due date."""
    # initial_value is shown as typed, never parsed, so it is cleaned but not escaped.
    current = fit(one_line(card.next_step), NEXT_STEP_MAX) if card.next_step else None
    step = PlainTextInputElement(
        action_id="text",
        max_length=NEXT_STEP_MAX,
        initial_value=current,
        placeholder="e.g. Joint call with Acme and the prospect",
    )
    due = DatePickerElement(
        action_id="date",
        initial_date=card.next_step_due.isoformat() if card.next_step_due else None,
    )
    return _modal(
        NEXT_STEP_MODAL,
        card,
        "Next joint step",
        [
            InputBlock(block_id="step", label="Next joint step", element=step),
            InputBlock(block_id="due", label="Due", element=due),
        ],
    )


def stage_modal(card: Card, currency: str = "USD") -> dict[str, Any]:
    """The views.open payload that moves the referral to another stage; a won deal's amount
    is in `currency` (HANDOFF_CURRENCY)."""
    options: dict[Stage, Option] = {
        stage: Option(text=stage_label(stage), value=stage.value)
        for stage in Stage
        if stage != Stage.NEW  # "new" means unclaimed: releasing is how one goes back
    }
    select = StaticSelectElement(
        action_id="stage",
        placeholder="Choose a stage",
        options=list(options.values()),
        initial_option=options.get(Stage(card.stage)),
    )
    amount = NumberInputElement(
        action_id="amount",
        is_decimal_allowed=True,
        min_value="0.01",
        max_value=f"{MAX_AMOUNT:.0f}",
        initial_value=f"{card.amount:.2f}" if card.amount is not None else None,
    )
    return _modal(
        STAGE_MODAL,
        card,
        "Update stage",
        [
            InputBlock(block_id="stage", label="Stage", element=select),
            InputBlock(
                block_id="amount",
                label=f"Amount won, in {currency} (required when won)",
                element=amount,
                optional=True,
            ),
        ],
    )


def reassign_modal(card: Card) -> dict[str, Any]:
    """The views.open payload that hands the referral to another rep."""
    user = UserSelectElement(action_id="user", placeholder="Choose a person")
    return _modal(
        REASSIGN_MODAL,
        card,
        "Reassign",
        [InputBlock(block_id="owner", label="New owner", element=user)],
    )


def home_view(
    *,
    mine: list[Card],
    unclaimed: list[Card],
    disputed: list[Card],
    manager: bool,
    now: datetime,
    totals: tuple[int, int, int] | None = None,
    overdue: list[Card] | None = None,
    overdue_total: int | None = None,
    attention: list[tuple[str, str]] | None = None,
    triage: list[int] | None = None,
    overlaps: list[Card] | None = None,
    attached: list[Card] | None = None,
    attached_total: int = 0,
) -> dict[str, Any]:
    """The views.publish payload of the App Home: one's own referrals, and managers' queues.

    `totals` are the full counts of the three lists when the lists given are only their start.
    """
    total_mine, total_unclaimed, total_disputed = totals or (None, None, None)
    # Overlaps and the attached lane, shown when there are any: the 100 blocks a view may have
    # are spent to the last by the full lists, so the manager's own list gives way to them.
    lanes: list[Block] = []
    if manager and overlaps:
        lines = [overlap_line(card) for card in overlaps]
        lanes += [DividerBlock(), *_lines("Possible overlaps (same company)", lines, "")]
    if manager and attached:
        more = max(attached_total - len(attached), 0)
        lines = [attached_line(card, now) for card in attached]
        lines += [f"…and {more} more"] if more else []
        lanes += [DividerBlock(), *_lines("Attached lane (partner quiet)", lines, "")]
    blocks = _listing(
        "Your open referrals",
        mine,
        lambda card: _mine_line(card, now),
        "Nothing open right now. Claim an intro in the channel and it shows up here.",
        MANAGER_MINE_SHOWN - len(lanes) if manager else MINE_SHOWN,
        total_mine,
    )
    if manager:
        blocks += [DividerBlock()]
        blocks += _listing(
            "Unclaimed",
            unclaimed,
            lambda card: unclaimed_line(card, now),
            "Every intro has an owner. :tada:",
            MANAGER_LIST_SHOWN,
            total_unclaimed,
        )
        blocks += [DividerBlock()]
        blocks += _listing(
            "Disputed",
            disputed,
            _disputed_line,
            "No disputes to resolve.",
            MANAGER_LIST_SHOWN,
            total_disputed,
        )
        blocks += [DividerBlock()]
        blocks += _listing(
            "Overdue next steps",
            overdue or [],
            lambda card: overdue_line(card, now),
            "No next joint step is overdue.",
            MANAGER_LIST_SHOWN,
            overdue_total,
        )
        blocks += [DividerBlock()]
        blocks += _lines(
            "Partner email needs a look",
            [
                f":warning: *{escape(what)}*: {fit(escape(one_line(why)), 200)}"
                for what, why in attention or []
            ],
            "Every partner contact is reached and every reply was placed.",
        )
        if triage:
            # Dealt with: out of triage, the message kept (`handoff triage done`).
            buttons = [
                ButtonElement(
                    text=f"Dismiss #{message_id}",
                    action_id=f"{TRIAGE_DISMISS}:{message_id}",
                    value=str(message_id),
                )
                for message_id in triage
            ]
            blocks.append(ActionsBlock(elements=buttons))
        blocks += lanes
    return View(type="home", blocks=blocks).to_dict()


def _lines(title: str, lines: list[str], empty: str) -> list[Block]:
    """A header and one section of lines: the home's 100 blocks are spent by the lists above."""
    if not lines:
        return [HeaderBlock(text=title), ContextBlock(elements=[_md(empty)])]
    shown = "\n".join(lines[:ATTENTION_SHOWN])
    if len(lines) > ATTENTION_SHOWN:
        shown += (
            f"\n…and {len(lines) - ATTENTION_SHOWN} more (handoff partners list, handoff triage)"
        )
    return [HeaderBlock(text=title), SectionBlock(text=_md(fit(shown, SECTION_TEXT)))]


def _listing(
    title: str,
    cards: list[Card],
    line: Callable[[Card], str],
    empty: str,
    shown: int,
    total: int | None = None,
) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=title)]
    if not cards:
        return [*blocks, ContextBlock(elements=[_md(empty)])]
    blocks += [SectionBlock(text=_md(fit(line(card), SECTION_TEXT))) for card in cards[:shown]]
    more = max(total if total is not None else len(cards), len(cards)) - min(shown, len(cards))
    if more > 0:
        blocks.append(ContextBlock(elements=[_md(f"…and {more} more")]))
    return blocks


def _mine_line(card: Card, now: datetime) -> str:
    head = f"*{escape(card.ref)}* · {who(card)} · {stage_label(card.stage)}"
    if not card.next_step:
        return f"{head}\n_No next step set_"
    step = f"Next: {fit(escape(one_line(card.next_step)), 1500)}"
    if card.next_step_due:
        step += f" · due {day(card.next_step_due)}"
        if card.next_step_due < now.date():
            step += " :warning: overdue"
    return f"{head}\n{step}"


def unclaimed_line(card: Card, now: datetime) -> str:
    waiting = duration(now - card.received_at)
    return (
        f"*{escape(card.ref)}* · {who(card)}\nfrom {escape(card.partner_name)} · waiting {waiting}"
    )


def overdue_line(card: Card, now: datetime) -> str:
    owner = mention(card.owner) if card.owner else "nobody"
    due = card.next_step_due
    late = f"due {day(due)}" if due else "no date"
    step = fit(escape(one_line(card.next_step or "")), 1500)
    return f"*{escape(card.ref)}* · {who(card)} · {owner} · {late}\n{step}"


def overlap_line(card: Card) -> str:
    """A referral flagged as a possible overlap: who else brought someone at that company."""
    other = escape(card.overlap_ref or "")
    if card.overlap_partner:
        other += f" ({escape(card.overlap_partner)})"
    return (
        f":mag: *{escape(card.ref)}* · {who(card)} · {escape(card.partner_name)}: "
        f"possible overlap with {other}"
    )


def attached_line(card: Card, now: datetime) -> str:
    """A referral in the attached lane: since when its partner has been quiet."""
    last = card.partner_action_at or card.received_at
    return (
        f"*{escape(card.ref)}* · {who(card)} · {escape(card.partner_name)} · "
        f"last partner action {duration(now - last)} ago"
    )


def _disputed_line(card: Card) -> str:
    line = f"*{escape(card.ref)}* · {who(card)} · {escape(card.partner_name)}"
    if card.conflict_ref:
        other = escape(card.conflict_ref)
        if card.conflict_partner:
            other += f" ({escape(card.conflict_partner)})"
        line += f"\n{'Introduced first' if card.disputed else 'Introduced later'} by {other}"
    if card.owner:
        line += f" · owner {mention(card.owner)}"
    return line
