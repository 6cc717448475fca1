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

The HTML is parsed by lexbor, a maintained HTML5 parser (see bot.email.html, which also bounds
its work to linear time), and the tree walked once: quote markers are looked up with CSS selectors.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.email.html import Render, parse

# Elements whose whole content is quoted (a blockquote always is): the history itself, or the
# attribution Thunderbird puts above it.
_CONTAINERS = ("yahoo_quoted", "protonmail_quote", "olk_src_body_section", "moz-cite-prefix")
# Elements after which everything is history, though they hold only its header. Outlook marks
# no quotes in it (a partner may answer inside it), so it is kept unmarked under HISTORY.
HISTORY = "-----Original Message-----"
_HEADS = ("divrplyfwdmsg", "stopspelling", "appendonsend", "__quoted_text__")
_MARKED = ("id", "class", "name", "data-marker")


def quoted_text(html: str) -> str:
    """The text of an HTML body, one line per block, quoted history as "> " lines; never raises."""
    if not html:
        return ""
    tree = parse(html)
    render = _Quoted(_marked(tree, _CONTAINERS), _marked(tree, _HEADS))
    render.walk(tree)
    return "\n".join(render.finish())


def _marked(tree: LexborHTMLParser, markers: tuple[str, ...]) -> set[int]:
    query = ", ".join(f'[{name}*="{marker}" i]' for marker in markers for name in _MARKED)
    return {node.mem_id for node in tree.css(query)}


class _Quoted(Render):
    """Lines with those of quotes marked "> ", and the history after a head marker unmarked."""

    def __init__(self, containers: set[int], heads: set[int]) -> None:
        super().__init__(paragraphs=False)
        self._containers, self._heads = containers, heads
        self._quotes = 0  # quote elements open
        self._settled = False  # a head marker was met: no more changes of marking

    def open(self, node: LexborNode, tag: str) -> int:
        here = node.mem_id
        if not self._settled and here in self._heads:
            self._settled = True
            self.section()
            if not self._quotes:  # history as the client left it, unmarked, under a separator
                self.prefix = ""
                self._add(HISTORY)
                self.section()
        elif not self._settled and (tag == "blockquote" or here in self._containers):
            self._quotes += 1
            if self._quotes == 1:
                self.section()
                self.prefix = "> "
        return super().open(node, tag)

    def close(self, here: int, tag: str, mark: int) -> None:
        super().close(here, tag, mark)
        if not self._settled and (tag == "blockquote" or here in self._containers):
            self._quotes -= 1
            if not self._quotes:
                self.section()
                self.prefix = ""
