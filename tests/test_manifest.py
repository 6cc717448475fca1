"""manifest.yml creates the app Handoff needs: the scopes its code uses, no more, no less."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Each Web API method the bot calls, and the bot scopes Slack requires for it
# (docs.slack.dev/reference/methods/…). A new call without an entry here fails the test.
SCOPES = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write", "chat:write.public"},  # public: no invitation needed
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "views_open": set(),
    "views_publish": set(),
    "usergroups_list": {"usergroups:read"},
    "usergroups_users_list": {"usergroups:read"},
    "conversations_list": {"channels:read", "groups:read"},
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_open": {"im:write"},
    "chat_getPermalink": set(),  # the CRM deal links to the post
    "users_info": {"users:read", "users:read.email"},  # profile.email: webhooks, the CRM
    "files_upload_v2": {"files:write"},  # /attribution export and chart
}


def web_api_calls() -> set[str]:
    calls = set()
    for path in (ROOT / "bot" / "slack").rglob("*.py"):
        # Called, or handed to partial() to be called: client.method( or client.method,
        calls |= set(re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)[(,]", path.read_text()))
    return calls


def test_the_bot_scopes_are_exactly_those_the_code_needs() -> None:
    calls = web_api_calls()
    assert calls >= {"chat_postMessage", "chat_update", "views_publish"}
    unknown = calls - set(SCOPES)
    assert not unknown, f"add the scopes of {unknown} to SCOPES and manifest.yml"
    needed = set().union(*(SCOPES[c] for c in calls), {"commands"})  # commands: /attribution
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_the_manifest_has_the_command_interactivity_home_and_events() -> None:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/attribution", "/referral"]
    # The message shortcut the code listens for (bot/slack/log_modal.py).
    from bot.slack.log_modal import LOG_COMMAND, LOG_SHORTCUT

    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [
        ("message", LOG_SHORTCUT)
    ]
    assert LOG_COMMAND in [c["command"] for c in features["slash_commands"]]
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    # Pasted unchanged it works without a public URL: Socket Mode (SLACK_APP_TOKEN).
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["interactivity"]
    assert len(MANIFEST["display_information"]["description"]) <= 140
