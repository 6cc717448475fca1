"""What the listeners need, in one object: the database, the outbox, the roster, the clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.outbox import Outbox
from bot.referrals import cards, directory, pending
from bot.referrals.acting import Outcome, Refused
from bot.slack import attribution
from bot.slack.roster import Roster

log = logging.getLogger("handoff.slack")


@dataclass
class Services:
    engine: AsyncEngine
    client: AsyncWebClient
    outbox: Outbox
    roster: Roster
    clock: Callable[[], datetime]
    settings: Settings
    # Requests this process acknowledged and has not finished applying (SIGTERM waits).
    in_flight: set[str] = field(default_factory=set)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    async def accept(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], key: str | None = None
    ) -> str:
        """Write a state-changing request down, then acknowledge it: Slack never repeats a
        request it got an answer for, so from here it is applied even if this process dies
        (bot/referrals/pending.py). Returns its key."""
        key = key or request_key(body)
        self.in_flight.add(key)  # counted from here: SIGTERM waits for it
        self._idle.clear()
        try:
            await pending.keep(self.engine, key, body)
        except BaseException:
            self._forget(key)
            raise  # not written down, so not acknowledged: Slack shows the user an error
        await ack()
        return key

    async def settled(self, key: str, *, failed: BaseException | None = None) -> None:
        """The request was applied, refused or found applied: no replay needed. One that
        failed (the database away, the process stopping under it, a bug) stays kept and is
        applied again later (bot/slack/replay.py)."""
        try:
            if failed is None:
                await pending.done(self.engine, key)
        except Exception as exc:  # noqa: BLE001 - the replay will find it applied
            log.warning("slack: could not mark request %s applied: %s", key, exc)
        finally:
            self._forget(key)

    def _forget(self, key: str) -> None:
        self.in_flight.discard(key)
        if not self.in_flight:
            self._idle.set()

    async def drain(self, seconds: float) -> int:
        """Wait until every acknowledged request is applied, at most `seconds`; how many
        were left (kept: the next start applies them)."""
        if self.in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), seconds)
        return len(self.in_flight)

    async def act(
        self,
        body: dict[str, Any],
        action: Callable[..., Awaitable[Outcome]],
        *,
        channel: str | None,
        **fields: Any,
    ) -> Outcome | None:
        """Apply one bot.claims action for the user who sent `body`; a refusal or a note is
        told to them alone."""
        user = body["user"]["id"]
        key = request_key(body)
        try:
            actor = await self.roster.actor(user)
            outcome = await action(
                engine=self.engine, actor=actor, at=self.clock(), request=key, **fields
            )
        except Refused as exc:
            await self.settled(key)
            await self.tell(user=user, channel=channel, text=str(exc))
            return None
        except BaseException as exc:
            await self.settled(key, failed=exc)
            raise
        await self.settled(key)
        self.outbox.wake()
        if outcome.note:
            await self.tell(user=user, channel=channel, text=outcome.note)
        return outcome

    async def tell(self, *, user: str, channel: str | None, text: str) -> None:
        """An ephemeral answer in the channel where the user acted (else a DM from the app)."""
        try:
            if channel:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            else:
                await self.client.chat_postMessage(channel=user, text=text)
        except SlackApiError as exc:
            # Only the acting user would have seen it; the action itself stands or was refused.
            log.warning("slack: could not tell %s %r: %s", user, text, exc.response.get("error"))

    async def partner_choices(self) -> list[tuple[str, str]]:
        """Every partner as (slug, name), by name: the choices of the "log a referral" modal."""
        async with self.engine.connect() as conn:
            return await directory.choices(conn)

    async def card(self, ref: str) -> cards.Placed | None:
        """The referral's card and where it is posted; None if there is no such referral."""
        async with self.engine.connect() as conn:
            return await cards.placed(conn, ref=ref)

    async def home(self, *, user: str, manager: bool) -> cards.Home:
        """What the user's App Home lists: their open referrals; for managers the queues too."""
        async with self.engine.connect() as conn:
            return await cards.home(
                conn,
                user=user,
                manager=manager,
                now=self.clock(),
                attached_after=self.settings.attached_after,
            )

    async def report(
        self, asked: attribution.Asked, *, user: str, manager: bool
    ) -> attribution.Answer:
        """The /attribution answer to every form but `set` and `help`, as this user may see it."""
        async with self.engine.connect() as conn:
            return await attribution.build(
                conn, asked, user=user, manager=manager, now=self.clock(), settings=self.settings
            )


def acting_team(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The workspace and organisation of whoever sent a request, as Slack's payloads say it.

    Interactions carry the user's own team (`user.team_id`); a command its `team_id`; an event
    the sender's team when it differs from ours (`event.user_team`), else the envelope's.
    """
    user = body.get("user")
    event: dict[str, Any] = body["event"] if isinstance(body.get("event"), dict) else {}
    enterprise = body.get("enterprise")
    enterprise_id = body.get("enterprise_id") or (
        enterprise.get("id") if isinstance(enterprise, dict) else None
    )
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"]), user.get("enterprise_id") or enterprise_id
    if event.get("user_team"):
        return str(event["user_team"]), enterprise_id
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return (str(team) if team else None), enterprise_id


def request_key(body: dict[str, Any]) -> str:
    """Slack's identity of one user gesture, the same on every retry of its request."""
    user = body.get("user", {}).get("id", "")
    if body.get("type") == "view_submission":
        view = body.get("view", {})
        return f"view:{view.get('id')}:{view.get('hash')}:{user}"
    action = (body.get("actions") or [{}])[0]
    container = body.get("container", {})
    return f"action:{container.get('message_ts', '')}:{action.get('action_ts')}:{user}"
