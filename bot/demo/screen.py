"""What Slack and a mail client would show, drawn in the terminal with rich.

Slack's mrkdwn (https://docs.slack.dev/messaging/formatting-message-text) is turned into
rich text: mentions into names, links into their labels, *bold* and _italic_, quotes, code
blocks; Block Kit's blocks into a panel the way a Slack client lays them out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from rich.console import Group, RenderableType
from rich.emoji import Emoji
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

_TOKEN = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>|<([^>|]+)(?:\|([^>]*))?>")
_STYLE = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"  # *bold*
    r"|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"  # _italic_
)
_BROADCASTS = {"channel": "@channel", "here": "@here", "everyone": "@everyone"}
SLACK_BLUE = "bold #1264a3"


def mrkdwn(text: str, names: Mapping[str, str]) -> Text:
    """Slack mrkdwn as a Slack client renders it, as rich text (code blocks left as they are)."""
    out = Text()
    for line in text.split("\n"):
        if out:
            out.append("\n")
        quoted = line.startswith(("&gt;", ">"))
        if quoted:
            out.append("▎ ", style="dim")
            line = line.removeprefix("&gt;").removeprefix(">").lstrip()
        out.append_text(_inline(line, names, style="italic dim" if quoted else ""))
    return out


def section(text: str, names: Mapping[str, str]) -> list[RenderableType]:
    """A section's text: mrkdwn, with ```code blocks``` in monospace, cut at the edge."""
    shown: list[RenderableType] = []
    for i, piece in enumerate(text.split("```")):
        if i % 2:  # inside a code block: no formatting, no wrapping, as Slack shows it
            code = html.unescape(piece.strip("\n"))
            shown.append(Text(code, style="cyan", no_wrap=True, overflow="crop"))
        elif piece.strip("\n"):
            shown.append(mrkdwn(piece.strip("\n"), names))
    return shown


def _inline(line: str, names: Mapping[str, str], *, style: str) -> Text:
    out = Text(style=style)
    at = 0
    for match in _TOKEN.finditer(line):
        out.append_text(_styled(line[at : match.start()]))
        kind, target, label, url, url_label = match.groups()
        if kind == "@":
            out.append("@" + names.get(target, label or target), style=SLACK_BLUE)
        elif kind == "#":
            out.append("#" + (label or target), style=SLACK_BLUE)
        elif kind == "!":
            # <!here>, or <!date^…|fallback> and <!subteam^S…|@group>: their label.
            out.append(_BROADCASTS.get(target, label or target), style="bold")
        else:
            out.append(html.unescape(url_label or url), style="underline #1264a3")
        at = match.end()
    out.append_text(_styled(line[at:]))
    return out


def _styled(piece: str) -> Text:
    out = Text()
    at = 0
    for match in _STYLE.finditer(piece):
        out.append(_plain(piece[at : match.start()]))
        bold, italic = match.groups()
        out.append(_plain(bold or italic), style="bold" if bold else "italic")
        at = match.end()
    out.append(_plain(piece[at:]))
    return out


def _plain(piece: str) -> str:
    return Emoji.replace(html.unescape(piece))


def message(
    args: Mapping[str, Any], *, where: str, names: Mapping[str, str], update: bool = False
) -> Panel:
    """One Slack message (chat.postMessage or chat.update arguments) as a panel titled `where`.

    An update of an intro's post shows its title and what changed below the intro itself.
    """
    items = list(args.get("blocks") or [])
    if update:
        items = [b for b in items if not _intro_part(b)]
    body = blocks(items, names) or section(str(args.get("text") or ""), names)
    return Panel(
        Group(*body),
        title=Text(where, style="bold"),
        title_align="left",
        border_style="#611f69",  # Slack's aubergine
        padding=(0, 1),
    )


def _intro_part(block: dict[str, Any]) -> bool:
    """The prospect's fields and the intro's excerpt: what an update of a post leaves alone."""
    text = (block.get("text") or {}).get("text", "")
    return block.get("type") == "section" and (
        bool(block.get("fields")) or text.startswith((">", "&gt;"))
    )


def blocks(items: list[dict[str, Any]], names: Mapping[str, str]) -> list[RenderableType]:
    """Block Kit blocks laid out as a Slack client does, top to bottom."""
    shown: list[RenderableType] = []
    for block in items:
        kind = block.get("type")
        if kind == "header":
            shown.append(Text(_plain(block["text"]["text"]), style="bold"))
        elif kind == "section":
            if block.get("text"):
                shown += section(block["text"]["text"], names)
            if block.get("fields"):
                grid = Table.grid(padding=(0, 3))
                grid.add_column()
                grid.add_column()
                cells = [mrkdwn(f["text"], names) for f in block["fields"]]
                for i in range(0, len(cells), 2):
                    grid.add_row(*cells[i : i + 2])
                shown.append(grid)
        elif kind == "context":
            line = Text(style="dim")
            for element in block.get("elements", []):
                if element.get("type") in ("mrkdwn", "plain_text"):
                    line.append_text(mrkdwn(element["text"], names)).append("  ")
            shown.append(line)
        elif kind == "actions":
            shown.append(_controls(block.get("elements", [])))
        elif kind == "divider":
            shown.append(Text("─" * 40, style="dim"))
    return shown


def _controls(elements: list[dict[str, Any]]) -> Text:
    line = Text()
    for element in elements:
        kind = element.get("type")
        if kind == "button":
            style = "bold white on #007a5a" if element.get("style") == "primary" else "bold"
            line.append(f" {_plain(element['text']['text'])} ", style=style).append("  ")
        elif kind == "overflow":
            line.append(" ⋯ ", style="bold").append("  ")
        elif kind in ("static_select", "users_select"):
            placeholder = (element.get("placeholder") or {}).get("text", "Choose")
            line.append(f" {_plain(placeholder)} ▾ ", style="bold").append("  ")
    return line


def email(mail: EmailMessage, *, lines: int = 24) -> Panel:
    """An email as a mail client lists it: its headers, then the start of its plain text."""
    head = Table.grid(padding=(0, 1))
    head.add_column(style="dim")
    head.add_column()
    for name in ("From", "To", "Reply-To", "Subject"):
        if mail[name]:
            head.add_row(f"{name}:", str(mail[name]))
    part = mail.get_body(preferencelist=("plain",))
    text = str(part.get_content()) if part is not None else ""
    shown = [line.rstrip() for line in text.strip().splitlines()]
    if len(shown) > lines:
        shown = [*shown[:lines], f"… ({len(shown) - lines} more lines)"]
    return Panel(
        Group(head, Text(""), Text("\n".join(shown))),
        title=Text("email", style="bold"),
        title_align="left",
        border_style="#c5221f",
        padding=(0, 1),
    )
