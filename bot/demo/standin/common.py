"""What the stand-in's parts share: a call's arguments and how a call is refused."""

from __future__ import annotations

from typing import Any

Args = dict[str, Any]


class SlackError(Exception):
    """Refuse a call with {"ok": false, "error": ...}."""


def _need(args: Args, *names: str) -> None:
    if not all(args.get(name) for name in names):
        raise SlackError("invalid_arguments")


def _need_text(args: Args) -> None:
    if not args.get("text") and not args.get("blocks"):
        raise SlackError("no_text")


def _public(message: dict[str, Any], *, metadata: bool = True) -> dict[str, Any]:
    """The message as the API shows it: no empty fields, metadata only when asked for."""
    return {k: v for k, v in message.items() if v is not None and (metadata or k != "metadata")}


def _page(messages: list[dict[str, Any]], args: Args, limit: int) -> dict[str, Any]:
    """One page of a history, with Slack's cursor for the next (an opaque offset here)."""
    at = int(args.get("cursor") or 0)
    page, more = messages[at : at + limit], at + limit < len(messages)
    cursor = str(at + limit) if more else ""
    return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": cursor}}
