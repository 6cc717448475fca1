"""The emails Handoff sends partners (status digest, stage notice) as subject, text and HTML."""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.text import CLOSED, NEW, OPEN, day, duration, stage_label
from bot.vocabulary import CLOSED_STAGES, TALKING_STAGES, Stage

# RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters, excluding the CRLF. 72 leaves
# room for a reply's "> " (and ">> "): a client that re-wraps quoted lines at 76 leaves no tail
# of ours unquoted among the partner's inline answers.
WIDTH = 72
# Only a block's first line starts at column 0, and it starts with the ref: a partner who replies
# inline under "> ACME-12 · …" tells us which referral they answer, and data can't forge a header.
INDENT = "  "


# RFC 6068 §2: characters an addr-spec may keep unencoded in a mailto URI ("+" for plus tags).
_ADDR_SAFE = "@!$'()*+,;:"
# Bidi overrides let hostile text reorder what a reader sees (Trojan Source, CVE-2021-42574).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_FONT = "font-family:Arial,Helvetica,sans-serif;"
_MUTED = "#6b7280"
_ALERT = "#b91c1c"
_LINK = "#1d4ed8"

# What a stage notice's subject says, and the sentence that opens its body.
_NOTICE = {
    Stage.MEETING: ("meeting booked", "A meeting is booked."),
    Stage.WON: ("won", "Won. Thank you for the introduction!"),
    Stage.LOST: ("lost", "Closed as lost. Thank you for the introduction all the same."),
    Stage.DISQUALIFIED: ("disqualified", "Closed as not a fit for now."),
}


@dataclass(frozen=True)
class Item:
    """One referral as the partner sees it."""

    ref: str
    prospect: str
    company: str | None
    owner: str | None
    stage: str
    received_at: datetime
    first_response: timedelta | None
    next_step: str | None
    next_step_due: datetime | None
    changes: tuple[str, ...]
    new: bool
    reply_to: str
    amount: float | None = None  # a won deal's revenue


@dataclass(frozen=True)
class Digest:
    """A partner's periodic status digest."""

    partner: str
    sender: str
    period_start: datetime | None
    period_end: datetime
    tz: ZoneInfo
    items: tuple[Item, ...]
    reply_to: str
    unsubscribe: str


@dataclass(frozen=True)
class StageNotice:
    """An instant email about one referral's stage change."""

    partner: str
    sender: str
    tz: ZoneInfo
    item: Item
    old_stage: str
    new_stage: str
    reply_to: str
    unsubscribe: str
    # When the change happened: the "now" for "overdue" and "intro … ago"; None leaves them out.
    at: datetime | None = None


@dataclass(frozen=True)
class Rendered:
    """One email, ready for the sender to wrap in MIME."""

    subject: str
    text: str
    html: str


# A referral as labelled fields, shared by text and HTML so that both say the same things.
_Field = tuple[str, str, bool]  # label, value, alert


def digest(d: Digest) -> Rendered:
    """The status digest of a partner's referrals for one period."""
    end = _day(d.period_end, d.tz)
    period = f"{_day(d.period_start, d.tz)} – {end}" if d.period_start else f"First digest, {end}"
    n_new = sum(i.new for i in d.items)
    n_open = sum(i.stage not in CLOSED_STAGES for i in d.items)
    if not d.items:
        counts, summary = "no open referrals", "No open referrals."
    else:
        new_words = (
            f"{n_new} new referral{'' if n_new == 1 else 's'}" if n_new else "no new referrals"
        )
        counts = f"{new_words}, {n_open} open"
        # A closed item with changes closed during this period: that is all the data can tell.
        closed = [Stage(i.stage).value for i in d.items if i.stage in CLOSED_STAGES and i.changes]
        tally = [f"{closed.count(s.value)} {s.value}" for s in Stage if s.value in closed]
        summary = f"This period: {', '.join([f'{n_new} new', *tally])}. Open now: {n_open}."
    since = f"since {_day(d.period_start, d.tz)}" if d.period_start else f"as of {end}"
    subject = _line(f"{d.partner}: {counts} — {since}")
    sections = [
        (NEW, [i for i in d.items if i.new]),
        (OPEN, [i for i in d.items if not i.new and i.stage not in CLOSED_STAGES]),
        (CLOSED, [i for i in d.items if not i.new and i.stage in CLOSED_STAGES]),
    ]
    sections = [(title, items) for title, items in sections if items]
    closing = (
        "Reply to this email to send a note to the team. To write about one referral, "
        "reply to its own “Reply about” address, or name its ref, such as "
        f"{d.items[0].ref if d.items else 'ACME-12'}, in your reply."
    )
    title = f"Referral status for {_line(d.partner)}"

    text = [_wrap(title), _wrap(period), "", _wrap(summary)]
    for name, items in sections:
        text += ["", "", f"{name} ({len(items)})".upper()]
        text += ["\n" + _item_text(i, _fields(i, d.tz, d.period_end)) for i in items]

    rows = [
        _p(title, "font-size:20px;line-height:26px;font-weight:bold;", pad="24px 24px 0"),
        _p(period, f"color:{_MUTED};", pad="4px 24px 0"),
        _p(summary, "font-weight:bold;", pad="16px 24px 8px"),
    ]
    for name, items in sections:
        rows.append(_p(f"{name} ({len(items)})", _SECTION, pad="16px 24px 4px"))
        rows += [_item_html(i, _fields(i, d.tz, d.period_end)) for i in items]
    return _finish(subject, text, rows, closing, f"{d.sender} to {d.partner}", d.unsubscribe)


