"""Find the messages forwarded inside a body, as mail clients write them, in any language.

Three shapes are read, with the words of bot/email/words.py (labels, markers and subject
prefixes of Gmail, Outlook, Apple Mail, Thunderbird, Yahoo and the webmails, 30 languages):
- a marker line ("---------- Forwarded message ---------", "Begin forwarded message:",
  "-----Original Message-----", Outlook's rule of underscores, BlackBerry's bare
  "Original Message") and the header block under it; Yahoo writes marker and headers on one
  line ("----- Forwarded Message ----- From: … To: … Sent: … Subject: …");
- under a forward's subject (Fwd:, FW:, TR:, WG:, RV:, VL:, PD:, İLT:, …), a header block with
  no marker above it;
- under a forward's subject, a reply's attribution ("On …, "Dana" <dana@…> wrote:") above the
  original, as Outlook 2019 writes some forwards.
A header block is label, colon (full-width too, blanks and NBSP before it as French typography
writes "Date :"), value; values may wrap onto the next line, Reply-To and blank lines may sit
between the lines (BlackBerry), and several headers may share one line. A forward of a forward
is read down to the original: find_forward_blocks returns every block, outermost first.

Linear in the body: the text is split into lines once, markers are found by one regex pass,
at most _CANDIDATES places are tried, each reading at most _HEADER_LINES lines of at most
_MAX_LINE characters, and nesting is followed _MAX_NESTING deep.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from bot.email import words
from bot.email.headers import ADDR_SPEC
from bot.email.reply_words import TIME

_MAX_TEXT = 512 * 1024  # characters of a body searched: a forward sits near its top
_MAX_LINE = 2000  # characters of one line a header pattern looks at
_LABEL_SPAN = 48  # a label and its colon fit in this many characters
_HEADER_LINES = 100  # a forwarded header block is never longer: a candidate is read this far
_QUOTED_LINES = 400  # lines after a marker read with their "> " quoting taken off
_CANDIDATES = 20  # places tried per body (markers, From: lines, attributions)
_MAX_NESTING = 5  # forwards of forwards followed


def _folded(word: str) -> str:
    return " ".join(word.split()).casefold()


_KEY = {_folded(w): key for key, labels in words.LABELS.items() for w in labels}
_LABELS = words.pattern(tuple(word for labels in words.LABELS.values() for word in labels))
_BOLD = r"(?:[*_]{1,2}+[ \t]*+)?+"  # "*From:*", as Gmail renders Outlook's bold labels
_COLON = r"[ \t]*+(?:[*_]{1,2}+)?+[ \t]*+[:：]"
_LABEL = re.compile(
    rf"[ \t]*+{_BOLD}(?P<label>{_LABELS}){_COLON}[ \t]*+{_BOLD}(?P<value>.*)", re.IGNORECASE
)
# A label inside a line (Yahoo's one-line block): preceded by a blank, followed by a colon.
_INLINE_LABEL = re.compile(rf"(?<=[ \t*])(?P<label>{_LABELS}){_COLON}", re.IGNORECASE)

# A marker line: dashes, underscores or equals around the phrase, or the phrase alone (with a
# colon, as Apple Mail writes it). Yahoo's headers follow on the same line ("rest").
# Quantifiers are possessive (*+): a line of "> > > …" or "-----…" is read once, not backtracked.
_MARKER = re.compile(
    r"^(?:[ \t]*+>)*+[ \t]*+(?P<lead>[-_=]{2,}+|\*{2,}+|)[ \t]*+(?P<phrase>"
    + words.pattern(words.FORWARD_MARKERS)
    + r")[ \t]*+(?P<trail>[-_=]{2,}+|\*{2,}+|)[ \t]*+[:：]?[ \t]*+(?P<rest>[^\n]*+)$",
    re.IGNORECASE | re.MULTILINE,
)
_RULE = re.compile(r"^(?:[ \t]*+>)*+[ \t]*+_{10,}+[ \t]*+$", re.MULTILINE)
_FROM_LINE = re.compile(
    rf"^(?:[ \t]*+>)*+[ \t]*+{_BOLD}(?:" + words.pattern(words.LABELS["from"]) + rf"){_COLON}",
    re.IGNORECASE | re.MULTILINE,
)
_PREFIX = re.compile(
    r"[ \t]*(?:\[[^\]\n]{0,40}\][ \t]*)?(?P<word>"
    + words.pattern(words.FORWARD_PREFIXES + words.REPLY_PREFIXES)
    + r")[ \t]*(?:\[\d{1,4}\][ \t]*)?[:：]",
    re.IGNORECASE,
)
_FORWARD_PREFIXES = frozenset(_folded(w) for w in words.FORWARD_PREFIXES)
_WROTE = re.compile(
    r"(?<![^\W\d_])(?:" + words.pattern(words.WROTE) + r")(?![^\W\d_])", re.IGNORECASE
)
_QUOTE = re.compile(r"^(?:[ \t]*+>)++ ?")
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " ", "\u2007": " ", "\u3000": " "})
_MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class ForwardBlock:
    client: str
    headers: dict[str, list[str]]
    text: str


def _prefixes(subject: str) -> tuple[list[str], int]:
    """A subject's leading prefixes (Re:, Fwd:, a gateway's [EXT] before one), folded, and
    where the subject itself starts."""
    found: list[str] = []
    position = 0
    for _ in range(8):
        match = _PREFIX.match(subject, position)
        if match is None:
            break
        found.append(_folded(match["word"]))
        position = match.end()
    return found, position


def is_forward_subject(subject: str) -> bool:
    """`Fwd:`, `FW:`, `TR:`, `WG:`, `RV:`, `İLT:`… among a subject's leading prefixes (also
    after `RE:` or a gateway's `[EXT]`): a reply's quoted history looks like a forward otherwise.
    """
    return any(word in _FORWARD_PREFIXES for word in _prefixes(subject)[0])


def strip_prefixes(subject: str) -> str:
    """The subject without its leading Re:/Fwd:/[EXT] prefixes."""
    return subject[_prefixes(subject)[1] :].strip()


def find_forward_block(text: str, subject: str = "") -> ForwardBlock | None:
    """The outermost forwarded message's headers and text, or None when nothing is forwarded."""
    blocks = find_forward_blocks(text, subject)
    return blocks[0] if blocks else None


