"""A webhook receiver on loopback that checks every request as a customer's would: with the
Standard Webhooks reference library (`standardwebhooks`), given the `whsec_…` secret."""

# until() takes a timeout (ASYNC109) on purpose: each wait is a test's assertion.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.slackbot import until


@dataclass
class Answer:
    """How the receiver answers one request: a status, after a delay, or not until `release`."""

    status: int = 200
    retry_after: str | None = None
    delay: float = 0.0
    hold: asyncio.Event | None = None
    body: str = ""


@dataclass
class Got:
    webhook_id: str
    type: str
    data: dict[str, Any]
    verified: bool
    status: int  # what it was answered
    headers: dict[str, str] = field(repr=False)


class Receiver:
    """Records every request; answers 200 unless told otherwise (`plan`, `always`)."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.got: list[Got] = []
        self.arrived: list[str] = []  # webhook-ids as they came in, before any answer
        self.plan: deque[Answer] = deque()
        self.always: Answer | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self._take)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.arrived.append(headers.get("webhook-id", "?"))
        answer = self.plan.popleft() if self.plan else (self.always or Answer())
        if answer.hold is not None:
            await answer.hold.wait()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        verified = True
        try:
            message = Webhook(self.secret or "whsec_").verify(body, headers)
        except WebhookVerificationError:
            verified, message = False, json.loads(body)
        self.got.append(
            Got(
                webhook_id=headers.get("webhook-id", "?"),
                type=message["type"],
                data=message["data"],
                verified=verified,
                status=answer.status,
                headers=headers,
            )
        )
        extra = {"Retry-After": answer.retry_after} if answer.retry_after else {}
        return web.Response(status=answer.status, text=answer.body, headers=extra)

    def delivered(self) -> list[Got]:
        """What was accepted (answered 2xx), in the order answered."""
        return [g for g in self.got if 200 <= g.status < 300]

    async def until(self, what: str, check: Any, seconds: float = 20.0) -> Any:
        """Wait for check() to be true (or a coroutine returning it); fail saying `what`."""
        return await until(f"{what} (received: {[g.type for g in self.got]})", check, seconds)
