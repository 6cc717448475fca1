"""The demo's world: Handoff's real service, a Slack stand-in, an SMTP inbox, a simulated clock.

Everything runs on this machine: the service is the one `handoff serve` runs (HTTP mode,
without its own timers), Slack's requests to it are signed as Slack signs them, and what the
service does to Slack and to partners' inboxes is drawn as it happens.
"""

from __future__ import annotations

import asyncio
import email
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from rich.console import Console
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.crm import records
from bot.db import open_database, session_factory
from bot.demo import screen
from bot.demo.cast import MAILBOX, PEOPLE, ZONE
from bot.demo.standin.hubspot import HubSpotStandIn
from bot.demo.standin.signing import (
    block_actions,
    message_action,
    signed_headers,
    slash_command,
    view_submission,
)
from bot.demo.standin.slack import SlackStandIn
from bot.demo.standin.smtp import SmtpServer
from bot.hubspot.setup import set_up
from bot.intake.pipeline import IngestResult, Intake
from bot.models import OutboxJob, utcnow
from bot.outboxes import hubspot_api, stage_map
from bot.referrals.directory import load_directory
from bot.wiring import Service

outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
SIGNING_SECRET = "demo-signing-secret-0123456789abcdef"
REF = re.compile(r"\b[A-Z][A-Z0-9]*-\d+\b")
STEP_SECONDS = 15.0  # a step that takes longer than this has hung: say so rather than wait


class Clock:
    """The simulated time every part of the demo reads; only the story moves it, forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def to(self, moment: datetime) -> None:
        self.now = max(self.now, moment.astimezone(UTC))


class _OnlyGiven(Settings):
    """Settings from the arguments alone: the operator's environment and .env stay out."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass
