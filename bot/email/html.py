"""HTML bodies to plain text, keeping the addresses behind mailto: links. Linear time.

The HTML is read by lexbor (selectolax), a maintained HTML5 parser, so tags, quoted attributes,
entities, comments and broken markup are read as a browser reads them. The tree builder of
HTML5 is not linear on hostile input, though (lexbor/lexbor#340; html5ever#788): every block tag
scans the open elements, so 800,000 nested <div>s take hours; formatting elements are re-opened
after every block, as many as were left open; and each attribute is compared with the others of
its tag. Browsers cap the nesting at 512. `parse` bounds what lexbor gets with one forward scan
over the tags: nesting beyond _MAX_DEPTH is dropped, formatting elements (<b>, <font> …) become
<span>s, which mean the same in text and are never re-opened, and a tag with very long attributes
keeps only those read here. The scan may think an element is open after the parser closed it
(then it drops sooner), never the reverse, so the parser's nesting stays bounded. It also ends, at
a </blockquote>, a table opened in the quote (HTML5 would leave both open and quote what
follows), and gives content written between a table's rows a cell (HTML5 moves it above).

Text follows what a reader sees: a run of block boundaries is one line break; a blank line appears
only where the writer made one (an empty block, two <br> in a row, a paragraph's margin).
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import unquote

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# bench/html_parts.py: lexbor parses any crafted 4 MB part in under a second, but walking a
# tree of a million nodes in Python takes seconds; real parts are far smaller (the corpora's:
# 600 B each), and what intake reads (a forward's headers, a reply's answer) is at the top.
# 512 KiB keeps the worst crafted part near half a second.
_MAX_HTML = 512 * 1024
_MAX_DEPTH = 256  # the open elements lexbor scans at each block tag; real mail nests < 100
_MAX_ATTRS = 1024  # characters of attributes in one tag before only the ones read here are kept
_SCAN = 6  # how far below the innermost open element an end tag may close one

_BLOCK = _names(
    "address article aside blockquote center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main menu "
    "nav ol p pre search section summary table tbody tfoot thead tr ul"
)
_CELLS = frozenset(("td", "th"))
_HIDDEN = frozenset(("head", "script", "style", "template", "title"))
_NONE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_TIGHT = re.compile(r"margin(?:-top|-bottom)?\s*:\s*0", re.IGNORECASE)  # no paragraph margin
_EMPTYABLE = frozenset(("div", "p"))  # empty, the blank line its writer typed
_TRIVIAL = frozenset(("br", "span", "o:p"))  # what an empty block may still hold

# The guard's view of the tree builder (HTML Standard 13.2.6.4.7).
_VOID = _names(
    "area base basefont bgsound br col embed frame hr img input keygen link meta param "
    "source track wbr"
)
_FORMATTING = _names("b big code em font i nobr s small strike strong tt u")
# Never nest in themselves (the next one closes the last), so not counted.
_SELF_CLOSING = _names(
    "body caption colgroup dd dt head html li optgroup option p rb rp rt rtc tbody td tfoot "
    "th thead tr"
)
_CELL_OPENS = frozenset(("td", "th", "caption"))
_ROWS = frozenset(("tr", "tbody", "thead", "tfoot", "colgroup"))
_IN_TABLE = frozenset(("col", "form", "input", "script", "style", "table", "template"))
_RAW = frozenset(("iframe", "noembed", "noframes", "script", "style", "textarea", "title", "xmp"))
# End tags are ignored across these (scope boundaries, and for inline ones, special elements).
_SCOPE = _names(
    "applet caption html marquee object table td template th desc foreignobject mi mo mn ms "
    "mtext annotation-xml svg math"
)
_QUOTE_STOP = _SCOPE - {"table"}  # which a quote's end closes, see _bounded
_INLINE_STOP = _SCOPE | _BLOCK | _VOID | _RAW | frozenset(("button", "select", "iframe"))
_TOKEN = re.compile(
    r"<!---?>|<!--.*?(?:--!?>|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<(?:!|\?|/(?![a-zA-Z]))[^>]*+>?"
    r"|<(/?)([a-zA-Z][^\s/>]*+)((?:=\s*+\"[^\"]*+\"?|=\s*+'[^']*+'?|[^>])*+)>?",
    re.DOTALL,
)
_READ = re.compile(
    r"""(?:^|[\s/])(href|style|class|id|type|data-marker)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""",
    re.IGNORECASE,
)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; never raises, linear in the input."""
    if not html:
        return ""
    render = Render(paragraphs=True)
    render.walk(parse(html))
    return "\n".join(render.finish()).strip()


