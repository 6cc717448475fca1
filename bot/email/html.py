"""HTML bodies to plain text, keeping the addresses behind mailto: links. Linear time.

A small tokenizer rather than html.parser: the stdlib parser rescans to the end of the input
from every tag it cannot close, which makes hostile mail ("<a <a <a …") take minutes. Here a
tag never spans another "<", and comments, scripts and styles are skipped with forward-only
searches, so every character is looked at a bounded number of times.
"""

from __future__ import annotations

import html as entities
import re

_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_HIDDEN = re.compile(r"<!--|<(script|style|head|title)(?=[\s/>])")
_MAX_HTML = 1024 * 1024
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:.-]*+)([^<>]*+)>")
_MAILTO = re.compile(r"""href\s*=\s*["']?\s*mailto:([^"'\s>?]+)""", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; never raises, linear in the input."""
    if not html:
        return ""
    html = _drop_hidden(html[:_MAX_HTML])
    out: list[str] = []
    mailto: str | None = None
    anchor: list[str] = []
    position = 0
    for tag in _TAG.finditer(html):
        text = entities.unescape(html[position : tag.start()])
        (anchor if mailto is not None else out).append(text)
        position = tag.end()
        closing, name = tag[1] == "/", tag[2].lower()
        if name in _BLOCK:
            out.append("\n")
        elif name == "a" and not closing:
            found = _MAILTO.search(tag[3])
            if found:
                mailto, anchor = found[1], []
        elif name == "a" and mailto is not None:
            # Outlook shows only a name and hides the address in the link: keep both.
            label = "".join(anchor).strip()
            out.append(f"{label} <{mailto}>" if label and "@" not in label else label or mailto)
            mailto = None
    out.append(entities.unescape(html[position:]))
    if mailto is not None:
        out.append("".join(anchor))
    text = "".join(out).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _drop_hidden(html: str) -> str:
    """Remove comments and the content of script, style, head and title."""
    lower = html.lower()
    kept: list[str] = []
    position = 0
    while (start := _HIDDEN.search(lower, position)) is not None:
        kept.append(html[position : start.start()])
        end = "-->" if start[1] is None else f"</{start[1]}"
        close = lower.find(end, start.end())
        if close < 0:
            return "".join(kept)  # unclosed to the end: nothing after it is shown
        position = lower.find(">", close)
        position = len(html) if position < 0 else position + 1
    kept.append(html[position:])
    return "".join(kept)
