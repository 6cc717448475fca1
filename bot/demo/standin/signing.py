"""Requests to the bot as Slack sends them: signed, in the shapes of Slack's payloads."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.demo.standin.identity import APP_ID, TEAM_ID


def signed_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers that sign `body` the way Slack signs the requests it sends."""
    # https://api.slack.com/authentication/verifying-requests-from-slack
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def form_body(payload: dict[str, Any]) -> str:
    """An interactivity request body: the payload as JSON in a `payload` form field."""
    return urlencode({"payload": json.dumps(payload)})


def command_body(**fields: str) -> str:
    """A slash command request body: the fields form-encoded."""
    return urlencode(fields)


_ids = itertools.count(1)
TEAM = {"id": TEAM_ID, "domain": "standin"}


def _user(user: str, team: str = TEAM_ID) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "team_id": team}


def block_actions(
    action_id: str,
    *,
    user: str,
    channel: str,
    ts: str,
    response_url: str,
    value: str | None = None,
    option: str | None = None,
    message: dict[str, Any] | None = None,
    team: str = TEAM_ID,
) -> str:
    """A click on a message's button (`value`) or overflow menu (`option`), form-encoded.

    `message` is the message clicked on, as Slack includes it; else only its ts. `team` is the
    clicking user's own workspace (another one's for a Slack Connect guest).
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": "actions",
        "action_ts": f"{time.time():.6f}{next(_ids)}",
    }
    if option is not None:
        action.update(type="overflow", selected_option={"value": option})
    else:
        action.update(type="button", value=value)
    payload = {
        "type": "block_actions",
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "trigger_id": f"{next(_ids)}.42.abcdef",
        "team": TEAM,
        "channel": {"id": channel, "name": "partner-intros"},
        "message": message or {"ts": ts, "text": ""},
        "response_url": response_url,
        "actions": [action],
    }
    return form_body(payload)


def view_submission(
    callback_id: str,
    private_metadata: str,
    values: dict[str, Any],
    *,
    user: str,
    team: str = TEAM_ID,
) -> str:
    """A modal's Save with the given input values, form-encoded."""
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"{next(_ids)}.42.abcdef",
        "view": {
            "id": f"V{next(_ids)}",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "hash": f"{time.time():.6f}",
            "state": {"values": values},
        },
    }
    return form_body(payload)


def message_action(
    callback_id: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    text: str,
    author: str,
    response_url: str,
    team: str = TEAM_ID,
) -> str:
    """A message shortcut used on a message, form-encoded as Slack sends it."""
    # https://docs.slack.dev/reference/interaction-payloads/shortcuts-interaction-payload
    payload = {
        "type": "message_action",
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": TEAM,
        "user": _user(user, team),
        "channel": {"id": channel, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": f"{next(_ids)}.42.abcdef",
        "response_url": response_url,
        "message_ts": message_ts,
        "message": {"type": "message", "user": author, "ts": message_ts, "text": text},
    }
    return form_body(payload)


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    team: str = TEAM_ID,
    **extra: str,
) -> str:
    """A slash command as Slack POSTs it, form-encoded (`team`: the user's workspace)."""
    return command_body(
        token="legacy-verification-token",
        team_id=team,
        team_domain="standin",
        channel_id=channel,
        channel_name="partner-intros",
        user_id=user,
        user_name=user.lower(),
        command=command,
        text=text,
        api_app_id=APP_ID,
        trigger_id=f"{next(_ids)}.42.abcdef",
        response_url=response_url,
        **extra,
    )


def event_callback(event: dict[str, Any]) -> str:
    """An Events API callback, JSON as Slack sends it."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(_ids)}",
            "event_time": int(time.time()),
        }
    )
