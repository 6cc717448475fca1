"""Links to Slack posts, for systems outside Slack (the CRM's deal links to its referral's post)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


def permalinks(client: AsyncWebClient) -> Callable[[str, str], Awaitable[str | None]]:
    """(channel, ts) -> the post's permalink (chat.getPermalink), remembered; None if Slack
    will not say now (the link is written on a later update)."""
    known: dict[tuple[str, str], str] = {}

    async def link(channel: str, ts: str) -> str | None:
        if (channel, ts) not in known:
            try:
                answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
            except (SlackApiError, OSError, TimeoutError):
                return None
            if not answer.get("permalink"):
                return None
            known[(channel, ts)] = str(answer["permalink"])
        return known[(channel, ts)]

    return link
