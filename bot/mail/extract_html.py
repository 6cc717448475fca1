"""Cut the quoted history out of an HTML reply by the containers mail clients put it in.

Clients mark quotes structurally, which is more reliable than reading the rendered text:
Gmail `div.gmail_quote`, Apple and Thunderbird `blockquote type=cite` (after a
`moz-cite-prefix`), Outlook `#divRplyFwdMsg` / `#OLK_SRC_BODY_SECTION`, Hotmail's
`hr#stopSpelling`, Yahoo `yahoo_quoted`, Proton `protonmail_quote`, Zimbra's
`__QUOTED_TEXT__` marker, Yandex and Mail.ru plain `<blockquote>`. Containers are removed with
their content and the scan goes on (new text may sit between two quotes); markers that only
head the history (Outlook's header div, Thunderbird's cite prefix) cut to the end.

Tags are read with a pattern that never crosses "<" or ">", so the scan is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.intake.html import html_to_text

_MAX_HTML = 1024 * 1024
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:.-]*)([^<>]*)>")
_DECLARATION = re.compile(r"<(?:\?|!(?!--))[^<>]*>")  # <?xml …?>, <!DOCTYPE …>
_BREAKS = re.compile(r"[\r\n\t]+")
# Elements whose whole content is the quoted message.
_CONTAINERS = ("gmail_quote", "yahoo_quoted", "protonmail_quote", "olk_src_body_section")
# Elements after which everything is history, though they hold only its header.
_HEADS = ("divrplyfwdmsg", "moz-cite-prefix", "stopspelling", "appendonsend", "__quoted_text__")


def split_html(html: str) -> tuple[str, str]:
    """(text of the new part, text of the quoted part) of an HTML body; never raises."""
    html = html[:_MAX_HTML]
    kept: list[str] = []
    quoted: list[str] = []
    position = 0
    tags = _TAG.finditer(html)
    for tag in tags:
        if tag[1]:
            continue
        name, attrs = tag[2].lower(), tag[3].lower()
        if any(marker in attrs for marker in _HEADS):
            kept.append(html[position : tag.start()])
            quoted.append(html[tag.start() :])
            position = len(html)
            break
        if name == "blockquote" or any(marker in attrs for marker in _CONTAINERS):
            end = _element_end(tags, name, len(html))
            kept.append(html[position : tag.start()])
            quoted.append(html[tag.start() : end])
            position = end
    kept.append(html[position:])
    return _text("".join(kept)), _text("\n".join(quoted))


def _text(html: str) -> str:
    """Text with one line per block: source line breaks are spaces in HTML, outside <pre>."""
    html = _DECLARATION.sub("", html)
    if "<pre" not in html.lower():
        html = _BREAKS.sub(" ", html)
    return "\n".join(line for line in html_to_text(html).splitlines() if line.strip())


def _element_end(tags: Iterator[re.Match[str]], name: str, default: int) -> int:
    """Offset after the tag closing the element just opened, consuming the shared iterator."""
    depth = 1
    for tag in tags:
        if tag[2].lower() != name or tag[3].rstrip().endswith("/"):
            continue
        depth += -1 if tag[1] else 1
        if depth == 0:
            return tag.end()
    return default
