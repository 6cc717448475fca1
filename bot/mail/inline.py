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

from bot.mail.extract import Split

_MAX_LINE = 400
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
