"""App Home: a rep's open referrals with next steps; managers also see the queues."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.referrals import triage
from bot.referrals.acting import Refused
from bot.slack.services import Services
from bot.slack.views import TRIAGE_DISMISS, home_view

log = logging.getLogger("handoff.slack")


async def home_opened(event: dict[str, Any], services: Services) -> None:
    """Publish the user's App Home each time they open its Home tab."""
    if event.get("tab", "home") != "home":
        return
    await publish_home(services, event["user"])


async def dismiss_triage(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], services: Services
) -> None:
    """A manager's Dismiss on a message waiting in triage; the Home is published again."""
    await services.accept(ack, body)
    outcome = await services.act(
        body, triage.dismiss, channel=None, message_id=int(action["value"])
    )
    if outcome is not None:
        await publish_home(services, body["user"]["id"])


async def publish_home(services: Services, user: str) -> None:
    """The user's App Home as it is now (views.publish)."""
    try:
        actor = await services.roster.actor(user)
    except Refused:
        actor = None
    manager = actor is not None and actor.manager
    lists = await services.home(user=user, manager=manager)
    view = home_view(
        mine=lists.mine,
        unclaimed=lists.unclaimed,
        disputed=lists.disputed,
        manager=manager,
        now=services.clock(),
        totals=lists.totals,
        overdue=lists.overdue,
        overdue_total=lists.overdue_total,
        attention=lists.attention,
        triage=lists.triage,
        overlaps=lists.overlaps,
        attached=lists.attached,
        attached_total=lists.attached_total,
    )
    try:
        await services.client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("slack: App Home for %s not published: %s", user, exc.response.get("error"))


def register(app: AsyncApp) -> None:
    """The App Home tab, and its Dismiss buttons."""
    app.event("app_home_opened")(home_opened)
    app.action(re.compile(rf"^{TRIAGE_DISMISS}:"))(dismiss_triage)
