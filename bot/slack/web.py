"""The HTTP side of `handoff serve`: Slack's requests at /slack/events, /healthz and /metrics."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.db import first_line

log = logging.getLogger("handoff.web")
EVENTS_PATH = "/slack/events"
HEALTH_SECONDS = 2.0


def web_app(
    *, engine: AsyncEngine, bolt: AsyncApp | None, inbound: web.Application | None = None
) -> web.Application:
    """/healthz and /metrics always; /slack/events when Slack talks to us over HTTP; the mail
    services' posts under /inbound/ when one is set up (bot/mail/webhooks.py)."""

    async def healthz(_: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_SECONDS), engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, said in one line
            return web.Response(status=503, text=f"database unreachable: {first_line(exc)}\n")
        return web.Response(text="ok\n")

    async def metrics_text(_: web.Request) -> web.Response:
        # Prometheus text format; aiohttp's content_type= refuses a charset, hence the header.
        body = await metrics.exposition(engine)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def events(request: web.Request) -> web.Response:
        assert bolt is not None
        # Bolt checks the signature and its timestamp (5 minutes), acks, and runs the listener.
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    if bolt is not None:
        app.router.add_post(EVENTS_PATH, events)
    if inbound is not None:
        app.add_subapp("/inbound/", inbound)
    return app


async def start_web(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Listen on host:port; the runner's cleanup() stops it."""
    # On the way out, requests under way get this long to be answered (Slack's are answered at
    # their acknowledgement, in milliseconds); then their connections are closed.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=3.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        from bot.config import ConfigError

        raise ConfigError(f"HANDOFF_PORT: cannot listen on {host}:{port}: {exc.strerror}") from None
    return runner
