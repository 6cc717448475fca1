"""Find the forwarded message inside a body: Gmail, Outlook, Apple Mail and Thunderbird formats."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

# Header labels as mail clients write them in forwarded blocks, per language.
_LABELS = {
    "from": "from|de|von|van|da|från|fra|od|от|差出人|发件人|寄件者",
    "to": "to|à|a|an|aan|para|til|till|do|кому|宛先|收件人",
    "cc": "cc|kopie|copie|копия",
    "subject": "subject|objet|betreff|onderwerp|asunto|oggetto|assunto|emne|ämne|temat|тема"
    "|件名|主题",
    "date": "date|sent|envoyé|gesendet|datum|verzonden|enviado|fecha|inviato|data|sendt|skickat"
    "|отправлено|日付|发送时间",
}
# Labels may be bold ("*From:*", as Gmail renders Outlook's HTML). Each run of blanks can match
# one way only (no "\s*\*?\s*"), so a line of spaces costs linear time, not quadratic.
_SP = r"[ \t]*"
_STAR = rf"(?:\*{_SP})?"
_LABEL = re.compile(
    rf"^{_SP}{_STAR}(?P<label>"
    + "|".join(_LABELS.values())
    + rf"){_SP}{_STAR}:{_SP}{_STAR}(?P<value>.*)$",
    re.IGNORECASE,
)
_KEY = {label: key for key, labels in _LABELS.items() for label in labels.split("|")}

_MARKERS = (
    (
        "gmail",
        r"^-{4,}[ \t]*(forwarded message|message transf[ée]r[ée]|weitergeleitete nachricht"
        r"|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada"
        r"|videresendt meddelelse|vidarebefordrat meddelande)[ \t]*-{3,}[ \t]*$",
    ),
    (
        "thunderbird",
        r"^-{4,}[ \t]*(forwarded message|weitergeleitete nachricht"
        r"|message transféré)[ \t]*-{4,}[ \t]*$",
    ),
    (
        "outlook",
        r"^-{3,}[ \t]*(original message|original-nachricht|message d'origine"
        r"|mensaje original|messaggio originale|oorspronkelijk bericht)[ \t]*-{3,}[ \t]*$",
    ),
    ("outlook", r"^_{10,}[ \t]*$"),
    (
        "apple",
        r"^(begin forwarded message|début du message réexpédié"
        r"|anfang der weitergeleiteten nachricht|inicio del mensaje reenviado)[ \t]*:[ \t]*$",
    ),
)
# Searched over the whole body at once (C speed), allowing "> " quoting before the marker.
_MARKER_RES = tuple(
    (client, re.compile(r"^(?:[ \t]*>)*[ \t]*" + p[1:], re.IGNORECASE | re.MULTILINE))
    for client, p in _MARKERS
)
_FROM_LINE = re.compile(
    rf"^(?:[ \t]*>)*{_SP}{_STAR}(?:" + _LABELS["from"] + rf"){_SP}{_STAR}:",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|tr|wg|rv|enc|doorst|vs|vb|i)\s*:", re.IGNORECASE)
_QUOTE = re.compile(r"^(\s*>)+ ?")


@dataclass(frozen=True)
class ForwardBlock:
    client: str
    headers: dict[str, list[str]]
    text: str


def is_forward_subject(subject: str) -> bool:
    """`Fwd:`, `FW:`, `TR:`, `WG:`… (a reply's quoted history looks like a forward otherwise)."""
    return bool(_FORWARD_SUBJECT.match(subject))


_QUOTED_LINES = 60  # lines after a marker read with their "> " quoting taken off
_HEADER_LINES = 100  # a forwarded header block is never longer: a candidate is read this far


def find_forward_block(text: str, subject: str = "") -> ForwardBlock | None:
    """The first forwarded message's headers and text, or None when the body forwards nothing.

    Linear in the body: the text is split into lines once, and each candidate (a marker, or a
    From: line under a forward's subject) reads at most _HEADER_LINES of them.
    """
    if not text:
        return None
    starts = sorted(
        (match.start(), client) for client, marker in _MARKER_RES for match in marker.finditer(text)
    )
    if not starts and not _FORWARD_SUBJECT.match(subject):
        return None
    lines = text.split("\n")
    line_of = _LineIndex(lines)
    for start, client in starts:
        # Markers end with "$", so the headers begin on the line after the marker's.
        block = _header_block(lines, line_of(start) + 1, client)
        if block:
            return block
    if _FORWARD_SUBJECT.match(subject):
        # A forward whose marker the client left out (or translated beyond our list).
        for match in _FROM_LINE.finditer(text):
            block = _header_block(lines, line_of(match.start()), "plain")
            if block:
                return block
    return None


class _LineIndex:
    """The line a character offset of the text falls on (offsets asked in any order)."""

    def __init__(self, lines: list[str]) -> None:
        self.starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))

    def __call__(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


def _header_block(lines: list[str], first: int, client: str) -> ForwardBlock | None:
    """The header block that starts at line `first` (quoting taken off), and the text after it."""

    def line_at(index: int) -> str:
        line = lines[index]
        return _QUOTE.sub("", line) if index < first + _QUOTED_LINES else line

    headers: dict[str, list[str]] = {}
    index, last = first, None
    end = min(len(lines), first + _HEADER_LINES)
    # Apple Mail and Outlook leave a blank line or two between the marker and the headers.
    while index < end and index < first + 3 and not line_at(index).strip():
        index += 1
    while index < end:
        line = line_at(index)
        match = _LABEL.match(line)
        key = _KEY.get(match["label"].lower()) if match else None
        if match and key and (key not in headers or key in ("to", "cc")):
            headers.setdefault(key, []).append(match["value"].strip())
            last = key
        elif line.strip() and last in ("to", "cc") and ("@" in line or line[:1].isspace()):
            headers[last].append(line.strip())  # a wrapped recipient list
        elif not line.strip() and not headers:
            pass
        else:
            break
        index += 1
    if "from" not in headers or len(headers) < 2:
        return None
    for key in ("from", "to", "cc"):
        if key in headers:
            headers[key] = [_mailto_to_angle(v) for v in headers[key]]
    quoted_until = max(index, min(len(lines), first + _QUOTED_LINES))
    body = [line_at(i) for i in range(index, quoted_until)] + lines[quoted_until:]
    return ForwardBlock(client=client, headers=headers, text="\n".join(body).strip())


_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)


def _mailto_to_angle(value: str) -> str:
    """Outlook writes `Jane Doe [mailto:jane@x]` and separates people with `;`."""
    value = _MAILTO.sub(r"<\1>", value).replace("*", "")
    return ", ".join(part.strip() for part in value.split(";") if part.strip())
