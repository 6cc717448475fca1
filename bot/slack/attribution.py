"""/attribution: the partner manager's report in Slack, the same numbers as `handoff report`.

    /attribution [period] [public]            the summary per partner, totals last
    /attribution partner SLUG [period]        one partner's line and its referrals (or: SLUG)
    /attribution queues                       unclaimed, disputed, overdue, inactive partners
    /attribution set ACME-12 role ROLE [why]  a manager's word on the partner's role
    /attribution export [period]              a CSV of every referral, every field
    /attribution chart [period]               a PNG bar chart per partner
    /attribution help

Managers see everything; anyone else sees the totals and their own referrals. Answers are
ephemeral unless the command says `public`. The command is acknowledged at once; the report
follows through the response_url (a long one in several messages, within Block Kit's limits).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.crm import records as crm
from bot.nudges.sweeps import quiet_partners
from bot.referrals import cards
from bot.reports import render
from bot.reports.chart import chart_png
from bot.reports.listing import Item, referrals, to_csv
from bot.reports.periods import Period, PeriodError, looks_like_period, parse_period
from bot.reports.summary import Summary, partner, summary
from bot.slack.blocks import SECTION_TEXT, clean, escape, fit
from bot.slack.views import overdue_line, unclaimed_line
from bot.vocabulary import ROLE_LABELS, Role

COMMAND = "/attribution"
DISPUTE_WINNER = "dispute_winner"  # a button: "Acme wins"
DISPUTE_MODAL = "dispute_resolve"  # the modal that asks what the other becomes, and why
MAX_BLOCKS = 50  # per message (Block Kit)
MAX_MESSAGES = 5  # a response_url takes five answers
QUEUE_SHOWN = 15  # per queue; disputes each take three blocks
ROWS_SHOWN = 200  # referrals listed in Slack; the export has them all

HELP = f"""*{COMMAND}*: what each partner brought, and what became of it.
• `{COMMAND}` the summary for this quarter: received, claimed, time to claim and to first \
response, meetings, roles, opportunities, won and lost, revenue (and by role), referrals logged \
in Slack and confirmed by the partner, partner activation; totals last
• `{COMMAND} last quarter`, `2026-Q3`, `this month`, `2026-10`, `this year`, `last 90d`, \
`2026-10-01..2026-12-31`: another period (days in the team's time zone)
• `{COMMAND} partner acme [period]` (or `{COMMAND} acme`): one partner and its referrals
• `{COMMAND} queues`: unclaimed, disputed (with buttons to settle), overdue next steps, \
inactive partners
• `{COMMAND} set ACME-12 role influenced [reason]`: a manager sets the partner's role; the \
event keeps who and why, and the report marks it overridden
• `{COMMAND} export [period]`: a CSV of every referral with every field
• `{COMMAND} chart [period]`: a bar chart of received, meetings and won per partner
• add `public` to show the answer to the channel; otherwise only you see it
Managers see everything; others see the totals and their own referrals."""


@dataclass
class Answer:
    """What to say: messages of blocks (the fallback text first), and any file to upload."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    file: tuple[str, bytes, str] | None = None  # filename, content, title


class Refusal(Exception):  # noqa: N818 - an answer to the user, not a crash
    """Shown as it is, with the help's pointer."""


@dataclass(frozen=True)
class Asked:
    form: str  # summary, partner, queues, set, export, chart, help
    words: list[str]
    public: bool


def parse(text: str) -> Asked:
    words = clean(text or "").split()
    public = any(w.lower() == "public" for w in words)
    words = [w for w in words if w.lower() != "public"]
    head = words[0].lower() if words else ""
    if head in ("help", "?", "-h", "--help"):
        return Asked("help", words[1:], public)
    if head in ("partner", "set", "export", "chart", "queues", "queue"):
        return Asked("queues" if head == "queue" else head, words[1:], public)
    return Asked("summary", words, public)


def split_partner(words: list[str]) -> tuple[str | None, str | None]:
    """`acme last quarter` → ("acme", "last quarter"); `last quarter` → (None, …)."""
    if words and not looks_like_period(words[0]):
        return words[0].lower(), " ".join(words[1:]) or None
    return None, " ".join(words) or None


def _code(lines: list[str]) -> list[Block]:
    """Lines of a table in code-block sections, each within a section's 3,000 characters."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in (escape(line) for line in lines):
        if chunks[-1] and size + len(line) + 1 > SECTION_TEXT - 10:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [
        SectionBlock(text=MarkdownTextObject(text="```" + "\n".join(chunk) + "```"))
        for chunk in chunks
        if chunk
    ]


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_TEXT)))


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, SECTION_TEXT))])


def _title(period: Period) -> str:
    return f"Partner attribution · {period.label}"


def _period_note(period: Period, as_of: datetime) -> str:
    return (
        f"Referrals received {period.first.isoformat()} to {period.last.isoformat()} "
        f"({period.zone.key}) and what became of them, as of "
        f"{as_of.astimezone(period.zone):%Y-%m-%d %H:%M}."
    )


def summary_answer(found: Summary, mine: list[Item] | None, now: datetime) -> Answer:
    """Managers: every partner and the totals. Others (mine given): totals, and their own."""
    period = found.period
    blocks: list[Block] = [
        HeaderBlock(text=_title(period)),
        _note(_period_note(period, found.as_of)),
    ]
    for title, lines in render.summary_tables(found, per_partner=mine is None):
        blocks += [_md(f"*{title}*"), *_code(lines)]
    blocks.append(_md("\n".join(render.summary_notes(found))))
    if mine is not None:
        blocks += _items_blocks("Your referrals in the period", mine, period, now)
    text = (
        f"{_title(period)}: {found.totals.received} received, {found.totals.meetings} "
        f"meetings, {found.totals.won} won"
    )
    return Answer(text, blocks)


def _items_blocks(title: str, items: list[Item], period: Period, now: datetime) -> list[Block]:
    if not items:
        return [_md(f"*{title}*: none.")]
    shown = items[:ROWS_SHOWN]
    blocks: list[Block] = [_md(f"*{title}* ({len(items)})")]
    blocks += _code(render.items_table(shown, period.zone, now))
    if len(items) > len(shown):
        blocks.append(_note(f"{len(items) - len(shown)} more: `{COMMAND} export` has them all."))
    return blocks


def messages(answer: Answer) -> list[list[Block]]:
    """The answer's blocks in messages of at most 50; past five messages, a pointer instead."""
    chunks = [answer.blocks[i : i + MAX_BLOCKS] for i in range(0, len(answer.blocks), MAX_BLOCKS)]
    if len(chunks) > MAX_MESSAGES:
        chunks = chunks[:MAX_MESSAGES]
        chunks[-1] = [
            *chunks[-1][: MAX_BLOCKS - 1],
            _note(f"Too long for Slack: `{COMMAND} export` has everything."),
        ]
    return chunks or [[_md(answer.text)]]


async def queues_answer(
    conn: AsyncConnection, *, user: str, manager: bool, now: datetime, inactive_after: timedelta
) -> Answer:
    home = await cards.home(conn, user=user, manager=True, now=now)
    blocks: list[Block] = [HeaderBlock(text="Partner referral queues")]

    def listing(title: str, shown: list[str], total: int, empty: str) -> None:
        if not shown:
            blocks.append(_md(f"*{title}*: {empty}"))
            return
        more = f"\n…and {total - len(shown)} more" if total > len(shown) else ""
        blocks.append(_md(f"*{title}* ({total})\n" + "\n".join(shown) + more))

    unclaimed = [unclaimed_line(c, now) for c in home.unclaimed[:QUEUE_SHOWN]]
    listing("Unclaimed", unclaimed, home.totals[1], "none, every intro has an owner.")
    overdue_cards = home.overdue if manager else [c for c in home.overdue if c.owner == user]
    overdue = [overdue_line(c, now) for c in overdue_cards[:QUEUE_SHOWN]]
    total = home.overdue_total if manager else len(overdue_cards)
    listing("Overdue next steps", overdue, total, "none.")
    if not manager:
        blocks.append(_note("Disputes and inactive partners are shown to partner managers."))
        return Answer("Partner referral queues", blocks)
    if home.disputed:
        blocks.append(_md(f"*Disputed* ({home.totals[2]}): pick the partner that wins"))
        for card in home.disputed[:QUEUE_SHOWN]:
            blocks += _dispute_blocks(card)
    else:
        blocks.append(_md("*Disputed*: none."))
    known, total = await crm.known_before(conn, QUEUE_SHOWN)
    if total:
        shown = [f"*{ref}*: {escape(fit(text, 300))}" for ref, text in known]
        listing("Already in the CRM with an open deal", shown, total, "none.")
    quiet = await _inactive(conn, now - inactive_after)
    days = inactive_after.days
    listing(f"Inactive partners (no referral in {days} days)", quiet, len(quiet), "none.")
    return Answer("Partner referral queues", blocks)


def _dispute_blocks(card: Any) -> list[Block]:
    who = escape(card.prospect_name or card.prospect_email)
    text = (
        f"*{card.ref}* ({escape(card.partner_name)}) came after *{card.conflict_ref}* "
        f"({escape(card.conflict_partner or '?')}) for {who}"
    )
    buttons = [
        ButtonElement(
            text=fit(f"{name} wins", 75),
            action_id=f"{DISPUTE_WINNER}:{winner}",
            value=f"{card.ref}|{winner}",
        )
        for winner, name in (
            (card.conflict_ref, card.conflict_partner or card.conflict_ref),
            (card.ref, card.partner_name),
        )
    ]
    return [_md(text), ActionsBlock(block_id=f"dispute:{card.ref}", elements=buttons)]


async def _inactive(conn: AsyncConnection, threshold: datetime) -> list[str]:
    lines = []
    for quiet in await quiet_partners(conn, threshold):
        since = f"last referral {quiet['last'][:10]}" if quiet["last"] else "no referral yet"
        lines.append(f"• *{escape(quiet['name'])}* (`{quiet['slug']}`): {since}")
    return lines


def dispute_modal(ref: str, winner: str, winner_name: str, other: str) -> dict[str, Any]:
    """What the other partner becomes, and why: the views.open payload."""
    options = [
        Option(text=ROLE_LABELS[r], value=str(r)) for r in (Role.INFLUENCED, Role.UNATTRIBUTED)
    ]
    view = View(
        type="modal",
        callback_id=DISPUTE_MODAL,
        private_metadata=f"{ref}|{winner}",
        title="Settle the dispute",
        submit="Settle",
        close="Cancel",
        blocks=[
            _md(f"*{escape(winner_name)}* wins: {winner} is Sourced."),
            InputBlock(
                block_id="role",
                label=f"{other} becomes",
                element=RadioButtonsElement(
                    action_id="role", options=options, initial_option=options[0]
                ),
            ),
            InputBlock(
                block_id="reason",
                label="Why (kept in both referrals' history)",
                element=PlainTextInputElement(action_id="text", max_length=500),
            ),
        ],
    )
    return view.to_dict()


async def upload(
    client: Any, *, user: str, channel: str | None, public: bool, file: tuple[str, bytes, str]
) -> None:
    """The file to the channel when public, else to the user's DM with the app."""
    name, content, title = file
    target = channel if public and channel else None
    if target is None:
        opened = await client.conversations_open(users=user)
        target = opened["channel"]["id"]
    await client.files_upload_v2(
        channel=target, filename=name, content=content, title=title, initial_comment=title
    )


async def export_answer(conn: AsyncConnection, period: Period, owner: str | None) -> Answer:
    items = await referrals(conn, period, owner=owner)
    whose = "your referrals" if owner else "every referral"
    title = f"Referrals {period.label} ({whose}, {len(items)})"
    name = f"handoff-referrals-{period.label.replace('..', '_to_')}.csv"
    return Answer(title, file=(name, to_csv(items).encode(), title))


async def chart_answer(found: Summary) -> Answer:
    title = _title(found.period)
    png = await asyncio.to_thread(chart_png, found, title=title)
    name = f"handoff-attribution-{found.period.label.replace('..', '_to_')}.png"
    return Answer(title, file=(name, png, title))


def parse_set(words: list[str]) -> tuple[str, Role, str]:
    """`ACME-12 role influenced [reason…]` → (ref, role, reason)."""
    if len(words) < 3 or words[1].lower() != "role":
        raise Refusal(f"Usage: `{COMMAND} set ACME-12 role influenced [reason]`")
    wanted = words[2].lower().replace("-", "_")
    try:
        role = Role(wanted)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise Refusal(f"`{words[2]}` is not a role; one of: {roles}") from None
    return words[0].upper(), role, " ".join(words[3:])


def period_of(text: str | None, zone: Any, now: datetime) -> Period:
    try:
        return parse_period(text, zone, now)
    except PeriodError as exc:
        raise Refusal(str(exc)) from None


async def build(
    conn: AsyncConnection,
    asked: Asked,
    *,
    user: str,
    manager: bool,
    now: datetime,
    settings: Settings,
) -> Answer:
    """The answer to every form but `set` and `help`, as this user may see it."""
    words = asked.words
    if asked.form == "queues":
        return await queues_answer(
            conn, user=user, manager=manager, now=now, inactive_after=settings.inactive_after
        )
    if asked.form == "export":
        period = period_of(" ".join(words) or None, settings.tz, now)
        return await export_answer(conn, period, None if manager else user)
    if asked.form == "chart":
        if not manager:
            raise Refusal(
                "The chart compares partners, which is for partner managers; "
                f"`{COMMAND}` shows you the totals and your own referrals."
            )
        period = period_of(" ".join(words) or None, settings.tz, now)
        found = await summary(conn, period, now=now, attached_after=settings.attached_after)
        return await chart_answer(found)
    slug, rest = None, " ".join(words) or None
    if asked.form == "partner" or words:
        try:
            if asked.form == "partner":
                raise PeriodError("a partner first")
            parse_period(rest, settings.tz, now)
        except PeriodError:
            slug, rest = split_partner(words)
            if slug is None or not await _partner_exists(conn, slug):
                said = " ".join(words)
                raise Refusal(
                    f"`{escape(said)}` is neither a period nor a partner I know."
                    if said
                    else f"Which partner? `{COMMAND} partner acme`"
                ) from None
    period = period_of(rest, settings.tz, now)
    chosen = [slug] if slug and manager else None  # others see the totals of every partner
    found = await summary(
        conn, period, now=now, partners=chosen, attached_after=settings.attached_after
    )
    if manager:
        answer = summary_answer(found, None, now)
        if slug:
            items = await referrals(conn, period, partner_slug=slug)
            answer.blocks += _items_blocks(f"Referrals of {slug}", items, period, now)
        return answer
    mine = await referrals(conn, period, partner_slug=slug, owner=user)
    return summary_answer(found, mine, now)


async def _partner_exists(conn: AsyncConnection, slug: str) -> bool:
    return await conn.scalar(sa.select(partner.c.id).where(partner.c.slug == slug)) is not None
