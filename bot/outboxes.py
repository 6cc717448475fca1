"""The outbox's lanes and what carries each kind of job out: the one place that says which
handler does what. `serve` and the commands that deliver before they exit (`jobs run`,
`digest send`, `hubspot sync`) build their outboxes with `wire_outbox`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.crm.stages import StageMap
from bot.digests.notices import Notices
from bot.digests.partner_mail import PartnerMail, no_mail
from bot.hubspot.api import HubSpot
from bot.hubspot.push import Pusher
from bot.mail.outgoing import Postman
from bot.mail.smtp import Mailer
from bot.models import utcnow
from bot.outbox import Handler, Outbox
from bot.slack.app import web_client
from bot.slack.links import permalinks
from bot.slack.nudges import Nudger
from bot.slack.people import People
from bot.slack.poster import Poster
from bot.slack.roster import Roster
from bot.vocabulary import JobKind
from bot.webhooks.sending import Policy, Sender


@dataclass
class Wires:
    """The outbox and what its handlers were built on, for those that run beside it."""

    people: People  # names, time zones and managers, from Slack when it is wired
    outbox: Outbox | None = None  # None when nothing is wired: no job could be carried out
    webhooks: Outbox | None = None  # webhook deliveries, in a lane of their own
    sender: Sender | None = None
    crm: Outbox | None = None  # HubSpot deal updates, in a lane of their own
    hubspot: HubSpot | None = None
    stages: StageMap | None = None
    client: AsyncWebClient | None = None
    roster: Roster | None = None
    mailer: Mailer | None = None

    async def aclose(self) -> None:
        """Close the SMTP connection and the webhooks' HTTP client, if opened."""
        if self.mailer is not None:
            await self.mailer.close()
        if self.sender is not None:
            await self.sender.aclose()


def hubspot_api(settings: Settings) -> HubSpot:
    """HubSpot's API for HANDOFF_HUBSPOT_TOKEN at HUBSPOT_API_URL."""
    if settings.hubspot_token is None:
        raise ConfigError("HANDOFF_HUBSPOT_TOKEN: not set (the private app's access token)")
    return HubSpot(settings.hubspot_token.get_secret_value(), settings.hubspot_api_url)


def stage_map(settings: Settings) -> StageMap:
    """HANDOFF_HUBSPOT_STAGES, read; ConfigError naming what is wrong."""
    try:
        return StageMap.parse(settings.hubspot_stages)
    except ValueError as exc:
        raise ConfigError(f"HANDOFF_HUBSPOT_STAGES: {exc}") from None


def wire_outbox(
    settings: Settings,
    engine: AsyncEngine,
    *,
    slack: bool = True,
    mail: bool = True,
    webhooks: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> Wires:
    """The outbox with a handler for each job kind the configured wires carry out: Slack posts
    and nudges with SLACK_BOT_TOKEN, partner email and stage notices with HANDOFF_SMTP_URL.

    `slack=False` or `mail=False` leaves that wire out although configured, for a command that
    sends through the other one only; `webhooks=True` adds the webhooks' lane (serve). Nothing
    connects until a job is carried out.
    """
    handlers: dict[str, Handler] = {}
    wires = Wires(people=People(engine, None, None, clock=clock))  # names from the cache
    if not slack and settings.slack_bot_token is not None:
        # Sending through the other wire only, but naming people as Slack does (the digest's
        # owner): users.info, read-only.
        wires.people = People(engine, web_client(settings), None, clock=clock)
    if slack and settings.slack_bot_token is not None:
        client = wires.client = web_client(settings)
        poster = Poster(engine, client, channel=settings.slack_channel, clock=clock)
        roster = wires.roster = Roster(
            client, rep_group=settings.rep_group, managers=settings.managers
        )
        nudger = Nudger(engine, client, settings, roster=roster, clock=clock)
        handlers |= poster.handlers() | nudger.handlers()
        wires.people = People(engine, client, roster, clock=clock)
    if mail and settings.smtp is not None:
        settings.mail_ready()
        mailer = wires.mailer = Mailer(settings.smtp)
        handlers |= Postman(engine, mailer, settings).handlers()
        handlers |= Notices(engine, settings, wires.people).handlers()
        handlers |= PartnerMail(engine, settings, wires.people).handlers()
    elif mail:
        # Receipts are on by default: without SMTP they are let go, not kept waiting forever.
        handlers[JobKind.PARTNER_MAIL] = no_mail
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    if handlers:
        wires.outbox = Outbox(engine, handlers, lease=lease, clock=clock)
    if settings.hubspot_token is not None:
        api = wires.hubspot = hubspot_api(settings)
        stages = wires.stages = stage_map(settings)
        permalink = permalinks(wires.client) if wires.client is not None else None
        pusher = Pusher(
            engine,
            api,
            stages,
            pipeline=settings.hubspot_pipeline,
            currency=settings.currency,
            permalink=permalink,
            profiles=wires.people.names if wires.client is not None else None,
            clock=clock,
        )
        wires.crm = Outbox(engine, pusher.handlers(), lease=lease, clock=clock, name="hubspot")
        if wires.outbox is not None:
            wires.outbox.also_wakes(wires.crm)
    if webhooks:
        sender = wires.sender = Sender(engine, Policy.of(settings), clock=clock)
        wires.webhooks = sender.lane(lease=lease, workers=settings.webhook_workers)
        if wires.outbox is not None:
            wires.outbox.also_wakes(wires.webhooks)
    return wires
