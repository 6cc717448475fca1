"""App Home: a rep's open referrals with next steps; managers also see the queues."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.referrals.acting import Refused
from bot.slack.services import Services
from bot.slack.views import home_view

log = logging.getLogger("handoff.slack")


async def home_opened(event: dict[str, Any], services: Services) -> None:
    """Publish the user's App Home each time they open its Home tab."""
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
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
    )
    try:
        await services.client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("slack: App Home for %s not published: %s", user, exc.response.get("error"))


def register(app: AsyncApp) -> None:
    """The App Home tab."""
    app.event("app_home_opened")(home_opened)
