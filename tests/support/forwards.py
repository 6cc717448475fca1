"""Forwards as mail clients write them, in many languages, sent by a rep to the bare mailbox.

Each Case names a client, a language, and the words that client writes there: its marker line
and its header labels, in the client's own order (typed here from the clients, not from the
parser's word list). `render` turns a case into the email a rep's client sends: plain text, or
HTML only, laid out as that client lays out its HTML. The forwarded intro comes from a partner's
person, to a rep, with the prospect in Cc (or, where the client drops the headers, named in the
text), and nothing outside the forward names the partner.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

NBSP = "\xa0"
# Who forwards, and the partners' people whose intros are forwarded (bot/demo/cast.py).
REP = ("Sam Rivera", "sam.rivera@ours.example")
PARTNER_PEOPLE = {
    "acme": ("Dana Whitfield", "dana@acmeconsulting.example"),
    "globex": ("Greta Kask", "greta.kask@globexpartners.example"),  # known by domain
    "initech": ("Bill Lumbergh", "bill@initech.example"),
}
# The order each client writes its forwarded headers in.
ORDER = {
    "gmail": ("from", "date", "subject", "to", "cc"),
    "apple": ("from", "subject", "date", "to", "cc"),
    "thunderbird": ("subject", "date", "from", "to", "cc"),
    "outlook": ("from", "date", "to", "cc", "subject"),
    "yahoo": ("from", "to", "cc", "date", "subject"),
}


@dataclass(frozen=True)
class Case:
    id: str
    client: str  # a key of ORDER
    lang: str
    marker: str | None  # the line above the headers, as written (None: the client writes none)
    labels: tuple[str, ...]  # in ORDER[client], each with its colon as the client writes it
    partner: str
    prospect: tuple[str, str, str]  # name, email, company
    prefix: str = "Fwd:"  # the forward's subject prefix
    one_line: bool = False  # Yahoo: marker and headers on one line
    extra: tuple[tuple[int, str, str], ...] = ()  # lines put into the block: index, label, value
    blank_between: bool = False  # BlackBerry: a blank line between header lines
    attribution: str | None = None  # Outlook's forward-as-reply: the "wrote:" line, {who} in it
    nested_by: tuple[str, str] | None = None  # a colleague's forward around this one
    cause: str = ""

    @property
    def subject(self) -> str:
        name, _, company = self.prospect
        return f"Intro: {name} ({company}) <> Sam"


def _person(name: str, email: str) -> str:
    return f"{name} <{email}>"


def header_lines(case: Case) -> list[tuple[str, str]]:
    """(label, value) of the forwarded block, in the client's order, extra lines in place."""
    name, email = PARTNER_PEOPLE[case.partner]
    values = {
        "from": _person(name, email),
        "date": "3/3/2026 17:21",
        "subject": case.subject,
        "to": _person(*REP),
        "cc": _person(case.prospect[0], case.prospect[1]),
    }
    keys = ORDER[case.client] if case.labels else ()
    pairs = [(label, values[key]) for label, key in zip(case.labels, keys, strict=True)]
    for index, label, value in sorted(case.extra, reverse=True):
        pairs.insert(index, (label, value))
    return pairs


def intro_text(case: Case) -> list[str]:
    name, email, company = case.prospect
    partner_name = PARTNER_PEOPLE[case.partner][0]
    lines = [
        "Hi Sam,",
        "",
        f"Meet {name} from {company}, who is looking at a new referral programme.",
        "I told them you would be in touch this week.",
    ]
    if case.attribution:  # the headers are gone: the intro names the prospect's address
        lines.insert(3, f"{name} is copied here: {email}")
    return [*lines, "", partner_name.split()[0]]


def plain_body(case: Case) -> str:
    """The text/plain body the rep's client writes."""
    note = ["Logging this one for the partner desk.", "", "Sam", ""]
    if case.attribution:
        who = f'"{PARTNER_PEOPLE[case.partner][0]}" <{PARTNER_PEOPLE[case.partner][1]}>'
        quoted = [f"> {line}" if line else ">" for line in intro_text(case)]
        return "\n".join([*note, case.attribution.format(who=who), *quoted]) + "\n"
    block = [f"{label} {value}" for label, value in header_lines(case)]
    if case.one_line:
        block = [" ".join([case.marker or "", *block]).strip()]
    elif case.blank_between:
        block = [part for line in block for part in (line, "")][:-1]
    if case.marker and not case.one_line:
        block = [case.marker, *block]
    lines = [*note, *block, "", *intro_text(case)]
    if case.nested_by:
        lines = _nested(case, lines)
    return "\n".join(lines) + "\n"


def _nested(case: Case, inner: list[str]) -> list[str]:
    """A colleague forwarded it to Sam first (Gmail), and Sam forwards that."""
    name, email = case.nested_by or REP
    return [
        "Logging this one for the partner desk.",
        "",
        "---------- Forwarded message ---------",
        f"From: {_person(name, email)}",
        "Date: Wed, Mar 4, 2026 at 9:02 AM",
        f"Subject: Fwd: {case.subject}",
        f"To: {_person(*REP)}",
        "",
        "Sam, this one is yours.",
        "",
        *inner[4:],
    ]