def parse(html: str) -> LexborHTMLParser:
    """The HTML5 tree of (at most _MAX_HTML of) an HTML body, its nesting bounded for lexbor."""
    return LexborHTMLParser(_bounded(html[:_MAX_HTML]), options=LexborDocumentOptions.WO_EVENTS)


def _bounded(html: str) -> str:
    """The HTML with what makes lexbor super-linear taken out (see the module docstring)."""
    kept: list[str] = []
    open_: list[str] = []  # the counted elements the parser has open, innermost last
    counts: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    cells: list[bool] = []  # per open table, innermost last: whether a cell (or caption) is open
    position = 0
    lower = html.lower()
    while (token := _TOKEN.search(html, position)) is not None:
        start, end = token.span()
        name = (token[2] or "").lower()
        if not name:  # comment, CDATA, declaration: skipped whole, as the parser does
            kept.append(html[position:end])
            position = end
            continue
        text = html[position:start]
        kept.append(text)
        position = end
        closing, attrs = token[1] == "/", token[3] or ""
        if name in _FORMATTING:
            name = "span"
        if cells and open_[-1] == "table":  # between a table's rows
            if name in _CELL_OPENS or name in _ROWS:
                cells[-1] = name in _CELL_OPENS and not closing
            elif not cells[-1] and (text.strip() or not closing and name not in _IN_TABLE):
                # HTML5 moves it above the table (foster parenting): keep it where it was
                # written, as a reply typed between two rows of a quoted table.
                kept.insert(-1, "<tr><td>")
                cells[-1] = True
        if closing:
            if dropped[name]:
                dropped[name] -= 1
                continue
            if counts[name] and (above := _closes(open_, name)) >= 0:
                for _ in range(above + 1):
                    counts[inner := open_.pop()] -= 1
                    if inner == "table":
                        cells.pop()
                    if inner != name and name == "blockquote":
                        # A quote's end ends what was opened in it (a table HTML5 would keep
                        # open, the quote's end ignored: what follows would be quoted too).
                        kept.append(f"</{inner}>")
        elif name in _RAW and not (counts["svg"] or counts["math"]):
            close = lower.find(f"</{name}", end)
            position = len(html) if close < 0 else close  # its end tag comes next, as text
            kept.append(f"<{name}{_read(attrs)}>{html[end:position]}")
            continue
        elif name in _VOID or name in _SELF_CLOSING:
            if name in ("html", "body"):  # their attributes merge into one element, compared
                attrs = ""
        elif len(open_) >= _MAX_DEPTH:
            dropped[name] += 1
            continue
        else:
            open_.append(name)
            counts[name] += 1
            if name == "table":
                cells.append(False)
        kept.append(f"</{name}>" if closing else f"<{name}{_read(attrs)}>")
    kept.append(html[position:])
    return "".join(kept)


def _read(attrs: str) -> str:
    """The attributes, or of very long ones those read here (each name once, the first kept)."""
    if len(attrs) <= _MAX_ATTRS:
        return attrs
    read = {m[1].lower(): m[2] for m in reversed(list(_READ.finditer(attrs)))}
    return "".join(f" {key}={value}" for key, value in read.items())


def _closes(open_: list[str], name: str) -> int:
    """How many elements the parser surely closes above the `name` near the top of open_ at its
    end tag; -1 if it may not close it."""
    stops = _QUOTE_STOP if name == "blockquote" else _SCOPE if name in _BLOCK else _INLINE_STOP
    for above, inner in enumerate(reversed(open_[-_SCAN:])):
        if inner == name:
            return above
        if inner in stops:
            return -1
    return -1


