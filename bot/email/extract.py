"""The new text of an emailed reply: quoted history, reply headers and signatures cut away.

Pure and stdlib only. Mail is hostile input, so every pattern runs on a bounded slice of one
line (or of at most three joined lines) and the scan goes forward once: the whole split is
linear in the size of the message, whatever it contains.

The rules were chosen by measurement on the public reply corpora (see bench/replies.py):
- ">"-quoted runs are quotes; text after them is new again (inline and bottom-posted answers).
  In plain text, one unmarked line between two quoted ones, shorter than the long line above it
  and carrying on its sentence, is that line wrapped by the client: quote too.
- An attribution ("On … wrote:", "Am … schrieb …:", "2024年… <a@b>:", old Gmail's "2016-03-03
  17:21 GMT+01:00 Dana <a@b>:", Zoho's "---- On … wrote ----"; possibly wrapped over three lines
  or split by a quoted-printable soft break; without a date when it names an address, "Dana
  <a@b> wrote:", or stands right above a quote, "Dana wrote:", "On Mar 3, Dana wrote") or an
  Outlook header block ("From:/Sent:", "Von:/Gesendet:", "De :/Envoyé :" with or without a
  no-break space, "Fra:/Sendt:", "Da:/Inviato:", …, a long line in it wrapped once) or an
  "Original Message" separator heads the history: if ">" lines follow, only they are quoted,
  otherwise everything after it is.
- A header block at the very top, before any text, is this message's own pasted header; text
  between an attribution at the very top and the ">" quote under it is the answer.
- Signatures end a stretch of new text: "-- ", underscores (mailing-list footers), "Sent from
  my …" and "Get Outlook for …" in each language, disclaimers, a closing ("Regards,", "Mvh",
  "Pozdrawiam,") with up to five short lines after it, or a bare name ("-Abhishek", "/John",
  "Person Person."). A closing cuts only below other text: a message that is nothing but
  "Thanks!" (or "Thanks,\nJohn") keeps it.
- When in doubt the text stays: if nothing new is left but a forward or header block had history
  under it (a bare forward, or only a signature above it), that history is split again, its
  ">" taken off, and what it says is the new text. (An attribution's history is not: there the
  message holds no new text.)

The patterns themselves are in bot/email/reply_words.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.email.extract_html import quoted_text
from bot.email.html import html_to_text
from bot.email.reply_words import (
    ANY_KEY,
    BANNER,
    CLOSINGS,
    DATE,
    DELIMITER,
    DEVICE,
    DIGIT,
    DISCLAIMER,
    FOOTER,
    FROM_KEY,
    MOBILE,
    ON,
    ORIGINAL,
    RULE,
    TIME,
    UNDERSCORES,
    WROTE,
    WROTE_AT_END,
)

_MAX_TEXT = 2 * 1024 * 1024
_MAX_LINE = 400  # longest line (or joined attribution) a pattern ever looks at
_LABEL_SPAN = 48  # a header label and its colon fit in this many characters
_CLOSING_TAIL = 5  # lines of name, title and phone a closing may carry
_WRAPPED = 50  # a quoted line at least this long, cut mid-sentence, may have been wrapped
_WIDTH = 76  # the width clients wrap plain text to (72 to 78; RFC 3676 suggests 66 to 78)


@dataclass(frozen=True)
class Part:
    """A stretch of the reply: kind is "new", "quote", "header" or "signature"."""

    kind: str
    text: str


@dataclass(frozen=True)
class Split:
    """The new text of a reply and the parts it was cut from, in document order."""

    text: str
    parts: tuple[Part, ...]


def new_text(text: str, html: str | None = None) -> str:
    """What the sender wrote in this reply, without quotes, headers or signature."""
    return split_reply(text, html).text


def split_reply(text: str, html: str | None = None) -> Split:
    """Split a reply into new text, quotes, headers and signatures; never raises."""
    text = (text or "")[:_MAX_TEXT]
    try:
        if reads_html(text, html):
            return _split_plain(quoted_text(html or ""), wrapped=False)
        return _split_plain(text)
    except Exception:  # a bug here must not lose the reply: hand it over whole
        return Split(text.strip(), (Part("new", text),))


def reads_html(text: str, html: str | None) -> bool:
    """Whether the HTML part is read: there is no plain part, or it is the HTML rendered flat,
    which lost the quote structure the HTML still has."""
    if not html:
        return False
    if not text.strip():
        return True
    if any(line.lstrip().startswith(">") for line in text.splitlines()):
        return False
    return text.split()[:40] == html_to_text(html).split()[:40]


def _split_plain(text: str, wrapped: bool = True, again: bool = True) -> Split:
    """The split of plain text; wrapped: lines may have been wrapped by the client (not HTML)."""
    lines = [line.rstrip() for line in text.splitlines()]
    n = len(lines)
    following = [n] * (n + 1)  # index of the next non-blank line at or after i
    keys: list[bool | None] = [None] * n  # whether each line starts with a header label
    for i in range(n - 1, -1, -1):
        following[i] = i if lines[i].strip() else following[i + 1]
    parts: list[tuple[str, list[str]]] = []
    block: list[str] = []
    seen = False
    history = (0, 0)  # (line, part) where history under a forward or Outlook block starts
    i = 0
    while i < n:
        line = lines[i]
        if _quoted(line):
            parts += _new(block, before_quote=True)
            block = []
            j = i + 1
            # A quoted line ending in "=" was cut by a quoted-printable soft break: its tail
            # lands unquoted on the next line, and is still quote (RFC 2045, 6.7).
            while j < n and (
                _quoted(lines[j])
                or _quoted(lines[min(following[j], n - 1)])
                or (lines[j - 1].endswith("=") and lines[j].strip())
                or (wrapped and _wrapped(lines, j))
            ):
                j = j + 1 if lines[j].strip() else following[j]
            parts.append(("quote", lines[i:j]))
            seen, i = True, j
            continue
        end, kind = _header(lines, i, following, keys)
        if not end:
            block.append(line)
            seen = seen or bool(line.strip())
            i += 1
            continue
        parts += _new(block)
        block = []
        parts.append(("header", lines[i:end]))
        top, seen = not seen, True
        after = following[end]
        if kind != "wrote" and not (top and kind == "block") and not history[0]:
            history = (end, len(parts))
        if (top and kind == "block") or (after < n and _quoted(lines[after])):
            i = end
            continue
        if top and kind == "wrote" and any(_quoted(line) for line in lines[after:]):
            i = end  # the answer written under the attribution, above the quote it answers
            continue  # (a scan made once: only the first header is at the top)
        if after < n:
            parts.append(("quote", lines[end:]))
        i = n
    parts += _new(block)
    kept = [(kind, "\n".join(chunk).strip("\n")) for kind, chunk in parts]
    new = "\n\n".join(text for kind, text in kept if kind == "new" and text).strip()
    if not new and again and history[0]:
        # Nothing of ours above a forward or a header block (a bare forward, or only a
        # signature): what was forwarded is all there is to read, so it is kept.
        inner = _split_plain("\n".join(map(_unquote, lines[history[0] :])), wrapped, False)
        if inner.text:
            outer = tuple(Part(kind, text) for kind, text in kept[: history[1]] if text)
            return Split(inner.text, outer + inner.parts)
    return Split(new, tuple(Part(kind, text) for kind, text in kept if text))


def _quoted(line: str) -> bool:
    return line.lstrip(" \t").startswith(">")


def _unquote(line: str) -> str:
    stripped = line.lstrip(" \t")
    if not stripped.startswith(">"):
        return line
    return stripped[2:] if stripped.startswith("> ") else stripped[1:]


def _wrapped(lines: list[str], j: int) -> bool:
    """Whether line j is the tail of the long quoted line above it, wrapped by the client without
    its ">": one line between two quoted ones, shorter than the one above, which was cut
    mid-sentence, and starting in lower case or with a word that would not have fitted above."""
    above, line = lines[j - 1], lines[j].strip()
    if not (j + 1 < len(lines) and _quoted(lines[j + 1]) and line and _quoted(above)):
        return False
    if len(above) < _WRAPPED or len(line) >= len(above):
        return False
    if above.endswith((".", "!", "?", ":", ">", "。")):  # a sentence or an address ends there
        return False
    word = line.split()[0]
    return not word[0].isupper() or len(above) + 1 + len(word) > _WIDTH


def _header(
    lines: list[str], i: int, following: list[int], keys: list[bool | None]
) -> tuple[int, str]:
    """(end, kind) of a reply header starting at line i, or (0, "")."""
    line = lines[i][:_MAX_LINE]
    if not line.strip():
        return 0, ""
    if ORIGINAL.match(line):
        after = following[i + 1]
        end = _block(lines, after, keys) if after < len(lines) else 0
        return (end or i + 1), "separator"
    if RULE.match(line):
        after = following[i + 1]
        end = _block(lines, after, keys) if after < len(lines) else 0
        return (end, "separator") if end else (0, "")
    end = _block(lines, i, keys)
    if end:
        return end, "block"
    end = _attribution(lines, i, following)
    return (end, "wrote") if end else (0, "")


def _key(lines: list[str], j: int, keys: list[bool | None]) -> bool:
    """Whether line j starts with a header label ("Von:", "De :"), each line tested once: a
    line with no colon near its start is let go without trying the hundreds of labels."""
    if j >= len(lines):
        return False
    known = keys[j]
    if known is None:
        head = lines[j][:_LABEL_SPAN]
        known = keys[j] = (":" in head or "：" in head) and bool(
            ANY_KEY.match(lines[j][:_MAX_LINE])
        )
    return known


def _block(lines: list[str], i: int, keys: list[bool | None]) -> int:
    """End of an Outlook-style header block ("From: …", "Sent: …", …) starting at i, or 0."""
    if not _key(lines, i, keys):
        return 0
    count, sender, address, j = 0, False, False, i
    while j < len(lines) and j < i + 10:
        line = lines[j][:_MAX_LINE]
        if not _key(lines, j, keys):
            # A long "From: Name (Company)" or "To: a; b; c" wrapped by the client: one line
            # without a key, between two that have one.
            if not line.strip() or _quoted(line) or not _key(lines, j + 1, keys):
                break
        else:
            count += 1
            sender = sender or bool(FROM_KEY.match(line))
        address = address or "@" in line
        j += 1
    return j if sender and (count >= 3 or (count >= 2 and address)) else 0


def _attribution(lines: list[str], i: int, following: list[int]) -> int:
    """End of an "On … wrote:" line, wrapped over up to three lines, starting at i, or 0."""
    first = lines[i][:_MAX_LINE]
    if not (
        ON.match(first)
        or DIGIT.search(first.lstrip(" \t*>-")[:20])
        or "@" in first
        or first.endswith("<")
        or WROTE.search(first)
    ):
        return 0
    joined = ""
    for j in range(i, min(i + 3, len(lines))):
        line = lines[j].strip()
        if j > i and (not line or _quoted(line) or joined.endswith((".", "!", "?"))):
            return 0
        if j > i and (ON.match(line) or DATE.match(line)):  # "Am heutigen Tage" above "Am So.,
            return 0  # … schrieb …:", a line of text above "2016-03-03 17:21 GMT+01:00 Dana <…>:"
        if joined.endswith("="):  # a quoted-printable soft break left in by the sender's client
            joined = joined[:-1] + line
        else:
            joined = f"{joined} {line}" if joined else line
        if len(joined) > _MAX_LINE:
            return 0
        after = following[j + 1]
        if _is_attribution(joined, after < len(lines) and _quoted(lines[after])):
            return j + 1
    return 0


def _is_attribution(text: str, above_quote: bool) -> bool:
    """Whether text reads as an attribution: "On <date> Dana <a@b> wrote:", "2016-03-03 17:21
    GMT+01:00 Dana <a@b>:", Zoho's "---- On <date> Dana <a@b> wrote ----", and, above a quote,
    "On Mar 3, 2026, Dana wrote" or "Dana wrote:" (no date, no address)."""
    core = text.strip(" -")
    colon = core.endswith((":", "：")) or (text.startswith("--") and text.endswith("---"))
    if not colon and not above_quote:
        return False
    core = core.rstrip(":： \t\u00a0")
    wrote = _wrote_at_end(core)
    if not colon and not wrote:
        return False
    if DIGIT.search(core) and (not colon or WROTE.search(core)):
        return True
    if "@" in core and (TIME.search(core) or WROTE.search(core)):
        return True
    if not wrote:
        return False
    name = core[:wrote].split()  # "Dana Smith <dana@acme.example>", "Dana", "\"Smith, Dana\""
    if "@" in core:
        return len(name) <= 8
    capitalised = all(not word[0].isalpha() or word[0].isupper() for word in name)
    return above_quote and len(name) <= 4 and capitalised


def _wrote_at_end(text: str) -> int:
    """Where a closing "wrote" word ("Dana a écrit") starts, or 0 (no "wrote" starts a line)."""
    cut = max(len(text) - 16, 0)  # no "wrote" word is longer
    found = WROTE_AT_END.search(text[cut:])
    if not found or (cut + found.start() and text[cut + found.start() - 1].isalnum()):
        return 0
    return cut + found.start()


def _new(block: list[str], before_quote: bool = False) -> list[tuple[str, list[str]]]:
    """Parts of a stretch of unquoted text: banner, new text, attribution, signature."""
    end = len(block)
    while end and not block[end - 1].strip():
        end -= 1
    if not end:
        return []
    parts: list[tuple[str, list[str]]] = []
    tail: list[tuple[str, list[str]]] = []
    if before_quote:  # an attribution in a language or format we do not know, just above ">"
        start = end
        while start > 0 and end - start < 3 and block[start - 1].strip():
            start -= 1
        joined = " ".join(line.strip() for line in block[start:end])[:_MAX_LINE]
        if joined.endswith(":") and DIGIT.search(joined) and ("@" in joined or ON.match(joined)):
            tail, end = [("header", block[start:end])], start
    body = block[:end]
    first = next((k for k, line in enumerate(body) if line.strip()), 0)
    if BANNER.match(body[first][:_MAX_LINE]):  # "CAUTION: This email originated outside…"
        stop = next((k for k in range(first, len(body)) if not body[k].strip()), len(body))
        parts.append(("signature", body[:stop]))
        body = body[stop:]
    cut = next((k for k, line in enumerate(body) if _signature_start(line)), len(body))
    cut = _closing(body, cut, names=not before_quote)
    parts.append(("new", body[:cut]))
    parts.append(("signature", body[cut:]))
    return parts + tail


def _signature_start(line: str) -> bool:
    line = line[:_MAX_LINE]
    if DELIMITER.match(line) or UNDERSCORES.match(line) or DISCLAIMER.match(line):
        return True
    if "," in line or len(line.split()) > 10:
        return False
    return bool(MOBILE.match(line) or (FOOTER.match(line) and DEVICE.search(line)))


def _closing(body: list[str], cut: int, names: bool = True) -> int:
    """Where a closing ("Thanks,\\nJohn") or a bare signed name starts before line cut.

    A bare name is looked for only where a message ends (names=True): an answer between two
    quotes may well end in "Friday".
    """
    content = [k for k in range(cut) if body[k].strip()]
    # Never the first line: a closing with nothing above it ("Thanks!") is the whole answer.
    for position in range(len(content) - 1, 0, -1):
        k = content[position]
        if len(content) - 1 - position > _CLOSING_TAIL or len(body[k].strip()) > 60:
            break
        words = " ".join(body[k].strip().rstrip(",.!;:-—– 。、！").lower().split())
        if words in CLOSINGS:
            return k
    if len(content) < 2 or not names:
        return cut
    last = content[-1]
    blank_before = not body[last - 1].strip()
    return last if _signed_name(body[last].strip(), blank_before) else cut


def _signed_name(line: str, blank_before: bool) -> bool:
    """A name alone on the last line: "-Abhishek Kona", "/John", "Person Person.", "Bob"."""
    if len(line) > 40:
        return False
    if line[0] in "-/":  # a dash may start a list item; a slash only a name
        words = line[1:].split()
        return (blank_before or line[0] == "/") and 0 < len(words) <= 4 and _name_word(words[0])
    words = line.split()
    if len(words) == 1:
        return not blank_before and not line.endswith(".") and _name_word(line)
    return blank_before and len(words) <= 3 and all(_name_word(word) for word in words)


def _name_word(word: str) -> bool:
    return word[0].isupper() and all(c.isalpha() or c in ".'’-" for c in word)