def html_body(case: Case) -> str:
    """The text/html body, laid out as the client lays out its HTML."""
    note = "<div>Logging this one for the partner desk.</div><div><br></div><div>Sam</div>"
    intro = "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in intro_text(case))
    pairs = header_lines(case)
    if case.attribution:
        name, email = PARTNER_PEOPLE[case.partner]
        who = f'"{html.escape(name)}" &lt;<a href="mailto:{email}">{email}</a>&gt;'
        return (
            f'<html><body><div class="WordSection1">{note}<p class="MsoNormal">'
            f"{case.attribution.format(who=who)}</p>"
            f'<blockquote style="border-left:solid #1F497D 1.5pt;padding:0 0 0 4pt">'
            f"{intro}</blockquote></div></body></html>"
        )
    body = _RENDER[case.client](case, note, pairs, intro)
    if case.nested_by:  # a colleague forwarded it to Sam first, from Gmail
        name, email = case.nested_by
        head = "<br>".join(
            [
                "---------- Forwarded message ---------",
                f"From: {_value(_person(name, email))}",
                "Date: Wed, Mar 4, 2026 at 9:02 AM",
                f"Subject: Fwd: {html.escape(case.subject)}",
                f"To: {_value(_person(*REP))}",
            ]
        )
        body = (
            f'<div dir="ltr">{note}<br><div class="gmail_quote"><div dir="ltr" '
            f'class="gmail_attr">{head}<br></div><br><br><div>Sam, this one is yours.</div>'
            f"<div><br></div>{body}</div></div>"
        )
    return f"<html><head><style>p{{margin:0}}</style></head><body>{body}</body></html>"


def _value(value: str, *, link: bool = True) -> str:
    """`Name <addr>` as clients write it in HTML: the address escaped, often linked."""
    if "<" not in value or "@" not in value:
        return html.escape(value)
    name, _, rest = value.partition("<")
    email = rest.rstrip(">")
    shown = f'<a href="mailto:{email}">{email}</a>' if link else email
    return f"{html.escape(name.strip())} &lt;{shown}&gt;"


def _gmail(case: Case, note: str, pairs: list[tuple[str, str]], intro: str) -> str:
    head = "<br>".join(f"{html.escape(label)} {_value(value)}" for label, value in pairs)
    return (
        f'<div dir="ltr">{note}<br><div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">{html.escape(case.marker or "")}<br>{head}<br></div>'
        f'<br><br><div dir="ltr">{intro}</div></div></div>'
    )


def _apple(case: Case, note: str, pairs: list[tuple[str, str]], intro: str) -> str:
    # Apple Mail: one div per header line, label bold, each line ending in <br>.
    style = 'style="margin-top: 0px; margin-right: 0px; margin-bottom: 0px; margin-left: 0px;"'
    font = 'style="font-family: -webkit-system-font, Helvetica Neue, Helvetica, sans-serif;"'
    between = "<div><br></div>" if case.blank_between else ""
    head = between.join(
        f"<div {style}><span {font}><b>{html.escape(label)} </b></span>"
        f"<span {font}>{_value(value)}<br></span></div>"
        for label, value in pairs
    )
    marker = f"<div>{html.escape(case.marker)}</div>" if case.marker else ""
    return (
        f'{note}<div><br><blockquote type="cite">{marker}'
        f'<br class="Apple-interchange-newline">{head}<br><div>{intro}</div></blockquote></div>'
    )


def _thunderbird(case: Case, note: str, pairs: list[tuple[str, str]], intro: str) -> str:
    rows = "".join(
        f'<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">{html.escape(label)} </th>'
        f"<td>{_value(value)}</td></tr>"
        for label, value in pairs
    )
    return (
        f'{note}<div class="moz-forward-container"><br><br>{html.escape(case.marker or "")}'
        f'<table class="moz-email-headers-table" cellspacing="0" cellpadding="0" border="0">'
        f"<tbody>{rows}</tbody></table><br>{intro}</div>"
    )


def _outlook(case: Case, note: str, pairs: list[tuple[str, str]], intro: str) -> str:
    # Outlook desktop: each header line its own MsoNormal paragraph under a top border.
    between = '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>' if case.blank_between else ""
    paragraphs = between.join(
        f'<p class="MsoNormal"><b><span lang="EN-US">{html.escape(label)}</span></b>'
        f'<span lang="EN-US"> {_value(value)}</span></p>'
        for label, value in pairs
    )
    marker = f'<p class="MsoNormal">{html.escape(case.marker)}</p>' if case.marker else ""
    return (
        f'<div class="WordSection1">{note}<p class="MsoNormal"><o:p>&nbsp;</o:p></p>{marker}'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        f'{paragraphs}</div><p class="MsoNormal"><o:p>&nbsp;</o:p></p>{intro}</div>'
    )


def _yahoo(case: Case, note: str, pairs: list[tuple[str, str]], intro: str) -> str:
    # Yahoo: the marker and the whole header block inline, in one div.
    head = " ".join(
        f"<b>{html.escape(label)}</b> {_value(value, link=False)}" for label, value in pairs
    )
    return (
        f'{note}<div class="yahoo_quoted" id="yahoo_quoted_8812">'
        f"<div>{html.escape(case.marker or '')} {head}</div><div><br></div>{intro}</div>"
    )


_RENDER = {
    "gmail": _gmail,
    "apple": _apple,
    "thunderbird": _thunderbird,
    "outlook": _outlook,
    "yahoo": _yahoo,
}


@dataclass
class Rendered:
    case: Case
    variant: str  # "plain" or "html"
    raw: bytes = field(repr=False)


def render(case: Case, variant: str, serial: int) -> Rendered:
    """The email Sam's client sends to the bare partner mailbox."""
    msg = EmailMessage()
    msg["From"] = _person(*REP)
    msg["To"] = "partners@ours.example"
    msg["Subject"] = f"{case.prefix} {case.subject}"
    msg["Date"] = format_datetime(datetime(2026, 3, 4, 10, 0, serial % 60, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(f"fwd{serial}", domain="ours.example")
    if variant == "plain":
        msg.set_content(plain_body(case))
    else:
        msg.set_content(html_body(case), subtype="html")
    return Rendered(case, variant, msg.as_bytes())