class World:
    """What a step of the story can do, and how it shows what followed."""

    console: Console
    clock: Clock
    engine: AsyncEngine
    service: Service
    slack: SlackStandIn
    smtp: SmtpServer
    hubspot: HubSpotStandIn
    settings: Settings
    http: aiohttp.ClientSession
    names: dict[str, str] = field(default_factory=dict)
    _labels: dict[str, str] = field(default_factory=dict)  # response URL -> where it shows
    _asked_in: str = ""
    _calls_seen: int = 0
    _responses_seen: int = 0
    _mail_seen: int = 0

    # --- the story's verbs -------------------------------------------------------------

    def at(self, moment: datetime, title: str) -> None:
        """Move the clock to `moment` and say what happens then."""
        self.clock.to(moment)
        local = self.clock().astimezone(ZONE)
        self.console.print()
        self.console.rule(
            Text.assemble((f"{local:%a %d %b %H:%M}", "bold cyan"), "  ", (title, "bold")),
            align="left",
            style="cyan",
        )

    def say(self, text: str) -> None:
        self.console.print(Text(text, style="dim"), overflow="fold")

    async def arrive(self, raw: bytes, kind: str, *, source: str) -> IngestResult:
        """An email reaches the partner mailbox now; intake takes it as the IMAP watcher would.

        RuntimeError unless intake makes of it the `kind` the story expects.
        """
        async with session_factory(self.engine)() as session:
            directory = await load_directory(
                session=session,
                internal_domains=self.settings.all_internal_domains,
                mailbox=MAILBOX,
                secret=self.settings.secret_bytes,
            )
        async with Intake.open(
            engine=self.engine,
            directory=directory,
            protection=timedelta(days=self.settings.protection_days),
        ) as intake:
            result = await intake.ingest(raw, arrival_at=self.clock(), source=source)
        self._wake()
        line = f"intake: {result.kind}"
        if result.answers:
            refs = ", ".join(answer["referral"] for answer in result.answers)
            line += f" → {refs} (answered inline)"
        elif result.referral:
            line += f" → {result.referral}"
        if result.conflict_with:
            line += f" (conflicts with {result.conflict_with})"
        if result.first_response:
            line += " (first response)"
        if result.reason and not result.referral:
            line += f": {result.reason}"
        self.console.print(Text(f"  ✉  {line}", style="green"))
        if result.kind != kind:
            raise RuntimeError(f"{source}: intake made it {result.kind}, not {kind}")
        await self.settle()
        return result

    async def click(
        self, user: str, action_id: str, ref: str, *, value: str | None = None, on: str = "post"
    ) -> None:
        """`user` clicks a button on `ref`'s post, on their latest DM about it (`on="dm"`), or
        on the answer they last got to a command (`on="answer"`)."""
        if on == "answer":
            _, answer = self.slack.responded[-1]
            channel, ts, message = self.slack.channels[self.settings.slack_channel], "", answer
            label = f"{self._asked_in}, only visible to {self.names[user]}"
        elif on == "dm":
            channel, ts, message = self._dm_about(user, ref)
            label = f"DM to {self.names[user]} (updated)"
        else:
            channel, ts = self._post_of(ref)
            message = self.slack.messages[channel, ts] | {"ts": ts}
            label = f"{self._where(channel, None)}: only visible to {self.names[user]}"
        url = self._response_url(label)
        body = block_actions(
            action_id,
            user=user,
            channel=channel,
            ts=ts,
            response_url=url,
            value=value or ref,
            message=message,
        )
        await self._send(body)
        await self.settle()

    async def submit(self, user: str, callback_id: str, ref: str, values: dict[str, Any]) -> None:
        """`user` fills a modal in and presses its submit button."""
        await self._send(view_submission(callback_id, ref, values, user=user))
        await self.settle()

    async def shortcut(self, user: str, callback_id: str, text: str) -> dict[str, Any]:
        """`user` writes `text` in the intro channel, then uses a message shortcut on it; the
        modal it opened (its view, as views.open got it)."""
        channel = self.slack.channels[self.settings.slack_channel]
        ts = self.slack.say(channel, user, text)
        self.console.print(
            screen.message(
                {"text": text}, where=f"#{self.settings.slack_channel}", names=self.names
            )
        )
        opened = len(self.slack.calls_to("views.open"))
        url = self._response_url(f"{self._where(channel, None)}: only visible to {user}")
        await self._send(
            message_action(
                callback_id,
                user=user,
                channel=channel,
                message_ts=ts,
                text=text,
                author=user,
                response_url=url,
            )
        )
        await self.settle()
        calls = self.slack.calls_to("views.open")
        if len(calls) <= opened:
            raise RuntimeError(f"the {callback_id} shortcut opened no modal")
        return dict(calls[-1]["view"])

    async def command(self, user: str, command: str, text: str) -> None:
        """`user` types a slash command in the intro channel."""
        channel = self.slack.channels[self.settings.slack_channel]
        self._asked_in = f"{command} {text}".strip()
        url = self._response_url(f"{self._asked_in}: only visible to {self.names[user]}")
        await self._send(slash_command(command, text, user=user, channel=channel, response_url=url))
        await self.settle()

    def last_answer(self) -> dict[str, Any]:
        """What the last command or click was answered with (through its response URL)."""
        return self.slack.responded[-1][1]

    async def crm_sync(self) -> None:
        """HubSpot's deals read back now, as `handoff serve` does every few minutes."""
        assert self.service.puller is not None
        await self.service.puller.once()
        await self.settle()

    def deal(self, ref: str) -> dict[str, Any]:
        """The referral's deal in HubSpot (the stand-in's record of it)."""
        found = self.hubspot.deal_by("handoff_ref", ref)
        if found is None:
            raise LookupError(f"no HubSpot deal for {ref}")
        return found

    async def sweeps(self, *names: str) -> None:
        """The scheduled sweeps run now, as `handoff serve`'s scheduler runs them."""
        assert self.service.scheduler is not None
        for name in names:
            await self.service.scheduler.run(name)
        await self.settle()

    def inbox(self) -> list[EmailMessage]:
        """Every email the partners' SMTP server received, oldest first."""
        return [
            email.message_from_bytes(d.raw, policy=policy.default)  # type: ignore[misc]
            for d in self.smtp.inbox.received
        ]

    # --- waiting and showing -------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until the service has done all it will for now, then draw what it did.

        A step's own work is over when it returns: intake has committed, the sweep has run,
        and Slack's request was answered after its listener finished (`answer_when_done`).
        What remains is the outbox: every job due by now, done.
        """
        deadline = time.monotonic() + STEP_SECONDS
        while await self._pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service is still busy after {STEP_SECONDS:.0f}s")
            self._wake()
            await asyncio.sleep(0.02)
        self._show()

    async def _pending(self) -> int:
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(
                outbox.c.done_at.is_(None), outbox.c.due_at <= self.clock()
            )
            return int((await conn.execute(query)).scalar_one())

    def _show(self) -> None:
        for call in self.slack.calls[self._calls_seen :]:
            if call.ok:
                self._show_call(call.method, call.args)
        self._calls_seen = len(self.slack.calls)
        for url, response in self.slack.responded[self._responses_seen :]:
            where = self._labels.get(url, "a reply")
            self.console.print(screen.message(response, where=where, names=self.names))
        self._responses_seen = len(self.slack.responded)
        for n, mail in enumerate(self.inbox()[self._mail_seen :]):
            self.console.print(screen.email(mail, lines=24 if n == 0 else 6))
        self._mail_seen = len(self.smtp.inbox.received)

    def _show_call(self, method: str, args: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            where = self._where(str(args.get("channel")), args.get("thread_ts"))
            self.console.print(screen.message(args, where=where, names=self.names))
        elif method == "chat.update":
            where = self._where(str(args.get("channel")), None) + ": the post, updated"
            self.console.print(screen.message(args, where=where, names=self.names, update=True))
        elif method == "chat.postEphemeral":
            who = self.names.get(str(args.get("user")), "")
            where = f"{self._where(str(args.get('channel')), None)}: only visible to {who}"
            self.console.print(screen.message(args, where=where, names=self.names))
        elif method == "views.open":
            title = args["view"].get("title", {}).get("text", "")
            self.console.print(Text(f"  ▢  a form opens: {title}", style="magenta"))

    def _where(self, channel: str, thread_ts: str | None) -> str:
        names = {v: k for k, v in self.slack.channels.items()}
        if channel in names or channel.lstrip("#") in self.slack.channels:
            place = "#" + names.get(channel, channel.lstrip("#"))
        elif channel.startswith("D") or channel in self.names:
            place = f"DM to {self.names.get(channel.removeprefix('D'), channel)}"
        else:
            place = channel
        if thread_ts:
            parent = self.slack.messages.get((self.slack.channel_id(channel), str(thread_ts)))
            ref = REF.search((parent or {}).get("text", ""))
            place += f", in the thread of {ref[0] if ref else 'a post'}"
        return place

    def _response_url(self, label: str) -> str:
        url = self.slack.response_url()
        self._labels[url] = label
        return url

    def _dm_about(self, user: str, ref: str) -> tuple[str, str, dict[str, Any]]:
        for message in reversed(self.slack.dms(user)):
            if ref in message.get("text", ""):
                return self.slack.dm(user), message["ts"], message
        raise LookupError(f"no DM to {user} about {ref}")

    def _post_of(self, ref: str) -> tuple[str, str]:
        for (channel, ts), message in self.slack.messages.items():
            if not message.get("thread_ts") and f" {ref} " in f" {message.get('text', '')} ":
                return channel, ts
        raise LookupError(f"{ref} has no post in Slack")

    async def _send(
        self, body: str, content_type: str = "application/x-www-form-urlencoded"
    ) -> None:
        url = f"http://127.0.0.1:{self.service.port}/slack/events"
        assert self.settings.slack_signing_secret is not None
        headers = signed_headers(body, self.settings.slack_signing_secret.get_secret_value())
        async with self.http.post(
            url, data=body.encode(), headers=headers | {"Content-Type": content_type}
        ) as answer:
            if answer.status != 200:
                raise RuntimeError(
                    f"Slack's request got HTTP {answer.status}: {await answer.text()}"
                )

    def _wake(self) -> None:
        for lane in (self.service.outbox, self.service.crm, self.service.webhooks):
            if lane is not None:
                lane.wake()


@asynccontextmanager
async def world(
    console: Console, folder: Path, start: datetime, options: dict[str, Any]
) -> AsyncIterator[World]:
    """Start the stand-ins and the service on a throwaway SQLite database in `folder`."""
    clock = Clock(start)
    slack = await SlackStandIn(token="xoxb-demo", clock=clock).start()
    for person in PEOPLE:
        slack.users[person.user] = {
            "id": person.user,
            "name": person.handle,
            "real_name": person.name,
            "tz": str(ZONE),
            "profile": {"display_name": person.name, "real_name": person.name},
        }
    smtp = SmtpServer().start()
    hubspot = await HubSpotStandIn(token="pat-na1-demo").start()
    given: dict[str, Any] = options | {
        "hubspot_token": hubspot.token,
        "hubspot_api_url": hubspot.url,
        "database_url": f"sqlite:///{folder}/handoff.db",
        "slack_bot_token": "xoxb-demo",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "smtp_url": smtp.url,
        "host": "127.0.0.1",
        "port": 0,
    }
    settings = _OnlyGiven(**given)
    http = aiohttp.ClientSession()
    try:
        async with open_database(settings.database_url) as engine:
            # `handoff hubspot setup`, as an operator runs it once.
            await set_up(hubspot_api(settings), stage_map(settings), settings.hubspot_pipeline)
            await records.mark_set_up(engine, utcnow())
            service = Service(settings, engine, clock=clock, schedule=False, answer_when_done=True)
            await service.start()
            try:
                names = {p.user: p.name for p in PEOPLE}
                names |= {id_: name for name, id_ in slack.channels.items()}
                yield World(
                    console, clock, engine, service, slack, smtp, hubspot, settings, http, names
                )
            finally:
                await service.stop()
    finally:
        await http.close()
        smtp.stop()
        await hubspot.close()
        await slack.close()
