"""The outbox's Slack handlers: post a referral, update its post in place, add thread lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.models import JobKind, Referral, utcnow
from bot.outbox import Defer, Handler, Job, Retry
from bot.referrals import cards
from bot.slack.blocks import intro_post, thread_line

log = logging.getLogger("handoff.slack")
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

# Posts carry their ref as message metadata (api.slack.com/metadata), so that a worker that
# vanished between Slack's answer and our commit is found out instead of posting twice.
METADATA_TYPE = "handoff_referral"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

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


async def slack_call(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """One Web API call, its failures turned into the outbox's Retry with Slack's own words."""
    try:
        return await call()
    except SlackApiError as exc:
        response = exc.response
        status = response.status_code if response is not None else 0
        error = (response.get("error") if response is not None else None) or f"HTTP {status}"
        metrics.slack_error("ratelimited" if status == 429 else str(error))
        if status == 429:
            after = float(response.headers.get("Retry-After", 30)) if response else 30.0
            raise Retry(f"Slack rate-limits {what}; waiting {after:g}s", after=after) from None
        hint = HINTS.get(str(error))
        raise Retry(f"Slack refused {what}: {error}" + (f" ({hint})" if hint else "")) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        metrics.slack_error(type(exc).__name__)
        raise Retry(f"Slack unreachable for {what}: {type(exc).__name__}: {exc}") from None


class Poster:
    """Renders referrals into their Slack posts; every call is idempotent or checked."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: AsyncWebClient,
        *,
        channel: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.channel = channel
        self.clock = clock
        self._ids: dict[str, str] = {}  # channel names as configured -> the ids Slack answered

    def handlers(self) -> dict[str, Handler]:
        return {
            JobKind.SLACK_POST: self.post,
            JobKind.SLACK_UPDATE: self.update,
            JobKind.SLACK_THREAD: self.thread,
        }

    async def _placed(self, job: Job) -> cards.Placed | None:
        async with self.engine.connect() as conn:
            return await cards.placed(conn, referral_id=job.referral_id)

    async def post(self, job: Job) -> str | None:
        """A new referral in its channel; the channel id and ts are kept for updates."""
        placed = await self._placed(job)
        if placed is None or placed.ts:
            return None  # posted already (by a worker that died before marking the job done)
        target = placed.partner_channel or self.channel
        # A vanished worker, or a post Slack took whose ts we then failed to store: look first.
        retried = job.uncertain or job.attempts > 1
        found = await self._find(target, placed.card.ref) if retried else None
        if found is None:
            post = intro_post(placed.card, now=self.clock())
            answer = await slack_call(
                f"posting {placed.card.ref} to {target}",
                lambda: self.client.chat_postMessage(
                    channel=target,
                    text=post.text,
                    blocks=post.blocks,
                    metadata={
                        "event_type": METADATA_TYPE,
                        "event_payload": {"ref": placed.card.ref},
                    },
                    unfurl_links=False,
                    unfurl_media=False,
                ),
            )
            found = (str(answer["channel"]), str(answer["ts"]))
            self._ids[target] = found[0]
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(referral)
                .where(referral.c.id == placed.id, referral.c.slack_ts.is_(None))
                .values(slack_channel=found[0], slack_ts=found[1])
            )
        return f"slack: posted {placed.card.ref} to {target} ({found[0]} {found[1]})"

    async def update(self, job: Job) -> str | None:
        """The post re-rendered from the referral as it is now (so updates commute)."""
        placed = await self._placed(job)
        if placed is None:
            return None
        channel, ts = placed.channel, placed.ts
        if not ts or not channel:
            raise Defer(f"{placed.card.ref} is not posted yet")
        post = intro_post(placed.card, now=self.clock())
        await slack_call(
            f"updating {placed.card.ref}",
            lambda: self.client.chat_update(
                channel=channel, ts=ts, text=post.text, blocks=post.blocks
            ),
        )
        return None

    async def thread(self, job: Job) -> str | None:
        """One event of the referral's timeline, in its post's thread."""
        placed = await self._placed(job)
        if placed is None or job.event_id is None:
            return None
        channel, ts = placed.channel, placed.ts
        if not ts or not channel:
            raise Defer(f"{placed.card.ref} is not posted yet")
        async with self.engine.connect() as conn:
            event = await cards.thread_event(conn, job.event_id)
        if event is None:
            return None
        line = thread_line(event.kind, event.actor, event.detail, owner=placed.card.owner)
        await slack_call(
            f"adding to {placed.card.ref}'s thread",
            lambda: self.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=line,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return None

    async def _channel_id(self, channel: str) -> str | None:
        """A channel's id: configured as one, answered by an earlier post, or looked up."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._ids:
            cursor = None
            while True:
                answer = await self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor,
                )
                for entry in answer.get("channels") or ():
                    self._ids.setdefault(str(entry["name"]), str(entry["id"]))
                cursor = (answer.get("response_metadata") or {}).get("next_cursor")
                if channel in self._ids or not cursor:
                    break
        return self._ids.get(channel)

    async def _find(self, channel: str, ref: str) -> tuple[str, str] | None:
        """Our earlier post of `ref` in the channel's recent history, if Slack has it."""
        try:
            channel_id = await self._channel_id(channel)
            if channel_id is None:
                return None  # no such channel: posting will say so
            answer = await self.client.conversations_history(
                channel=channel_id, limit=200, include_all_metadata=True
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack: cannot check %s for an earlier post of %s: %s", channel, ref, exc)
            return None
        for message in answer.get("messages") or ():
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_TYPE
                and (metadata.get("event_payload") or {}).get("ref") == ref
            ):
                return channel_id, str(message["ts"])
        return None
