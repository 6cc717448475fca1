"""`handoff serve`: the long-running process. For now the IMAP watchers; Slack joins later."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.mail.imap import ImapRefused
from bot.mail.watcher import FolderWatcher, Observer, WatchSettings

log = logging.getLogger("handoff")


def watch_settings(settings: Settings) -> WatchSettings:
    return WatchSettings(
        poll_seconds=settings.imap_poll_seconds,
        idle_seconds=settings.imap_idle_seconds,
        timeout=settings.imap_timeout_seconds,
        move_to=settings.imap_move_to,
        internal_domains=settings.all_internal_domains,
        partner_mailbox=settings.partner_mailbox,
        protection=timedelta(days=settings.protection_days),
    )


async def serve(
    settings: Settings,
    engine: AsyncEngine,
    *,
    stop: asyncio.Event | None = None,
    observer: Observer | None = None,
) -> int:
    """Check every mailbox, then watch them all until SIGTERM or SIGINT (or `stop`)."""
    targets = settings.imap_targets
    if not targets:
        raise ConfigError(
            "HANDOFF_IMAP_URL: not set, so there is nothing to watch "
            "(e.g. imaps://partners%40ours.example:app-password@imap.example.com/INBOX)"
        )
    options = watch_settings(settings)
    watchers = [
        FolderWatcher(t, engine=engine, settings=options, observer=observer) for t in targets
    ]
    try:
        await asyncio.gather(*(w.check() for w in watchers))
    except ImapRefused as exc:
        raise ConfigError(str(exc)) from None
    stop = stop or _stop_on_signals()
    tasks = [asyncio.create_task(w.run(), name=w.name) for w in watchers]
    log.info("watching %d folder(s): %s", len(watchers), ", ".join(t.key for t in targets))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    stopping.cancel()
    log.info("stopped")
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
