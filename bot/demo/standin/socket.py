"""Socket Mode as Slack runs it: apps.connections.open hands out a WebSocket URL, Slack says
`hello`, then sends envelopes the app acks by envelope_id (Slack's "Using Socket Mode")."""

# socket_send takes a timeout (ASYNC109) on purpose: each wait is a test's assertion.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.demo.standin.common import Args
from bot.demo.standin.identity import APP_ID


class SocketMode:
    """The stand-in's Socket Mode side; SlackStandIn sets up the state it uses."""

    _acks: dict[str, asyncio.Future[dict[str, Any]]]
    _sockets: list[web.WebSocketResponse]
    _port: int
    socket_connected: asyncio.Event

    async def socket_send(
        self, type_: str, payload: dict[str, Any], *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send a Socket Mode envelope to the connected client and return its ack."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        try:
            async with asyncio.timeout(timeout):
                await self.socket_connected.wait()
                await self._sockets[-1].send_json(envelope)
                return await ack
        except TimeoutError:
            state = "no ack" if self._sockets else "no Socket Mode client connected"
            raise AssertionError(
                f"{type_} envelope {envelope_id}: {state} after {timeout}s"
            ) from None
        finally:
            del self._acks[envelope_id]

    def _connections_open(self, args: Args) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/link?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping: answers the SDK's pings as Slack does
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connected.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._ack(json.loads(frame.data))
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.socket_connected.clear()
        return ws

    def _ack(self, message: dict[str, Any]) -> None:
        waiter = self._acks.get(message.get("envelope_id", ""))
        if waiter is not None and not waiter.done():
            waiter.set_result(message)
