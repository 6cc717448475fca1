"""The outbox's nudge handler: one nudge to one place, unless its cause is gone by then."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.models import JobKind, Nudge, NudgeKind, Partner, Referral, utcnow
from bot.nudges.due import gone
from bot.outbox import Defer, Handler, Job
from bot.referrals import cards
from bot.slack.poster import slack_call
from bot.slack.reminders import Quiet, inactive_post, nudge_post
from bot.text import format_duration

log = logging.getLogger("handoff.slack")
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]

# Nudges carry their id as message metadata, so that a retry whose first try Slack took
# (the answer lost on the way back) finds it instead of sending it twice.
METADATA_TYPE = "handoff_nudge"


class Nudger:
    """Sends recorded nudges; checks the cause again at sending time."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: AsyncWebClient,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {JobKind.SLACK_NUDGE: self.send}

    async def send(self, job: Job) -> str | None:
        now = self.clock()
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(nudge).where(nudge.c.id == job.nudge_id))).first()
            if row is None:
                return None
            if row.kind == NudgeKind.INACTIVE_PARTNERS:
                quiet = await self._still_quiet(conn, row.detail, now)
                if not quiet:
                    return f"slack: weekly partner note #{row.id} dropped: every partner is active"
                post = inactive_post(
                    quiet, now=now, after=format_duration(self.settings.inactive_after)
                )
                place = None
            else:
                state = (
                    await conn.execute(sa.select(referral).where(referral.c.id == row.referral_id))
                ).first()
                why = gone(
                    row.kind, cycle_at=row.cycle_at, level=row.level, target=job.target, row=state
                )
                if why:
                    return f"slack: {row.kind} nudge #{row.id} dropped: {why}"
                placed = await cards.placed(conn, referral_id=row.referral_id)
                assert placed is not None
                post = nudge_post(
                    row.kind,
                    row.level,
                    placed.card,
                    now=now,
                    channel=placed.channel,
                    rep_group=self.settings.rep_group,
                    overdue_every=format_duration(self.settings.overdue_every),
                )
                place = placed
        if job.target is None:
            assert place is not None
            if not place.channel or not place.ts:
                raise Defer(f"{place.card.ref} is not posted yet")
            channel, thread_ts = place.channel, place.ts
        else:
            channel, thread_ts = job.target, None
        metadata = {"nudge": row.id, "to": job.target or "thread"}
        if (job.uncertain or job.attempts > 1) and await self._sent_before(
            channel, thread_ts, metadata
        ):
            return f"slack: {row.kind} nudge #{row.id} was sent before"
        what = f"sending a {row.kind} nudge to {job.target or 'the thread'}"
        await slack_call(
            what,
            lambda: self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=post.text,
                blocks=post.blocks,
                metadata={"event_type": METADATA_TYPE, "event_payload": metadata},
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        ref = place.card.ref if place else "partners"
        return (
            f"slack: {row.kind} nudge (level {row.level}) on {ref} sent to {job.target or 'thread'}"
        )

    async def _still_quiet(
        self, conn: AsyncConnection, detail: str | None, now: datetime
    ) -> list[Quiet]:
        listed = json.loads(detail or "[]")
        ids = [p["id"] for p in listed]
        threshold = now - self.settings.inactive_after
        recent = set(
            (
                await conn.execute(
                    sa.select(referral.c.partner_id)
                    .where(referral.c.partner_id.in_(ids), referral.c.received_at > threshold)
                    .distinct()
                )
            ).scalars()
        )
        return [
            Quiet(
                name=p["name"],
                slug=p["slug"],
                last=datetime.fromisoformat(p["last"]) if p["last"] else None,
                registered=datetime.fromisoformat(p["registered"]),
            )
            for p in listed
            if p["id"] not in recent
        ]

    async def _sent_before(
        self, channel: str, thread_ts: str | None, metadata: dict[str, object]
    ) -> bool:
        """Whether Slack already shows this nudge (a retry after a lost answer)."""
        try:
            if thread_ts is not None:
                answer = await self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
                )
            else:
                opened = await self.client.conversations_open(users=channel)
                dm = str((opened.get("channel") or {}).get("id"))
                answer = await self.client.conversations_history(
                    channel=dm, limit=50, include_all_metadata=True
                )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack: cannot check for an earlier copy of a nudge: %s", exc)
            return False
        for message in answer.get("messages") or ():
            data = message.get("metadata") or {}
            if data.get("event_type") == METADATA_TYPE and data.get("event_payload") == metadata:
                return True
        return False
