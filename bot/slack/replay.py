"""Applying again what Slack was told we took: requests a stopped or killed process
acknowledged and did not finish (bot/referrals/pending.py), through the same listeners."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import first_line
from bot.referrals import pending

log = logging.getLogger("handoff.slack")
EVERY = 5.0  # seconds between looks
# A request kept this long ago is no longer being applied by a live process (its listener
# takes milliseconds; one that took this long has died or been cut off).
LEFT_BEHIND = timedelta(seconds=10)


async def replay_forever(
    app: AsyncApp, engine: AsyncEngine, *, every: float = EVERY, older_than: timedelta = LEFT_BEHIND
) -> None:
    """Look now and then for requests left behind, and apply each again (a request applied
    before is recognised by its key, so a replay never applies one twice)."""
    while True:
        try:
            for left in await pending.left_behind(engine, older_than=older_than):
                log.info("slack: applying request %s again (acknowledged, not applied)", left.key)
                # As Socket Mode delivers it: already authenticated, so not signed again.
                await app.async_dispatch(AsyncBoltRequest(body=left.body, mode="socket_mode"))
        except Exception as exc:  # noqa: BLE001 - the next look tries again; serve goes on
            log.warning("slack: could not replay requests left behind: %s", first_line(exc))
        await asyncio.sleep(every)
