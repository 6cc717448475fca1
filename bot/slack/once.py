"""Slack writes, exactly once: each message we post carries a key in its metadata
(api.slack.com/metadata), and a retry looks for that key before it posts again.

A post can take effect although its answer never arrives (a timeout, a 500 after the work, a
worker killed in between): a retry that does not look first posts twice, and one that cannot
look must not post at all. The search covers every message since the job was queued, page by
page, so that it does not depend on how busy the channel was meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.calls import slack_call

METADATA_TYPE = "handoff_referral"  # posts and thread lines
NUDGE_TYPE = "handoff_nudge"
CLOCK_SKEW = timedelta(minutes=5)  # Slack's clock and ours may disagree this much
PAGE = 200


def metadata(key: dict[str, Any], event_type: str = METADATA_TYPE) -> dict[str, Any]:
    """The message metadata that names one write."""
    return {"event_type": event_type, "event_payload": key}


async def earlier(
    client: AsyncWebClient,
    *,
    channel: str,
    key: dict[str, Any],
    since: datetime,
    thread_ts: str | None = None,
    what: str,
    event_type: str = METADATA_TYPE,
) -> str | None:
    """The ts of our message carrying `key` in the channel (or the thread under thread_ts)
    posted since `since`, or None. Raises Retry when Slack cannot be asked: never post blind."""
    oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
    cursor: str | None = None
    while True:
        arguments: dict[str, Any] = {
            "channel": channel,
            "oldest": oldest,
            "limit": PAGE,
            "include_all_metadata": True,
        }
        if cursor:
            arguments["cursor"] = cursor
        if thread_ts is not None:
            answer = await slack_call(
                f"checking whether {what} was posted",
                partial(client.conversations_replies, ts=thread_ts, **arguments),
            )
        else:
            answer = await slack_call(
                f"checking whether {what} was posted",
                partial(client.conversations_history, **arguments),
            )
        for message in answer.get("messages") or ():
            data = message.get("metadata") or {}
            if data.get("event_type") == event_type and data.get("event_payload") == key:
                return str(message["ts"])
        cursor = (answer.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
