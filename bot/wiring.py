"""`handoff serve`: Slack, the IMAP watchers, the outbox, the sweeps and /healthz on one loop.

The outbox's lanes and their handlers are wired in bot/outboxes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.crm.records import sync_row
from bot.digests.sweep import Digests
from bot.hubspot.pull import Puller
from bot.intake.arrivals import Arrivals
from bot.intake.pipeline import IngestResult
from bot.mail.imap import ImapRefused
from bot.mail.lmtp import Delivery, LmtpServer
from bot.mail.watcher import FolderWatcher, Observer, WatchSettings
from bot.mail.webhooks import inbound_app
from bot.models import utcnow
from bot.nudges.sweeps import Sweeper
from bot.outbox import Outbox
from bot.outboxes import wire_outbox
from bot.retention.prune import daily
from bot.scheduler import Scheduler
from bot.signals import early_stop
from bot.slack.app import build_app
from bot.slack.calls import HINTS
from bot.slack.replay import replay_forever
from bot.slack.services import Services
from bot.slack.web import start_web, web_app
from bot.text import format_duration

log = logging.getLogger("handoff")
STOP_SECONDS = 10.0  # what one part may take to stop
STOP_BUDGET = 25.0  # what stopping may take in all: within a 30-second grace period (Kubernetes)


def watch_settings(settings: Settings) -> WatchSettings:
    return WatchSettings(
        poll_seconds=settings.imap_poll_seconds,
        idle_seconds=settings.imap_idle_seconds,
        timeout=settings.imap_timeout_seconds,
        move_to=settings.imap_move_to,
        unfetchable_retry_seconds=settings.imap_unfetchable_retry_seconds,
        internal_domains=settings.all_internal_domains,
        partner_mailbox=settings.partner_mailbox,
        protection=timedelta(days=settings.protection_days),
        secret=settings.secret_bytes,
        authserv_id=settings.trusted_authserv_id,
    )


async def check_slack(client: AsyncWebClient) -> str:
    """auth.test: a wrong token stops start-up; Slack unreachable only delays the posts."""
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") if exc.response is not None else exc)
        if error in HINTS:
            raise ConfigError(f"SLACK_BOT_TOKEN: Slack says {error} ({HINTS[error]})") from None
        log.warning("slack: auth.test failed (%s); posts wait in the outbox", error)
        return "?"
    except (OSError, TimeoutError) as exc:
        log.warning("slack: unreachable (%s); posts wait in the outbox", exc)
        return "?"
    return f"{answer.get('user', '?')} in {answer.get('team', '?')}"


class Service:
    """Every part `handoff serve` runs, built from the settings, started and stopped together.

    `schedule=False` leaves the sweeps to whoever holds the service (`handoff demo` runs them
    by its simulated clock through `scheduler.run`). `answer_when_done=True` answers each
    Slack request once its listener has finished rather than at its ack, so that whoever sent
    it knows every effect of the request has happened when the answer comes (the demo).
    """

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        *,
        observer: Observer | None = None,
        clock: Callable[[], datetime] = utcnow,
        schedule: bool = True,
        answer_when_done: bool = False,
    ) -> None:
        takes_mail = (
            settings.lmtp
            or settings.mailgun_signing_key
            or (settings.sendgrid_basic_auth or settings.postmark_basic_auth)
        )
        if not settings.imap_targets and settings.slack_bot_token is None and not takes_mail:
            raise ConfigError(
                "SLACK_BOT_TOKEN, HANDOFF_IMAP_URL and HANDOFF_LMTP_LISTEN: none is set, so there "
                "is nothing to serve (see README, quick start)"
            )
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.schedule = schedule
        self.answer_when_done = answer_when_done
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.outbox: Outbox | None = None
        self.webhooks: Outbox | None = None
        self.crm: Outbox | None = None
        self.puller: Puller | None = None  # HubSpot's deals read back
        self.scheduler: Scheduler | None = None
        self.services: Services | None = None
        self._listening: list[Callable[[], Awaitable[None]]] = []  # stop taking Slack requests
        self._observer = observer
        self.lmtp: LmtpServer | None = None  # taking mail by LMTP, once started
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self._started = False
        self.port = settings.port  # the port listened on, once started (0: a free one)

    async def start(self) -> None:
        """Build and start every configured part; on a failure, stop what had started."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings, engine, clock = self.settings, self.engine, self.clock
        bolt = None
        socket = None
        wires = wire_outbox(settings, engine, webhooks=True, clock=clock)
        self._cleanups.append(wires.aclose)
        outbox = self.outbox = wires.outbox
        lane = self.webhooks = wires.webhooks
        self.crm = wires.crm
        sweeper = None
        if wires.client is not None:
            sweeper = Sweeper(engine, settings, wires.people, clock=clock)
        digests = None
        if settings.smtp is not None:
            digests = Digests(engine, settings, wires.people, clock=clock)
            log.info("mail: sending through %s as %s", settings.smtp.shown, settings.sender)
        if outbox is not None and (sweeper is not None or digests is not None):
            self.scheduler = Scheduler(sweeper, settings, on_sent=outbox.wake, digests=digests)
        if wires.client is not None:
            assert outbox is not None and wires.roster is not None
            client = wires.client
            services = self.services = Services(
                engine, client, outbox, wires.roster, clock, settings
            )
            bolt = build_app(settings, services, answer_when_done=self.answer_when_done)
            who = await check_slack(client)
            if settings.socket_mode:
                from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

                assert settings.slack_app_token is not None
                socket = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
            log.info(
                "slack: %s, %s, posting to %s",
                who,
                "Socket Mode" if socket else f"HTTP on :{settings.port}/slack/events",
                settings.slack_channel,
            )

        targets = settings.imap_targets
        watch = watch_settings(settings)
        observer = _also(self._observer, outbox or lane)
        watchers = [
            FolderWatcher(t, engine=engine, settings=watch, observer=observer) for t in targets
        ]
        try:
            await asyncio.gather(*(w.check() for w in watchers))
        except ImapRefused as exc:
            raise ConfigError(str(exc)) from None

        arrivals = Arrivals(engine, settings, observer)  # mail handed to us: LMTP, webhooks
        if settings.lmtp is not None:
            delivery = Delivery(arrivals)
            lmtp = self.lmtp = LmtpServer(
                settings.lmtp, delivery, max_bytes=settings.lmtp_max_bytes
            )
            try:
                await lmtp.start()
            except OSError as exc:
                raise ConfigError(
                    f"HANDOFF_LMTP_LISTEN: cannot listen on {settings.lmtp.shown}: "
                    f"{exc.strerror or exc}"
                ) from None
            self._listening.append(lmtp.stop)

        runner = await start_web(
            web_app(
                engine=engine,
                bolt=None if socket else bolt,
                inbound=inbound_app(arrivals, settings),
            ),
            host=settings.host,
            port=settings.port,
        )
        # Stopped first on the way out, before the drain: the web server (Slack's requests,
        # /healthz) waits for the requests it took to be answered.
        self._listening.append(runner.cleanup)
        self.port = runner.addresses[0][1]
        if socket is not None:
            await socket.connect_async()
            self._cleanups.append(socket.close_async)
            self._listening.append(socket.disconnect_async)
        if bolt is not None:
            self.tasks["replay"] = asyncio.create_task(
                replay_forever(bolt, engine), name="slack replay"
            )
        if outbox is not None:
            self.tasks["outbox"] = asyncio.create_task(outbox.run(), name="outbox")
        if lane is not None:
            self.tasks["webhooks"] = asyncio.create_task(lane.run(), name="webhooks")
        if self.crm is not None:
            self.tasks["hubspot"] = asyncio.create_task(self.crm.run(), name="hubspot")
        if wires.hubspot is not None and wires.stages is not None:
            self.puller = Puller(
                engine,
                wires.hubspot,
                wires.stages,
                every=settings.hubspot_sync_every,
                currency=settings.currency,
                clock=clock,
            )
        elif await crm_set_up(engine):
            log.warning(
                "hubspot: set up here, but HANDOFF_HUBSPOT_TOKEN is not set: deal updates wait "
                "in the outbox, and HubSpot's changes are not read"
            )
        if self.puller is not None and self.schedule:
            self.tasks["hubspot-sync"] = asyncio.create_task(
                self.puller.forever(), name="hubspot-sync"
            )
            log.info(
                "hubspot: deals at %s, read back every %s",
                settings.hubspot_api_url,
                format_duration(settings.hubspot_sync_every),
            )
        if self.scheduler is not None and self.schedule:
            self.scheduler.start()
        if settings.retention_days and self.schedule:
            keep = timedelta(days=settings.retention_days)
            self.tasks["prune"] = asyncio.create_task(daily(engine, older_than=keep), name="prune")
        for w in watchers:
            self.tasks[w.name] = asyncio.create_task(w.run(), name=w.name)
        if watchers:
            log.info("watching %d folder(s): %s", len(watchers), ", ".join(t.key for t in targets))
        if (watchers or self.lmtp is not None) and settings.trusted_authserv_id is None:
            log.warning(
                "HANDOFF_TRUSTED_AUTHSERV_ID not set: a sender's From is believed as written "
                "(set it to your receiving server's authserv-id to require DMARC, SPF or DKIM)"
            )
        self._started = True

    async def wait(self, stop: asyncio.Event) -> None:
        """Until `stop` is set or a part ends (a watcher or the outbox only ends by failing)."""
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *self.tasks.values()], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()

    async def stop(self) -> None:
        """Let the work under way finish (a hung part is cut off after STOP_SECONDS, and all of
        it after STOP_BUDGET), then close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_BUDGET

        def budget() -> float:
            return max(0.1, min(STOP_SECONDS, deadline - loop.time()))

        # Slack first: take no new request, and apply those acknowledged already; what is
        # still unapplied then stays kept, for the next start.
        while self._listening:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.pop()(), budget())
        if self.services is not None:
            left = await self.services.drain(budget())
            if left:
                log.warning("slack: %d acknowledged request(s) left for the next start", left)
        if self.scheduler is not None:
            await self.scheduler.stop(budget())  # a sweep under way commits whole or not at all
        lanes = {"outbox": self.outbox, "webhooks": self.webhooks, "hubspot": self.crm}
        running = [
            self.tasks[n] for n, lane in lanes.items() if lane is not None and n in self.tasks
        ]
        if running:
            # A post under way is finished, so that its ts is kept; a hung one is cut off and
            # its job taken up again after the lease.
            for lane in lanes.values():
                if lane is not None:
                    lane.stop()
            await asyncio.wait(running, timeout=budget())
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        while self._cleanups:
            await self._cleanups.pop()()
        if self._started:
            log.info("stopped")
        self._started = False

    def failure(self) -> BaseException | None:
        """The exception a part ended with, if one did."""
        for task in self.tasks.values():
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None


async def crm_set_up(engine: AsyncEngine) -> bool:
    """Whether `handoff hubspot setup` ran against this database (False when it cannot be
    asked now: this is a warning at start, never a reason not to start)."""
    try:
        return await sync_row(engine) is not None
    except (OSError, sa.exc.SQLAlchemyError):
        return False


async def serve(
    settings: Settings,
    engine: AsyncEngine,
    *,
    stop: asyncio.Event | None = None,
    observer: Observer | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Start every configured part, then run until SIGTERM or SIGINT (or `stop`)."""
    # Listening for SIGTERM before starting: one that comes while serve starts stops it as
    # soon as it has started (cleanly), rather than killing it half-way.
    stop = stop or _stop_on_signals()
    service = Service(settings, engine, observer=observer, clock=clock)
    await service.start()
    try:
        await service.wait(stop)
    finally:
        await service.stop()
    failure = service.failure()
    if failure is not None:
        raise failure
    return 0


def _also(observer: Observer | None, outbox: Outbox | None) -> Observer | None:
    """The watcher's observer, plus waking the outbox when intake committed something."""
    if outbox is None:
        return observer

    def observe(results: list[IngestResult]) -> None:
        outbox.wake()
        if observer is not None:
            observer(results)

    return observe


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if early_stop.is_set():  # asked to stop while starting (bot/signals.py)
        stop.set()
    return stop
