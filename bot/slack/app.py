"""The Slack app: one AsyncApp, its Web API client, and the listener groups registered on it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from bot.slack.listeners import claims, commands, home, logged, modals, reminders
from bot.slack.services import Services, acting_team

log = logging.getLogger("handoff.slack")


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL, and no retries of its own.

    slack_sdk would retry a call after a 5xx or a reset connection, and a write Slack had
    carried out would land twice; after a 429 it would sleep inside the call, holding the
    outbox's one worker. A failed call is the outbox's to retry, for that job alone, after
    looking whether it took effect (bot/slack/once.py).
    """
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN: not set (the app's Bot User OAuth Token, xoxb-…)")
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(settings.slack_timeout_seconds),
        retry_handlers=[],
    )


def build_app(
    settings: Settings, services: Services, *, answer_when_done: bool = False
) -> AsyncApp:
    """The AsyncApp with every listener group; HTTP requests must carry Slack's signature.

    Slack's requests are answered at their ack, the listener's work going on after it, unless
    `answer_when_done`: then each is answered once its listener has finished.
    """
    secret = settings.slack_signing_secret
    if not settings.socket_mode and secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET: not set; without SLACK_APP_TOKEN (Socket Mode) Handoff "
            "answers Slack over HTTP and must verify each request's signature"
        )
    app = AsyncApp(
        client=services.client,
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode messages come over our own authenticated connection, unsigned.
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("handoff.bolt"),
        process_before_response=answer_when_done,
    )

    async def provide_services(
        context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]
    ) -> None:
        # Bolt passes each key of the context to a listener that names it as an argument,
        # so listeners are plain module functions that ask for `services` like `ack`.
        context["services"] = services
        await next_()

    async def only_our_team(
        body: dict[str, Any], context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        # Slack Connect lets people of other workspaces into a shared channel: they see the
        # posts, but the referrals are ours to claim, so their clicks and commands stop here.
        # Bolt's authorization has read the installed workspace from auth.test (kept).
        installed = context.authorize_result
        team, enterprise = acting_team(body)
        if (
            installed is None
            or team in (None, installed.team_id)
            or (installed.enterprise_id is not None and enterprise == installed.enterprise_id)
        ):
            await next_()
            return None
        log.info("slack: a request from another workspace, %s, refused", team)
        text = "Handoff answers only members of the workspace it is installed in."
        return BoltResponse(status=200, body=text if body.get("command") else "")

    app.use(only_our_team)
    app.use(provide_services)
    for group in (claims, modals, home, commands, reminders, logged):
        group.register(app)
    return app