def stage_notice(n: StageNotice) -> Rendered:
    """The instant email telling a partner that one referral changed stage."""
    item = n.item
    word, sentence = _NOTICE.get(
        Stage(n.new_stage), (f"now {n.new_stage}", f"Now {stage_label(n.new_stage)}.")
    )
    subject = _line(f"{item.ref} {item.company or item.prospect}: {word}")
    change = f"Stage: {stage_label(n.old_stage)} → {stage_label(n.new_stage)}"
    closing = (
        f"Reply to this email to send a note to the team about {item.ref}; "
        "your reply goes straight into its thread."
    )
    fields = _fields(item, n.tz, n.at)

    text = [_wrap(f"Hello {_line(n.partner)},"), "", _wrap(sentence), _wrap(f"{change}.")]
    text += ["", _item_text(item, fields)]
    rows = [
        _p(f"Hello {_line(n.partner)},", "", pad="24px 24px 0"),
        _p(sentence, "font-size:18px;line-height:24px;font-weight:bold;", pad="12px 24px 0"),
        _p(f"{change}.", f"color:{_MUTED};", pad="4px 24px 8px"),
        _item_html(item, fields),
    ]
    return _finish(subject, text, rows, closing, f"{n.sender} to {n.partner}", n.unsubscribe)


def _fields(item: Item, tz: ZoneInfo, now: datetime | None) -> list[_Field]:
    """What a partner is told about one referral, as of `now` in their time zone."""
    if item.first_response is not None:
        first = (duration(item.first_response), False)
    elif item.stage in TALKING_STAGES or item.stage in CLOSED_STAGES:
        first = ("not recorded", False)  # past a meeting or closed: nobody is waiting
    elif now is not None:
        first = (f"awaiting first response (intro {duration(now - item.received_at)} ago)", True)
    else:
        first = ("awaiting first response", True)
    step = _line(item.next_step) if item.next_step else "none set yet"
    overdue = False
    if item.next_step_due is not None:
        # A due *day*, kept as its UTC midnight (referrals.actions.set_next_step): shown as that day
        # wherever the partner is, and overdue once that day has passed where they are.
        due = item.next_step_due.astimezone(UTC).date()
        overdue = now is not None and due < now.astimezone(tz).date()
        step += f" — {'was due' if overdue else 'due'} {day(due)}"
        step += " (overdue)" if overdue else ""
    won = [("Amount", f"{item.amount:,.2f}", False)] if item.amount is not None else []
    return [
        ("Owner", _line(item.owner) if item.owner else "not claimed yet", item.owner is None),
        *won,
        ("Received", _day(item.received_at, tz), False),
        ("First response", *first),
        ("Next step", step, overdue),
    ]


def _who(item: Item) -> str:
    return _line(item.prospect) + (f" ({_line(item.company)})" if item.company else "")


def _header(item: Item) -> str:
    return f"{item.ref} · {_who(item)} · {stage_label(item.stage)}"


def _item_text(item: Item, fields: list[_Field]) -> str:
    lines = [_wrap(_header(item), INDENT)]
    lines += [_wrap(f"{label}: {value}", INDENT * 2, INDENT) for label, value, _ in fields]
    if item.changes:
        lines.append(f"{INDENT}What changed:")
        lines += [_wrap(f"- {_line(c)}", INDENT * 3, INDENT * 2) for c in item.changes]
    lines.append(_wrap(f"Reply about {item.ref}: {item.reply_to}", INDENT * 2, INDENT))
    return "\n".join(lines)