class Render:
    """Lines of text built from a walk over the tree: one per block, blank where the writer
    made one. `paragraphs` keeps the margin a browser gives a <p> as a blank line."""

    def __init__(self, *, paragraphs: bool) -> None:
        self.paragraphs = paragraphs
        self.lines: list[str] = []
        self.prefix = ""  # put before each line from now on, as "> " for a quote
        self._prefixes: list[str] = []
        self._line: list[str] = []
        self._first = 0  # where the current section starts: no blank line opens one
        self._gap = False  # a paragraph's margin waits for the next line
        self._solid = 0  # visible things so far: an empty block adds none
        self._pre = 0
        self._anchor: list[str] | None = None
        self._mailto = ""
        self._tight: set[int] = set()

    def walk(self, tree: LexborHTMLParser) -> None:
        """Render the tree, without script, style and the like, or what an inline style hides."""
        root = tree.root
        if root is None:
            return
        hidden = {n.mem_id for n in tree.css('[style*="display" i]') if _NONE.search(_style(n))}
        if self.paragraphs:
            tight = tree.css('p[class*="msonormal" i], p[style*="margin" i]')
            self._tight = {
                n.mem_id
                for n in tight
                if "mso" in (n.attributes.get("class") or "").lower() or _TIGHT.search(_style(n))
            }
        # An explicit stack of child iterators, no recursion: nesting may be deep.
        stack = [(0, "", 0, root.iter(include_text=True))]  # (node, tag, open's mark, children)
        hiding = 0  # hidden elements open: -1 marks them
        while stack:
            node = next(stack[-1][3], None)
            if node is None:
                here, tag, mark, _ = stack.pop()
                if mark < 0:
                    hiding -= 1
                elif stack and not hiding:
                    self.close(here, tag, mark)
                continue
            tag = node.tag or ""
            if tag == "-text":
                if not hiding:
                    self.text(node.text_content or "")
            elif tag[0] != "-":  # not a comment
                here = node.mem_id
                if tag in _HIDDEN or here in hidden:
                    hiding += 1
                    stack.append((here, tag, -1, node.iter(include_text=True)))
                else:
                    mark = 0 if hiding else self.open(node, tag)
                    stack.append((here, tag, mark, node.iter(include_text=True)))

    def open(self, node: LexborNode, tag: str) -> int:
        """Start an element; what it returns comes back to `close`."""
        if tag not in _TRIVIAL:
            self._solid += 1
        if tag == "br":
            if self._anchor is not None:
                self._anchor.append(" ")
            elif "".join(self._line).strip():
                self._flush()
            else:
                self.blank()
        elif tag == "a" and self._anchor is None:
            href = (node.attributes.get("href") or "").strip()
            if href[:7].lower() == "mailto:" and (address := _address(href[7:])):
                self._anchor, self._mailto = [], address
        elif tag in _CELLS:
            self._line.append(" ")
        elif tag in _BLOCK:
            self.boundary(paragraph=tag == "p" and node.mem_id not in self._tight)
            self._pre += tag == "pre"
        return self._solid

    def close(self, here: int, tag: str, mark: int) -> None:
        """End an element `open` began."""
        if tag == "a" and self._anchor is not None:
            # Outlook shows only a name and hides the address in the link: keep both.
            label, address = " ".join("".join(self._anchor).split()), self._mailto
            self._anchor = None
            self.text(f"{label} <{address}>" if label and "@" not in label else label or address)
        elif tag in _BLOCK:
            self._pre -= tag == "pre"
            if tag in _EMPTYABLE and mark == self._solid:
                self.blank()
            self.boundary(paragraph=tag == "p" and here not in self._tight)

    def text(self, text: str) -> None:
        """Text as the reader sees it: spaces collapse, outside <pre> line breaks too."""
        if self._anchor is not None:
            self._anchor.append(text)
            return
        pieces = text.split("\n") if self._pre else [text]
        for number, piece in enumerate(pieces):
            if number and "".join(self._line).strip():
                self._flush()
            elif number:
                self.blank()
            if piece.strip():
                if self._gap and len(self.lines) > self._first and self.lines[-1]:
                    self._add("")
                self._gap = False
                self._solid += 1
            self._line.append(piece)

    def boundary(self, *, paragraph: bool = False) -> None:
        """A block starts or ends: the line ends (a run of them ends it once)."""
        if self._anchor is not None:
            self._anchor.append(" ")
            return
        self._flush()
        self._gap = self._gap or (paragraph and self.paragraphs)

    def blank(self) -> None:
        """A blank line, unless one is already there or nothing precedes it."""
        self._flush()
        self._gap = False
        if len(self.lines) > self._first and self.lines[-1]:
            self._add("")

    def section(self) -> None:
        """Start lines that stand apart (a quote begins or ends): no blank line at either edge."""
        self._flush()
        while len(self.lines) > self._first and not self.lines[-1]:
            self.lines.pop()
            self._prefixes.pop()
        self._first, self._gap = len(self.lines), False

    def finish(self) -> list[str]:
        """The lines, the last one ended, each with its prefix."""
        self.section()
        return [f"{prefix}{line}" for prefix, line in zip(self._prefixes, self.lines, strict=True)]

    def _flush(self) -> None:
        line = " ".join("".join(self._line).split())
        self._line = []
        if line:
            self._add(line)

    def _add(self, line: str) -> None:
        self.lines.append(line)
        self._prefixes.append(self.prefix)


def _style(node: LexborNode) -> str:
    return node.attributes.get("style") or ""


def _address(target: str) -> str:
    """The address of a mailto: link, without its ?subject= and %-escapes (RFC 6068)."""
    return unquote(target.split("?", 1)[0]).strip()
