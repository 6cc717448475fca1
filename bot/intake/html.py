"""HTML bodies to plain text, keeping the addresses behind mailto: links."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
_SKIP = frozenset({"script", "style", "head", "title"})
_MAX_HTML = 2 * 1024 * 1024


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.mailto: str | None = None
        self.anchor: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.lower().startswith("mailto:"):
                self.mailto = href[7:].split("?", 1)[0].strip()
                self.anchor = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag == "a" and self.mailto is not None:
            label = "".join(self.anchor).strip()
            # Outlook shows only a name and hides the address in the link: keep both.
            if label and "@" not in label:
                self.out.append(f"{label} <{self.mailto}>")
            else:
                self.out.append(label or self.mailto)
            self.mailto = None

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.mailto is not None:
            self.anchor.append(data)
        else:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; never raises."""
    if not html:
        return ""
    parser = _TextParser()
    try:
        parser.feed(html[:_MAX_HTML])
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser gives up on some broken markup
        return re.sub(r"<[^>]+>", " ", html[:_MAX_HTML])
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