def find_forward_blocks(text: str, subject: str = "") -> list[ForwardBlock]:
    """Every forwarded message in the body, outermost first: a forward of a forward down to the
    original. Each block's text holds the blocks inside it."""
    blocks: list[ForwardBlock] = []
    text = text[:_MAX_TEXT]
    while len(blocks) < _MAX_NESTING:
        block = _first_block(text, subject)
        if block is None:
            break
        blocks.append(block)
        text, subject = block.text, " ".join(block.headers.get("subject", []))
    return blocks


def _first_block(text: str, subject: str) -> ForwardBlock | None:
    if not text:
        return None
    forward_subject = is_forward_subject(subject)
    starts = sorted(
        itertools.chain(
            ((m.start(), m) for m in _MARKER.finditer(text) if _is_marker(m)),
            ((m.start(), None) for m in _RULE.finditer(text)),
        ),
        key=lambda pair: pair[0],
    )
    if not starts and not forward_subject:
        return None
    lines = text.split("\n")
    line_of = _LineIndex(lines)
    for start, marker in starts[:_CANDIDATES]:
        at = line_of(start)
        if marker is not None and marker["rest"].strip():
            rest = marker["rest"][:_MAX_LINE]
            block = _header_block(lines, at, _client(marker), rest=rest)
        else:
            block = _header_block(lines, at + 1, _client(marker))
        if block:
            return block
    if not forward_subject:
        return None
    # A forward whose marker the client left out (or wrote in words we do not know).
    for match in itertools.islice(_FROM_LINE.finditer(text), _CANDIDATES):
        block = _header_block(lines, line_of(match.start()), "plain")
        if block:
            return block
    return _attributed(lines, subject)


def _is_marker(match: re.Match[str]) -> bool:
    """A marker line, not a sentence that starts with a marker's words."""
    if match["lead"] or match["trail"]:
        return True
    line = match[0].rstrip()
    return not match["rest"].strip() and (line.endswith((":", "：")) or len(line) < 60)


def _client(marker: re.Match[str] | None) -> str:
    """The client that writes a marker of this shape (shown in the intro's event)."""
    if marker is None:
        return "outlook"  # the rule of underscores above Outlook's header block
    lead = marker["lead"]
    if marker["rest"].strip():
        return "yahoo"
    if not lead:
        return "apple" if marker[0].rstrip().endswith((":", "：")) else "blackberry"
    return {10: "gmail", 8: "thunderbird"}.get(len(lead), "outlook" if lead[0] == "-" else "inline")


