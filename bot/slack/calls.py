"""One Slack Web API call, its failures turned into the outbox's Retry with Slack's own words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.outbox import Retry

# What an operator should do about Slack's refusals (api.slack.com/methods/chat.postMessage).
HINTS = {
    "channel_not_found": "create the channel or set HANDOFF_SLACK_CHANNEL (or the partner's)",
    "not_in_channel": "invite the Handoff app to the channel (/invite @Handoff)",
    "is_archived": "the channel is archived: unarchive it or set HANDOFF_SLACK_CHANNEL",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid for this workspace",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: reinstall the app and set the new token",
    "account_inactive": "SLACK_BOT_TOKEN belongs to a deleted app or user",
    "missing_scope": "the app lacks a scope: create it again from manifest.yml",
}
RATE_LIMIT_WAIT = 30.0  # when a 429 names no Retry-After


async def slack_call(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """One Web API call. A 429 delays only this job, by Slack's Retry-After; the client never
    retries by itself (a write it repeated blind could land twice: bot/slack/once.py)."""
    try:
        return await call()
    except SlackApiError as exc:
        response = exc.response
        status = response.status_code if response is not None else 0
        error = (response.get("error") if response is not None else None) or f"HTTP {status}"
        metrics.slack_error("ratelimited" if status == 429 else str(error))
        if status == 429:
            after = _retry_after(response.headers if response is not None else {})
            raise Retry(f"Slack rate-limits {what}; waiting {after:g}s", after=after) from None
        hint = HINTS.get(str(error))
        raise Retry(f"Slack refused {what}: {error}" + (f" ({hint})" if hint else "")) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        metrics.slack_error(type(exc).__name__)
        raise Retry(f"Slack unreachable for {what}: {type(exc).__name__}: {exc}") from None


def _retry_after(headers: Any) -> float:
    try:
        return max(1.0, float(headers.get("Retry-After", RATE_LIMIT_WAIT)))
    except (TypeError, ValueError):
        return RATE_LIMIT_WAIT