def _item_html(item: Item, fields: list[_Field]) -> str:
    rows = [(_h(label), _h(value), alert) for label, value, alert in fields]
    if item.changes:
        rows.append(("What changed", "<br>".join(f"• {_h(_line(c))}" for c in item.changes), False))
    # One element per line: RFC 5322 §2.1.1 caps lines at 998 characters.
    cells = "\n".join(
        f'<tr><td width="130" valign="top" style="{_FONT}{_LABEL}">{label}</td>\n'
        f'<td valign="top" style="{_FONT}padding:2px 0;{f"color:{_ALERT};" if alert else ""}">'
        f"{value}</td></tr>"
        for label, value, alert in rows
    )
    href = _mailto(item.reply_to, f"Re: {item.ref} {_who(item)}")
    return (
        '<tr><td style="padding:12px 24px;border-top:1px solid #e5e7eb;">\n'
        f'<p style="{_FONT}margin:0 0 6px 0;font-size:15px;font-weight:bold;">'
        f"{_h(_header(item))}</p>\n"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n'
        f"{cells}\n</table>\n"
        f'<p style="{_FONT}margin:8px 0 0 0;"><a href="{_h(href)}" style="color:{_LINK};">'
        f"Reply about {_h(item.ref)}</a></p>\n</td></tr>"
    )


_LABEL = f"padding:2px 8px 2px 0;color:{_MUTED};"
_SECTION = "font-size:13px;font-weight:bold;text-transform:uppercase;letter-spacing:1px;"


def _page(title: str, rows: list[str]) -> str:
    # Nested role="presentation" tables with width/bgcolor attributes and inline styles are
    # what Outlook's Word engine and Gmail (which drops <style> in many views) both render.
    body = "\n".join(rows)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_h(title)}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
bgcolor="#f3f4f6">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" \
bgcolor="#ffffff" style="width:100%;max-width:600px;{_FONT}font-size:14px;line-height:20px;\
color:#111827;">
{body}
</table>
</td></tr>
</table>
</body>
</html>
"""


def _p(text: str, style: str, *, pad: str) -> str:
    inner = f'<p style="{_FONT}margin:0;{style}">{_h(text)}</p>'
    return f'<tr><td style="padding:{pad};">{inner}</td></tr>'


def _finish(
    subject: str, text: list[str], rows: list[str], closing: str, sent: str, unsubscribe: str
) -> Rendered:
    """Both bodies with the same closing and footer: how to reply, who sent it, how to stop."""
    address = unsubscribe.removeprefix("mailto:").split("?", 1)[0]
    href = unsubscribe if unsubscribe.startswith("mailto:") else _mailto(address, "unsubscribe")
    sent = f"Sent by {_line(sent)}."
    unsub = _wrap(f"To stop these emails, write to {address}.")
    text = [*text, "", "-- ", _wrap(closing), _wrap(sent), unsub]
    style = f"{_FONT}margin:0 0 8px 0;font-size:12px;line-height:18px;color:{_MUTED};"
    rows = [
        *rows,
        '<tr><td style="padding:16px 24px 24px;border-top:1px solid #e5e7eb;">\n'
        f'<p style="{style}">{_h(closing)}</p>\n'
        f'<p style="{style}">{_h(sent)} <a href="{_h(href)}" style="color:{_MUTED};">'
        f"Unsubscribe</a> (or write to {_h(address)}).</p>\n</td></tr>",
    ]
    return Rendered(subject, "\n".join(text) + "\n", _page(subject, rows))


def _line(text: str) -> str:
    """Hostile free text as one clean line: no newlines to forge headers or quoted refs."""
    flat = " ".join(text.split())
    return "".join(c for c in flat if c not in _BIDI and (c.isprintable() or c == "\u200d"))


def _wrap(text: str, indent: str = "", first: str = "") -> str:
    # Addresses and URLs stay whole (RFC 5322 allows longer lines; a broken address is useless).
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _day(moment: datetime, tz: ZoneInfo) -> str:
    return day(moment.astimezone(tz).date())


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _mailto(address: str, subject: str) -> str:
    """A mailto URI (RFC 6068) with the subject percent-encoded, spaces as %20 not "+"."""
    return f"mailto:{quote(address, safe=_ADDR_SAFE)}?subject={quote(subject, safe='')}"
