"""An HTML reply as plain text in which the quoted history is marked with ">", as in plain mail.

Clients mark quotes structurally, which is more reliable than reading the rendered text:
Gmail `blockquote.gmail_quote` (under a `div.gmail_quote` that also holds the "On … wrote:"
line and, in an inline reply, the answers between quotes), Apple and Thunderbird
`blockquote type=cite` (after a `moz-cite-prefix`), Outlook `#divRplyFwdMsg` /
`#OLK_SRC_BODY_SECTION`, Hotmail's `hr#stopSpelling`, Yahoo `yahoo_quoted`, Proton
`protonmail_quote`, Zimbra's `__QUOTED_TEXT__` marker, Yandex and Mail.ru plain `<blockquote>`.
Containers are quoted with their content and the scan goes on, so new text between two quotes
stays new and in place; markers that only head the history (Outlook's header div) start it:
it follows, unmarked as Outlook leaves it, under an "-----Original Message-----" line. The
plain-text splitter then reads the result like any plain reply.

Tags are read with a pattern that never crosses "<" or ">", so the scan is linear.
"""

from __future__ import annotations

import re

from bot.email.html import html_to_text

_MAX_HTML = 1024 * 1024
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:.-]*+)([^<>]*+)>")
_DECLARATION = re.compile(r"<(?:\?|!(?!--))[^<>]*>")  # <?xml …?>, <!DOCTYPE …>
_BREAKS = re.compile(r"[\r\n\t]+")
_EMPTY_BLOCK = re.compile(
    r"<(div|p)\b[^<>]*>(?:[ \t]|&nbsp;|&#160;|\xa0|<br[^<>]*>|</?span\b[^<>]*>|</?o:p>)*</\1>",
    re.I,
)
_BLANK = "\u2063"  # stands for an empty block while the HTML is rendered
_VOID = frozenset(("br", "hr", "img", "meta", "link", "input", "col", "wbr", "area", "base"))
# Elements whose whole content is quoted (a blockquote always is): the history itself, or the
# attribution Thunderbird puts above it.
_CONTAINERS = ("yahoo_quoted", "protonmail_quote", "olk_src_body_section", "moz-cite-prefix")
# Elements after which everything is history, though they hold only its header. Outlook marks
# no quotes in it (a partner may answer inside it), so it is kept unmarked under HISTORY.
HISTORY = "-----Original Message-----"
_HEADS = ("divrplyfwdmsg", "stopspelling", "appendonsend", "__quoted_text__")


def quoted_text(html: str) -> str:
    """The text of an HTML body, one line per block, quoted history as "> " lines; never raises."""
    html = html[:_MAX_HTML]
    chunks: list[tuple[bool, str]] = []  # (quoted, HTML) in document order
    # Per element name, the open elements of that name inside or at a quote: whether each quotes.
    open_: dict[str, list[bool]] = {}
    depth = position = 0
    for tag in _TAG.finditer(html):
        name, attrs = tag[2].lower(), tag[3].lower()
        if tag[1]:
            stack = open_.get(name)
            if stack and stack.pop():
                chunks.append((True, html[position : tag.end()]))
                position, depth = tag.end(), depth - 1
            continue
        if any(marker in attrs for marker in _HEADS):
            chunks.append((depth > 0, html[position : tag.start()]))
            if depth == 0:  # history as the client left it, unmarked, under a separator
                rest = _text(html[tag.start() :])
                return "\n".join([*_lines(chunks), HISTORY, *rest.splitlines()])
            position = tag.start()
            break
        if name in _VOID or attrs.rstrip().endswith("/"):
            continue
        quotes = name == "blockquote" or any(marker in attrs for marker in _CONTAINERS)
        if quotes:
            chunks.append((depth > 0, html[position : tag.start()]))
            position, depth = tag.start(), depth + 1
        if quotes or open_.get(name):
            open_.setdefault(name, []).append(quotes)
    chunks.append((depth > 0, html[position:]))
    return "\n".join(_lines(chunks))


def _lines(chunks: list[tuple[bool, str]]) -> list[str]:
    lines: list[str] = []
    for quoted, fragment in chunks:
        lines += [f"> {line}" if quoted else line for line in _text(fragment).splitlines()]
    return lines


def _text(html: str) -> str:
    """Text with one line per block: source line breaks are spaces in HTML, outside <pre>.

    An empty block (`<div><br></div>`, `<p>&nbsp;</p>`) is the blank line its writer typed.
    """
    html = _DECLARATION.sub("", html)
    if "<pre" not in html.lower():
        html = _BREAKS.sub(" ", html)
    html = _EMPTY_BLOCK.sub(f"<div>{_BLANK}</div>", html)
    lines: list[str] = []
    for line in html_to_text(html).splitlines():
        if line.strip() == _BLANK:
            if lines and lines[-1]:
                lines.append("")
        elif line.strip():
            lines.append(line)
    return "\n".join(lines).strip("\n")
