"""A wrong setting stops the program with one clear line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.text import format_duration, parse_duration
from tests.support.paths import ROOT


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HANDOFF_PROTECTION_DAYS", "ninety", "valid integer"),
        ("HANDOFF_PROTECTION_DAYS", "-3", "greater than or equal to 0"),
        (
            "HANDOFF_INTERNAL_DOMAINS",
            "ours.example, not a domain",
            "'not a domain' is not a domain",
        ),
        ("HANDOFF_PARTNER_MAILBOX", "partners+acme@ours.example", "plain mailbox"),
        ("HANDOFF_DATABASE_URL", "mysql://localhost/x", "unsupported database URL"),
    ],
)
def test_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}: ")
    assert says in str(error.value)


def test_defaults_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDOFF_PARTNER_MAILBOX")
    monkeypatch.setenv("HANDOFF_INTERNAL_DOMAINS", " Ours.example ,@corp.example,")
    settings = load_settings()
    assert settings.database_url == "sqlite:///./handoff.db"
    assert settings.protection_days == 90
    assert settings.internal_domains == ["ours.example", "corp.example"]
    assert settings.partner_mailbox is None


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HANDOFF_INTERNAL_DOMAINS")
    (tmp_path / ".env").write_text("HANDOFF_INTERNAL_DOMAINS=from-dotenv.example\n")
    assert load_settings().internal_domains == ["from-dotenv.example"]


def test_console_script_prints_one_line_and_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "HANDOFF_PROTECTION_DAYS": "soon", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "partners", "list"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "handoff: HANDOFF_PROTECTION_DAYS: Input should be a valid integer, unable to parse "
        "string as an integer"
    ]
    assert "Traceback" not in done.stderr


def test_the_imap_user_is_the_partner_mailbox_unless_one_is_set(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HANDOFF_PARTNER_MAILBOX")
    url = "imaps://Partners%40Ours.example:pw@imap.example.com/INBOX"
    settings = load_settings(imap_url=url)
    assert settings.partner_mailbox == "partners@ours.example"
    assert "ours.example" in settings.all_internal_domains
    assert load_settings(imap_url="imaps://bob:pw@imap.example.com").partner_mailbox is None
    assert load_settings(imap_url=url, partner_mailbox="intros@x.example").partner_mailbox == (
        "intros@x.example"
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxp-user-token"},
            "SLACK_BOT_TOKEN: not a Slack bot token: it should start with xoxb-",
        ),
        (
            {"SLACK_APP_TOKEN": "xoxb-1"},
            "SLACK_APP_TOKEN: not a Slack app-level token (Socket Mode): "
            "it should start with xapp-",
        ),
        (
            {"SLACK_API_URL": "slack.com"},
            "SLACK_API_URL: not an http(s) URL (expected e.g. https://slack.com/api/)",
        ),
        (
            {"HANDOFF_SLACK_CHANNEL": "partner intros"},
            "HANDOFF_SLACK_CHANNEL: 'partner intros' is not a channel id or name "
            "(expected e.g. partner-intros)",
        ),
        (
            {"HANDOFF_REP_GROUP": "Sales Reps"},
            "HANDOFF_REP_GROUP: 'Sales Reps' is not a user group id (S…) or handle (@sales-reps)",
        ),
        (
            {"HANDOFF_MANAGERS": "U0BOSS,boss@ours.example"},
            "HANDOFF_MANAGERS: 'boss@ours.example' is not a Slack user id (U…), "
            "user group id (S…) or group handle",
        ),
        ({"HANDOFF_PORT": "70000"}, "HANDOFF_PORT: Input should be less than or equal to 65535"),
    ],
)
def test_slack_settings_are_checked_and_never_echo_a_token(monkeypatch, env, line) -> None:  # type: ignore[no-untyped-def]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == line
    assert "xoxp-user-token" not in str(error.value)


def test_slack_settings_read_slacks_own_variable_names(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-123 ")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("HANDOFF_MANAGERS", "U0BOSS, S0LEADS ,@leads")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-123"
    assert "xoxb-123" not in repr(settings)
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.managers == ["U0BOSS", "S0LEADS", "@leads"]
    assert (settings.slack_channel, settings.port, settings.socket_mode) == (
        "partner-intros",
        0,
        False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        (" 1w ", timedelta(weeks=1)),
    ],
)
def test_durations_read_as_people_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["30", "half an hour", "0m", "-5m", "4 hours"])
def test_a_wrong_duration_is_one_line_naming_the_variable(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOFF_CLAIM_SLA", text)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith("HANDOFF_CLAIM_SLA: ")
    assert "expected e.g. 30m, 4h, 2d" in str(error.value) or "longer than zero" in str(error.value)


def test_nudge_defaults_and_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.claim_sla, settings.first_response_sla, settings.overdue_every) == (
        timedelta(minutes=30),
        timedelta(hours=24),
        timedelta(days=2),
    )
    monkeypatch.setenv("HANDOFF_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="HANDOFF_TIMEZONE: 'Mars/Olympus' is not an IANA"):
        load_settings()
