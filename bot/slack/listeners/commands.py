"""/attribution: registered here so the manifest's command answers; reports come next."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.services import Services

HELP = (
    "*/attribution* will report what each partner brought and what became of it. "
    "The reports are not built yet; meanwhile `handoff referrals list --json` on the server "
    "lists every referral with its owner, role and stage."
)


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/attribution")
    async def attribution(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(response_type="ephemeral", text=HELP)
