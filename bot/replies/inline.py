"""Which referral each stretch of a reply to our mail answers: the one quoted just above it.

Partners answer a digest as people answer any list, inline under each line. Our digests are
built for it (bot.digests.content): each referral's block starts at column 0 with its ref,
"ACME-12 · Jane Doe (Wayne Enterprises) · Meeting booked", and only indented data lines follow
it, up to its "Reply about ACME-12: …" line. So, walking the reply in document order, a quoted
line that starts a referral's block (or its "Reply about" line, when the partner trimmed the
rest) sets the referral that following new text answers; a quoted section title ("OPEN
REFERRALS (2)") or our footer ends it, since text under them answers no one referral. Other
quoted lines (fields, lines the partner's client re-wrapped) leave it as it was.

Outlook quotes nothing, and some clients paste our mail under the reply unmarked: there the
partner's answers are the lines of that history our own mail did not say (`unmarked_answers`).
Pure and linear: each line is looked at once, by anchored patterns on a bounded slice, and
compared by hash with our mail's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.email.extract import Part, Split, split_reply
from bot.text import SECTIONS

_MAX_LINE = 400
_MAX_HISTORY = 5000  # lines of unmarked history compared with our mail
_MARKS = re.compile(r"[ \t]*(?:>[ \t]?)+")
# A ref as people write it, "ACME-12": a partner slug, a dash, a number.
REF = r"([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?-\d{1,9})"
# The first line of a referral's block (column 0), as text or as the HTML digest renders it.
_ITEM = re.compile(rf"{REF}[ \t]+·")
_REPLY_ABOUT = re.compile(rf"[ \t]*reply about {REF}\b", re.I)
# What stands between referrals and after the last: a section's title, our footer.
_OUTSIDE = re.compile(
    rf"(?:{'|'.join(SECTIONS)})[ \t]*\(\d+\)[ \t]*$|--[ \t]*$|reply to this email\b", re.I
)
# Outlook's plain text shows a link as its text then its target: "Reply about ACME-2<mailto:…>".
_LINK = re.compile(r"<(?:mailto:|https?://)[^<>\s]{0,2000}>", re.I)
_SHORT = 12  # a line this long or longer may be a re-wrapped piece of one of ours


@dataclass(frozen=True)
class Piece:
    """A stretch of new text and the ref of the referral block quoted above it (None: none)."""

    ref: str | None
    text: str


def place(split: Split) -> list[Piece]:
    """The new text of a reply in document order, each stretch with the block it answers.

    One stretch at the very end, under a quote of several referrals with no answer between
    them, is a reply written below the whole digest (a client that drops our "-- " footer from
    the quote leaves the last referral above it): it answers none of them in particular.
    """
    current: str | None = None
    blocks = 0  # referral blocks in the quote just above
    pieces: list[Piece] = []
    above: list[int] = []  # for each piece, `blocks` when it was written
    quoted_after = False  # a quote follows the last piece
    for part in split.parts:
        if part.kind == "quote":
            current, blocks = _walk(part.text, current)
            quoted_after = True
        elif part.kind == "new" and part.text.strip():
            pieces.append(Piece(current, part.text.strip("\n")))
            above.append(blocks)
            quoted_after = False
    placed = [p for p in pieces if p.ref]
    if len(placed) == 1 and placed[0] is pieces[-1] and above[-1] > 1 and not quoted_after:
        pieces[-1] = Piece(None, pieces[-1].text)
    return pieces


def quoted_block(quote: str, current: str | None) -> str | None:
    """The referral block a quote leaves the reader in, starting in `current`."""
    return _walk(quote, current)[0]


def _walk(quote: str, current: str | None) -> tuple[str | None, int]:
    """The block a quote leaves the reader in, and how many referral blocks it starts."""
    starts: set[str] = set()
    for line in quote.splitlines():
        line = line[:_MAX_LINE]
        marks = _MARKS.match(line)
        content = line[marks.end() :] if marks else line
        if found := _ITEM.match(content) or _REPLY_ABOUT.match(content):
            current = found.group(1).upper()
            starts.add(current)
        elif _OUTSIDE.match(content):
            current = None
    return current, len(starts)


def unmarked_answers(split: Split, ours: str) -> Split:
    """Answers written inside a copy of our mail that the client left unmarked (Outlook's
    history under "From:/Sent:", or our mail pasted under the reply), found as the lines of
    that copy our mail `ours` (its text and HTML rendered) does not say.

    A copy counts when most of its lines are ours and it holds no other reply's header (a
    colleague answering Dana's answer quotes her answers: they are not new again). Lines are
    compared without whitespace or link targets, whole, or as pieces of a line the client
    re-wrapped when they are long enough not to be a one-word answer.
    """
    said = _said(ours)
    if not said[0]:
        return split
    parts: list[Part] = []
    for part in _pasted(split, ours):
        marked = part.text.lstrip().startswith(">")
        parts += _history(part, said) if part.kind == "quote" and not marked else [part]
    if parts == list(split.parts):
        return split
    new = "\n\n".join(p.text for p in parts if p.kind == "new")
    return Split(new, tuple(parts))


def _said(ours: str) -> tuple[set[str], str]:
    """Our mail's lines without whitespace (and each two adjacent, for table rows rendered as
    one line), and all of it as one string."""
    lines = [_compact(line) for line in ours.splitlines()]
    lines = [line for line in lines if line]
    return {*lines, *(a + b for a, b in zip(lines, lines[1:], strict=False))}, "".join(lines)


def _compact(line: str) -> str:
    return "".join(_LINK.sub("", line[: _MAX_LINE * 4]).split())


def _pasted(split: Split, ours: str) -> list[Part]:
    """The parts, with a copy of our mail pasted unmarked into new text made a quote."""
    first = next((line.strip() for line in ours.splitlines() if line.strip()), None)
    parts: list[Part] = []
    for k, part in enumerate(split.parts):
        lines = part.text.splitlines()
        cut = (
            next((i for i, line in enumerate(lines) if line.strip() == first and (i or k)), None)
            if part.kind == "new" and first
            else None
        )
        if cut is None:
            parts.append(part)
            continue
        if head := "\n".join(lines[:cut]).strip("\n"):
            parts.append(replace(part, text=head))
        parts.append(Part("quote", "\n".join(lines[cut:])))
        parts += split.parts[k + 1 :]
        break
    return parts


def _history(part: Part, said: tuple[set[str], str]) -> list[Part]:
    """An unmarked quote as our lines (quote) and the partner's lines among them (new)."""
    lines = part.text.splitlines()
    whole, flat = said
    marks = [_ours(line, whole, flat) for line in lines[:_MAX_HISTORY]]
    marks += [True] * (len(lines) - len(marks))
    # Above our mail's first line is its header in the history (in a language the splitter
    # did not know), not an answer.
    first = next((k for k, m in enumerate(marks) if m and lines[k].strip()), len(lines))
    marks[:first] = [True] * first
    content = [m for line, m in zip(lines, marks, strict=True) if line.strip()]
    if not content or all(content) or sum(content) * 2 < len(content):
        return [part]
    if any(p.kind == "header" for p in split_reply(part.text).parts):
        return [part]  # another reply's history is inside: not ours alone
    found: list[Part] = []
    start = 0
    for k in range(1, len(lines) + 1):
        if k == len(lines) or marks[k] != marks[start] and lines[k].strip():
            if text := "\n".join(lines[start:k]).strip("\n"):
                found.append(Part("quote" if marks[start] else "new", text))
            start = k
    return found


def _ours(line: str, whole: set[str], flat: str) -> bool:
    """Whether a line of the copy says only what our mail says (a blank line says nothing)."""
    compact = _compact(line)
    return not compact or compact in whole or (len(compact) >= _SHORT and compact in flat)
