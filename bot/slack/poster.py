"""The outbox's Slack handlers: post a referral, update its post in place, add thread lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Referral, utcnow
from bot.outbox import Defer, Handler, Job
from bot.referrals import cards
from bot.slack import once
from bot.slack.blocks import intro_post
from bot.slack.calls import slack_call
from bot.slack.thread import thread_line
from bot.vocabulary import JobKind

log = logging.getLogger("handoff.slack")
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


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
        key = {"ref": placed.card.ref}
        # A vanished worker, or a post Slack took although its answer went wrong: look first.
        found = await self._find(job, target, key) if _retried(job) else None
        if found is None:
            post = intro_post(placed.card, now=self.clock())
            answer = await slack_call(
                f"posting {placed.card.ref} to {target}",
                lambda: self.client.chat_postMessage(
                    channel=target,
                    text=post.text,
                    blocks=post.blocks,
                    metadata=once.metadata(key),
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
        key = {"event": job.event_id}
        what = f"{placed.card.ref}'s thread line for event #{job.event_id}"
        if _retried(job) and await once.earlier(
            self.client, channel=channel, thread_ts=ts, key=key, since=_since(job), what=what
        ):
            return f"slack: {what} was posted before"
        await slack_call(
            f"adding to {placed.card.ref}'s thread",
            lambda: self.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=line,
                metadata=once.metadata(key),
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
                answer = await slack_call(
                    f"looking up #{channel}",
                    partial(
                        self.client.conversations_list,
                        types="public_channel,private_channel",
                        exclude_archived=True,
                        limit=1000,
                        cursor=cursor,
                    ),
                )
                for entry in answer.get("channels") or ():
                    self._ids.setdefault(str(entry["name"]), str(entry["id"]))
                cursor = (answer.get("response_metadata") or {}).get("next_cursor")
                if channel in self._ids or not cursor:
                    break
        return self._ids.get(channel)

    async def _find(self, job: Job, channel: str, key: dict[str, Any]) -> tuple[str, str] | None:
        """Our earlier post with this key in the channel since the job was queued, if any."""
        channel_id = await self._channel_id(channel)
        if channel_id is None:
            return None  # no such channel: posting will say so
        ts = await once.earlier(
            self.client, channel=channel_id, key=key, since=_since(job), what=f"{key}"
        )
        return (channel_id, ts) if ts else None


def _retried(job: Job) -> bool:
    """An earlier attempt may have taken effect: its worker vanished, or its answer failed."""
    return job.uncertain or job.attempts > 1


def _since(job: Job) -> datetime:
    return job.created_at or utcnow() - timedelta(days=1)
