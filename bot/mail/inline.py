"""Which referral each stretch of a reply to our mail answers: the one quoted just above it.

Partners answer a digest as people answer any list, inline under each line. Our digests are
built for it (bot.mail.content): each referral's block starts at column 0 with its ref,
"ACME-12 · Jane Doe (Wayne Enterprises) · Meeting booked", and only data lines follow it,
indented, up to its "Reply about ACME-12: …" line. So, walking the reply in document order, a
quoted line that starts a referral's block sets the referral that following new text answers,
and our quoted footer ends it: text under the whole digest answers no one referral. Quoted
lines of any other kind (fields, section titles, lines the partner's client re-wrapped) leave it
as it was, so an answer written under "OPEN REFERRALS (2)" is still about the referral above.
Pure and linear: each quoted line is looked at once, by anchored patterns on a bounded slice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.mail.extract import Part, Split

_MAX_LINE = 400
_MAX_HISTORY = 5000  # lines of unmarked history compared with our mail
_MARKS = re.compile(r"[ \t]*(?:>[ \t]?)+")
_REF = r"([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?-\d{1,9})"
# The first line of a referral's block, as text or as the HTML digest renders it.
_ITEM = re.compile(rf"[ \t]*{_REF}[ \t]+·")
_REPLY_ABOUT = re.compile(rf"reply about {_REF}\b", re.I)
# What stands after the last referral's block: our footer ("-- ", then how to reply).
_FOOTER = re.compile(r"--[ \t]*$|reply to this email\b", re.I)


@dataclass(frozen=True)
class Piece:
    """A stretch of new text and the ref of the referral block quoted above it (None: none)."""

    ref: str | None
    text: str


def place(split: Split) -> list[Piece]:
    """The new text of a reply in document order, each stretch with the block it answers."""
    current: str | None = None
    pieces: list[Piece] = []
    for part in split.parts:
        if part.kind == "quote":
            current = quoted_block(part.text, current)
        elif part.kind == "new" and part.text.strip():
            pieces.append(Piece(current, part.text.strip("\n")))
    return pieces


def quoted_block(quote: str, current: str | None) -> str | None:
    """The referral block a quote leaves the reader in, starting in `current`."""
    for line in quote.splitlines():
        line = line[:_MAX_LINE]
        marks = _MARKS.match(line)
        content = line[marks.end() :] if marks else line.lstrip()
        if found := _ITEM.match(content) or _REPLY_ABOUT.match(content):
            current = found.group(1).upper()
        elif _FOOTER.match(content):
            current = None
    return current


def unmarked_answers(split: Split, ours: str) -> Split:
    """Answers written inside history the client left unmarked (Outlook quotes with no ">"),
    found by what our own mail `ours` (its text and HTML rendered) does not say.

    A history counts as ours when most of its lines are in our mail; then each run of its lines
    that are not is the partner's, new text in place. Lines are compared without whitespace, as
    substrings of our mail's text, so a client's re-wrapping or tabs between table cells do not
    make our own words look new. Another mail's history, or ">"-quoted lines, stay as they are.
    """
    flat = "".join(ours.split())
    if not flat:
        return split
    parts: list[Part] = []
    changed = False
    for part in split.parts:
        lines = part.text.splitlines()
        if part.kind != "quote" or any(line.lstrip().startswith(">") for line in lines):
            parts.append(part)
            continue
        marks = [_ours(line, flat) for line in lines[:_MAX_HISTORY]]
        marks += [True] * (len(lines) - len(marks))
        # Above our mail's first line is its header in the history (in a language the splitter
        # did not know), not an answer.
        first = next((k for k, m in enumerate(marks) if m and lines[k].strip()), len(lines))
        marks[:first] = [True] * first
        said = [m for line, m in zip(lines, marks, strict=True) if line.strip()]
        if not said or sum(said) * 2 < len(said) or all(said):
            parts.append(part)
            continue
        changed = True
        start = 0
        for k in range(1, len(lines) + 1):
            if k == len(lines) or marks[k] != marks[start] and lines[k].strip():
                text = "\n".join(lines[start:k]).strip("\n")
                if text:
                    parts.append(Part("quote" if marks[start] else "new", text))
                start = k
    if not changed:
        return split
    new = "\n\n".join(p.text for p in parts if p.kind == "new")
    return Split(new, tuple(parts))


def _ours(line: str, flat: str) -> bool:
    """Whether a history line says only what our mail says (a blank line says nothing)."""
    compact = "".join(line[:_MAX_LINE].split())
    return not compact or compact in flat
