"""`handoff replies explain FILE.eml`: how a reply was split, and where each part of it goes.

An operator asking why a partner's answer landed where it did (or in triage) sees what intake
sees: the part of the message read, each stretch of it as new text, quote, reply header or
signature, the referral block each quote ends in, and the decision for each stretch of new
text with its reason. Nothing is written: the decision is intake's own (`answers.answer`), run
on a connection that only reads.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.email.extract import Part, reads_html, split_reply
from bot.email.parse import ParsedMessage, parse
from bot.intake import rules
from bot.referrals.directory import settings_directory
from bot.replies import answers
from bot.replies.answers import Answer
from bot.replies.inline import quoted_block

_SHOWN = 3  # lines of a long quote shown at each end
_WIDTH = 100


@dataclass(frozen=True)
class Stretch:
    """A part of the reply as split, and for a quote the referral block it ends in."""

    part: Part
    block: str | None


@dataclass(frozen=True)
class Explanation:
    parsed: ParsedMessage
    read_html: bool
    stretches: tuple[Stretch, ...]
    text: str
    to: str  # what the message answers, as a sentence
    answer: Answer | None  # intake's decision, when it answers our mail


async def explain(engine: AsyncEngine, settings: Settings, raw: bytes) -> Explanation:
    """How intake reads one reply; reads the database, writes nothing."""
    parsed = parse(raw)
    html = parsed.html or None
    directory = await settings_directory(engine, settings)
    token = answers.token_of(parsed, rules.find_partner(parsed, directory).digest_token)
    split = split_reply(parsed.text, html)
    found: Answer | None = None
    noise = rules.noise(parsed, directory)
    if noise is not None:  # as intake: noise is stored, never applied
        to = f"Intake takes it as {noise[0]}, and applies nothing of it: {noise[1]}."
    elif token is None:
        to = (
            "Not an answer to Handoff's mail: no reply token in its recipients or its "
            "In-Reply-To/References. Intake files it by its thread or as an intro."
        )
    else:
        async with engine.connect() as conn:
            found = await answers.answer(conn, parsed, token, directory)
        split = found.split or split  # as intake read it (answers inside unmarked history too)
        sent = found.sent
        if sent is None:
            to = f"An answer to Handoff's mail whose token fails: {found.reason}."
        else:
            partner = directory.partners.get(sent.partner_id)
            what = f"digest #{sent.digest_id}" if sent.digest_id is not None else "notice"
            slug = partner.slug if partner else f"partner #{sent.partner_id}"
            to = f"An answer to our {what} to {sent.recipient} ({slug}); the token verifies."
    block: str | None = None
    stretches = []
    for part in split.parts:
        if part.kind == "quote":
            block = quoted_block(part.text, block)
        stretches.append(Stretch(part, block if part.kind == "quote" else None))
    read_html = reads_html(parsed.text, html)
    return Explanation(parsed, read_html, tuple(stretches), split.text, to, found)


def render(e: Explanation, out: TextIO) -> None:
    """The explanation as an operator reads it in a terminal."""
    sender = e.parsed.sender
    who = (
        f"{sender.name} <{sender.email}>"
        if sender and sender.name
        else (sender.email if sender else "(no From)")
    )
    out.write(f"From {who}: {e.parsed.subject or '(no subject)'}\n")
    part = (
        "the HTML part (the plain part, if any, lost its quotes)"
        if e.read_html
        else ("the plain-text part")
    )
    out.write(f"Read from {part}.\n{_fill(e.to, '')}\n\nHow it was split:\n")
    if not e.stretches:
        out.write("  (nothing: the message has no text)\n")
    for stretch in e.stretches:
        lines = stretch.part.text.splitlines() or [""]
        if stretch.part.kind == "quote" and len(lines) > 2 * _SHOWN + 1:
            hidden = len(lines) - 2 * _SHOWN
            lines = [*lines[:_SHOWN], f"… {hidden} more quoted lines", *lines[-_SHOWN:]]
        for k, line in enumerate(lines):
            label = stretch.part.kind if k == 0 else ""
            out.write(f"  {label:<10}| {_cut(line)}\n")
        if stretch.part.kind == "quote" and stretch.block:
            out.write(f"  {'':<10}  (ends in {stretch.block}'s block: what follows answers it)\n")
    out.write("\nWhere it goes:\n")
    found = e.answer
    if found is None:
        text = e.text or "(none)"
        out.write(f"  new text: {_fill(text, '            ').lstrip()}\n")
        return
    if not found.placed:
        out.write(f"  nowhere: {found.reason}\n")
    for placed in found.placed:
        where = ", ".join(placed.refs) or "a manager (handoff triage)"
        out.write(f"  → {where}: {placed.why}\n{_fill(placed.text, '      ')}\n")
    verdict = found.reason or "applied"
    out.write(f"\nResult: {found.kind}; {verdict}\n")


def as_json(e: Explanation) -> dict[str, Any]:
    found = e.answer
    return {
        "from": e.parsed.sender.email if e.parsed.sender else None,
        "subject": e.parsed.subject,
        "read_from": "html" if e.read_html else "plain",
        "parts": [
            {"kind": s.part.kind, "text": s.part.text}
            | ({"block": s.block} if s.part.kind == "quote" else {})
            for s in e.stretches
        ],
        "text": e.text,
        "answers_to": e.to,
        "kind": str(found.kind) if found else None,
        "reason": found.reason if found else None,
        "placed": [
            {"text": p.text, "quoted": p.quoted, "referrals": list(p.refs), "why": p.why}
            for p in (found.placed if found else ())
        ],
    }


def _cut(line: str) -> str:
    return line if len(line) <= _WIDTH else line[: _WIDTH - 1] + "…"


def _fill(text: str, indent: str) -> str:
    return "\n".join(
        textwrap.fill(p, _WIDTH, initial_indent=indent, subsequent_indent=indent) or indent
        for p in text.splitlines()
    )
