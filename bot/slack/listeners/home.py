"""App Home: a rep's open referrals with next steps; managers also see the queues."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.referrals import cards
from bot.referrals.actions import Refused
from bot.slack.services import Services
from bot.slack.views import home_view

log = logging.getLogger("handoff.slack")


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        try:
            actor = await services.roster.actor(user)
        except Refused:
            actor = None
        manager = actor is not None and actor.manager
        async with services.engine.connect() as conn:
            lists = await cards.home(conn, user=user, manager=manager, now=services.clock())
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