class _LineIndex:
    """The line a character offset of the text falls on (offsets asked in any order)."""

    def __init__(self, lines: list[str]) -> None:
        self.starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))

    def __call__(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


def _header_block(
    lines: list[str], first: int, client: str, rest: str | None = None
) -> ForwardBlock | None:
    """The header block that starts at line `first` (quoting taken off), and the text after it.

    With `rest`, line `first` is a marker whose headers follow on the same line (Yahoo).
    """

    def line_at(index: int) -> str:
        line = lines[index][:_MAX_LINE]
        if index < first + _QUOTED_LINES:
            line = _QUOTE.sub("", line)
        return line.translate(_SPACES)

    headers: dict[str, list[str]] = {}
    last: str | None = None
    end = min(len(lines), first + _HEADER_LINES)
    index = first
    if rest is not None:
        if not _add(headers, _segments(rest.translate(_SPACES))):
            return None
        last, index = next(reversed(headers)), first + 1
    # Apple Mail and Outlook leave a blank line or two between the marker and the headers.
    while not headers and index < min(end, first + 3) and not line_at(index).strip():
        index += 1
    while index < end:
        line = line_at(index)
        if not line.strip():
            # BlackBerry and some webmails leave blank lines between header lines.
            after = next(
                (j for j in range(index + 1, min(end, index + 3)) if line_at(j).strip()), 0
            )
            segments = _segments(line_at(after)) if after and headers else []
            if not segments or segments[0][0] in headers:
                break
            index = after
            continue
        segments = _segments(line)
        if segments:
            if not _add(headers, segments):
                break
            last = next(reversed(headers))
        elif last and _continues(last, line):
            headers[last][-1] += " " + line.strip()  # a wrapped value
        else:
            break
        index += 1
    if "from" not in headers or len(headers) < 2:
        return None
    for key in ("from", "to", "cc", "bcc", "reply_to"):
        if key in headers:
            headers[key] = [_mailto_to_angle(v) for v in headers[key]]
    quoted_until = max(index, min(len(lines), first + _QUOTED_LINES))
    body = [line_at(i) for i in range(index, quoted_until)] + lines[quoted_until:]
    return ForwardBlock(client=client, headers=headers, text="\n".join(body).strip())


def _segments(line: str) -> list[tuple[str, str]]:
    """A header line's (key, value) pairs: one, or several when a client wrote the block on one
    line. Labels after the subject's are part of the subject (`Subject: Plan A: …`)."""
    match = _LABEL.match(line)
    if match is None:
        return []
    pairs = [(_KEY[_folded(match["label"])], match["value"])]
    if pairs[0][0] == "subject":
        return [(key, value.strip()) for key, value in pairs]
    position, value = 0, match["value"]
    for inner in _INLINE_LABEL.finditer(value):
        key = _KEY[_folded(inner["label"])]
        if key in {k for k, _ in pairs}:
            continue
        pairs[-1] = (pairs[-1][0], value[position : inner.start()])
        pairs.append((key, value[inner.end() :]))
        position = inner.end()
        if key == "subject":
            break
    return [(key, value.strip(" \t*")) for key, value in pairs]


def _add(headers: dict[str, list[str]], segments: list[tuple[str, str]]) -> bool:
    """Add a line's headers; False when one repeats (the next message's block begins)."""
    for key, value in segments:
        if key in headers and key not in ("to", "cc", "bcc"):
            return False
        headers.setdefault(key, []).append(value)
    return True


_OTHER_LABEL = re.compile(r"[ \t]*+[^\W\d_][\w .()/-]{0,30}[:：]")  # "Copie :", "Importance:"


def _continues(last: str, line: str) -> bool:
    """A line that carries on the previous value: a recipient list, a wrapped From or Subject."""
    if _OTHER_LABEL.match(line):
        return False
    if last in ("from", "to", "cc", "bcc", "reply_to"):
        return "@" in line or line[:1] in (" ", "\t")
    return last == "subject" and line[:1] in (" ", "\t")


def _mailto_to_angle(value: str) -> str:
    """Outlook writes `Jane Doe [mailto:jane@x]` and separates people with `;`."""
    value = _MAILTO.sub(r"<\1>", value).replace("*", "")
    return ", ".join(part.strip() for part in value.split(";") if part.strip())


def _attributed(lines: list[str], subject: str) -> ForwardBlock | None:
    """Under a forward's subject, an attribution line above the original ("On …, "Dana"
    <dana@…> wrote:", wrapped over up to three lines): Outlook 2019's forward as a reply."""
    tried = 0
    for i in range(min(len(lines), _HEADER_LINES * 2)):
        if tried >= _CANDIDATES:
            break
        if "@" not in lines[i][:_MAX_LINE] and not _WROTE.search(lines[i][:_MAX_LINE]):
            continue
        tried += 1
        joined = ""
        for j in range(i, min(i + 3, len(lines))):
            line = _QUOTE.sub("", lines[j][:_MAX_LINE]).translate(_SPACES).strip()
            if not line:
                break
            joined = f"{joined} {line}" if joined else line
            if _is_attribution(joined):
                sender = _attributed_sender(joined)
                if sender is None:
                    break
                body = _dedent([_QUOTE.sub("", line) for line in lines[j + 1 :]])
                headers = {"from": [sender], "subject": [strip_prefixes(subject)]}
                return ForwardBlock(client="outlook", headers=headers, text=body)
    return None


def _is_attribution(text: str) -> bool:
    text = text.rstrip(" -")
    if not text.endswith((":", "：")) and not _WROTE.search(text[-40:]):
        return False
    return bool(ADDR_SPEC.search(text)) and bool(_WROTE.search(text) or TIME.search(text))


def _attributed_sender(text: str) -> str | None:
    """`"Dana Smith" <dana@…>` out of an attribution line, in the form an address header has."""
    found = ADDR_SPEC.search(text)
    if found is None:
        return None
    before = text[: found.start()].rstrip(" <[(")
    if before.endswith('"'):
        name = before[:-1].rpartition('"')[2]
    else:  # after the date and the verb: "Am 3.3.2026 um 17:21 schrieb Dana Smith <…>:"
        name = _WROTE.split(before)[-1].rpartition(",")[2]
        name = "" if any(c.isdigit() for c in name) else name
    name = name.strip(" \"'")
    return f'"{name}" <{found[0]}>' if name else found[0]


def _dedent(lines: list[str]) -> str:
    """The original under the attribution, without the indentation Outlook gives it."""
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines[:200] if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines).strip()
