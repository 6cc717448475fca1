"""`handoff serve` talking to the Slack stand-in, and Slack's signed requests to it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.demo.standin.signing import block_actions, event_callback, signed_headers, view_submission
from bot.demo.standin.slack import SlackStandIn
from bot.wiring import serve
from tests.support.ports import free_port

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret of the tests' Slack app


@dataclass
class Answer:
    status: int
    text: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Bot:
    """A running `handoff serve` and the Slack around it."""

    slack: SlackStandIn
    port: int
    http: aiohttp.ClientSession

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def send(
        self,
        body: str,
        *,
        headers: dict[str, str] | None = None,
        secret: str = SECRET,
        timestamp: int | None = None,
        retry: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Answer:
        """POST a body to /slack/events as Slack does: signed, unless headers are given."""
        sent = signed_headers(body, secret, timestamp=timestamp) if headers is None else headers
        sent = {**sent, "Content-Type": content_type}
        if retry is not None:
            sent["X-Slack-Retry-Num"] = str(retry)
            sent["X-Slack-Retry-Reason"] = "http_timeout"
        started = time.perf_counter()
        async with self.http.post(self.events_url, data=body.encode(), headers=sent) as response:
            text = await response.text()
        return Answer(response.status, text, time.perf_counter() - started)

    async def click(
        self,
        action_id: str,
        *,
        user: str,
        value: str | None = None,
        option: str | None = None,
        ref_post: dict[str, Any] | None = None,
        retry: int | None = None,
        body: str | None = None,
    ) -> Answer:
        """A block_actions request: a button (value) or a menu choice (option) on a post."""
        return await self.send(
            body
            or self.click_body(action_id, user=user, value=value, option=option, post=ref_post),
            retry=retry,
        )

    def click_body(
        self,
        action_id: str,
        *,
        user: str,
        value: str | None = None,
        option: str | None = None,
        post: dict[str, Any] | None = None,
    ) -> str:
        post = post or {}
        return block_actions(
            action_id,
            user=user,
            channel=post.get("channel", "C0INTROS"),
            ts=post.get("ts", "1.000100"),
            response_url=self.slack.response_url(),
            value=value,
            option=option,
        )

    async def submit(
        self, callback_id: str, ref: str, values: dict[str, Any], *, user: str
    ) -> Answer:
        """A view_submission request: a modal's Save with the given input values."""
        return await self.send(self.submit_body(callback_id, ref, values, user=user))

    def submit_body(self, callback_id: str, ref: str, values: dict[str, Any], *, user: str) -> str:
        return view_submission(callback_id, ref, values, user=user)

    async def event(self, event: dict[str, Any], *, retry: int | None = None) -> Answer:
        """An Events API callback, JSON as Slack sends it."""
        return await self.send(event_callback(event), retry=retry, content_type="application/json")

    async def up(self) -> bool:
        """Whether serve answers /healthz with 200 (a process started again, listening)."""
        try:
            async with self.http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def post_of(self, ref: str, *, seconds: float = 10.0) -> dict[str, Any]:
        """The channel message that carries `ref`, once the outbox posted it."""

        def find() -> dict[str, Any] | None:
            for (channel, ts), message in self.slack.messages.items():
                if not message.get("thread_ts") and ref in message.get("text", ""):
                    return {"channel": channel, "ts": ts, **message}
            return None

        return await self.until(f"{ref} to be posted", find, seconds)  # type: ignore[no-any-return]

    async def until(self, what: str, check: Any, seconds: float = 10.0) -> Any:
        """Wait for check() to return something truthy (it may be async), and return it."""
        return await until(what, check, seconds)


async def until(what: str, check: Any, seconds: float = 10.0) -> Any:
    """Wait for check() to return something truthy (it may be async), and return it."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def text_of(message: dict[str, Any]) -> str:
    """Everything a user reads in a message: its text and every text in its blocks."""
    return (
        message.get("text", "") + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)
    )


@asynccontextmanager
async def running_bot(engine: AsyncEngine, **overrides: Any) -> AsyncIterator[Bot]:
    """A stand-in Slack and `handoff serve` (HTTP mode) using it, stopped on the way out."""
    slack = await SlackStandIn().start()
    port = free_port()
    options: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.api_url,
        "port": port,
        "host": "127.0.0.1",
        "outbox_lease_seconds": 3,
        **overrides,
    }
    settings = load_settings(**options)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, engine, stop=stop))
    http = aiohttp.ClientSession()
    try:
        async with asyncio.timeout(10):
            while True:
                if task.done():
                    task.result()  # start-up failed: say why
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        yield Bot(slack, port, http)
    finally:
        stop.set()
        await http.close()
        try:
            await asyncio.wait_for(task, 30)
        finally:
            await slack.close()


def serve_env(db_url: str, slack: SlackStandIn, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HANDOFF_DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "HANDOFF_HOST": "127.0.0.1",
        "HANDOFF_PORT": str(free_port()),
        "HANDOFF_OUTBOX_LEASE_SECONDS": "2",
        **extra,
    }


def start_serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env)
