"""Logs as an operator reads them: text or one JSON object per line, never a secret.

The commands run as separate processes: logging is configured once per process, and pytest's
own logging would otherwise keep `handoff`'s from being set up at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import ConfigError, load_settings
from bot.demo.standin.failures import slack_error
from bot.demo.standin.slack import SlackStandIn
from bot.logs import MASK, Redactor, configured_secrets
from tests.support.handoff import Handoff
from tests.support.slackbot import SECRET, free_port

TOKEN = "xoxb-1111-2222-secrettokenvalue"
APP_TOKEN = "xapp-1-A0B1-3333-appsecretvalue"
DB_PASSWORD = "Pa55-w0rd-db"
DB_URL = f"postgresql://handoff:{DB_PASSWORD}@db.internal.example:5432/handoff"
SMTP_PASSWORD = "smtp-pw-98765"
HANDOFF_SECRET = "signing-key-" + "k" * 24
FIELDS = {"time", "level", "logger", "message"}

# Logs what a careless line might: the configured secrets, and some Handoff was never told of.
SCRIPT = """
import logging, os, sys
from bot.logs import read_log_format, setup_logging

setup_logging(sys.argv[1], read_log_format())
log = logging.getLogger("handoff.test")
log.warning(
    "token %s, signing secret %s, database %s",
    os.environ["SLACK_BOT_TOKEN"],
    os.environ["SLACK_SIGNING_SECRET"],
    os.environ["HANDOFF_DATABASE_URL"],
)
log.warning("app token %s; a user token xoxp-9-8-7-abcdef; https://bob:hunter22@proxy.example/")
try:
    raise RuntimeError(
        "cannot connect: " + os.environ["HANDOFF_SMTP_URL"] + "\\nsigned with " + sys.argv[2]
    )
except RuntimeError:
    log.exception("mail failed for %s", "dana@partner.example")
log.error("two\\nlines and a\\u2028separator: %s", "%s")
"""
EVENTS = 4


def secrets_env(tmp_path: Path, log_format: str) -> dict[str, str]:
    """Secrets in the environment, and HANDOFF_SECRET in `.env` (both are read)."""
    (tmp_path / ".env").write_text(f"HANDOFF_SECRET={HANDOFF_SECRET}\n")
    return {
        "HANDOFF_LOG_FORMAT": log_format,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "HANDOFF_DATABASE_URL": DB_URL,
        "HANDOFF_SMTP_URL": f"smtp://mailer:{SMTP_PASSWORD}@mail.example:587",
    }


async def run(*argv: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


def assert_no_secret(text: str) -> None:
    for secret in (
        TOKEN,
        SECRET,
        APP_TOKEN,
        DB_PASSWORD,
        SMTP_PASSWORD,
        HANDOFF_SECRET,
        "xoxp-9-8-7-abcdef",
        "hunter22",
    ):
        assert secret not in text, f"{secret[:6]}… was logged"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_is_ever_logged(tmp_path: Path, log_format: str) -> None:
    env = secrets_env(tmp_path, log_format)
    code, err = await run("-c", SCRIPT, "serve", HANDOFF_SECRET, env=env, cwd=tmp_path)
    assert code == 0, err
    assert_no_secret(err)
    # What is not secret stays readable.
    assert "postgresql://handoff:***@db.internal.example:5432/handoff" in err
    assert f"cannot connect: {MASK}" in err  # a SecretStr setting is masked whole
    assert "https://bob:***@proxy.example/" in err
    assert "xoxp-***" in err and "dana@partner.example" in err
    if log_format == "text":
        assert "RuntimeError: cannot connect" in err and "Traceback" in err
        return
    lines = err.splitlines()  # splitlines() breaks at U+2028 too: it must stay escaped
    assert len(lines) == EVENTS, err
    entries = [json.loads(line) for line in lines]
    assert all(set(e) >= FIELDS for e in entries)
    assert [e["level"] for e in entries] == ["WARNING", "WARNING", "ERROR", "ERROR"]
    assert {e["logger"] for e in entries} == {"handoff.test"}
    failed = entries[2]
    assert failed["message"] == "mail failed for dana@partner.example"
    assert failed["exc"].startswith("Traceback") and "RuntimeError: cannot connect" in failed["exc"]
    assert f"signed with {MASK}" in failed["exc"]
    assert entries[3]["message"] == "two\nlines and a\u2028separator: %s"
    assert "exc" not in entries[0]


async def test_serve_logs_one_json_object_per_line(db_url: str, tmp_path: Path) -> None:
    slack = await SlackStandIn(token=TOKEN).start()
    # A Slack answer that quotes the token back: it reaches a log line, masked.
    slack.fail("auth.test", slack_error(f"strange_answer for {TOKEN}"))
    port = free_port()
    env = {
        "HANDOFF_LOG_FORMAT": "json",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "HANDOFF_DATABASE_URL": db_url,
        "HANDOFF_HOST": "127.0.0.1",
        "HANDOFF_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession() as http:
            while True:
                assert process.returncode is None, "handoff serve exited"
                assert time.monotonic() - started < 60, "handoff serve did not start"
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err_bytes = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await slack.close()
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert_no_secret(err)
    entries = [json.loads(line) for line in err.splitlines()]
    assert all(set(e) >= FIELDS for e in entries)
    for entry in entries:
        moment = datetime.fromisoformat(entry["time"])
        assert moment.utcoffset() == timedelta(0)
    messages = [e["message"] for e in entries]
    assert any(f"auth.test failed (strange_answer for {MASK})" in m for m in messages)
    assert any(m.startswith("jobs: ") for m in messages)
    assert messages[-1] == "stopped"
    assert {e["level"] for e in entries} <= {"INFO", "WARNING"}


def test_an_unknown_log_format_is_refused_in_one_line(
    handoff: Handoff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOFF_LOG_FORMAT", "xml")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-token")  # wrong too, but read after
    handoff("partners", "list", expect=2)
    assert handoff.err == (
        "handoff: HANDOFF_LOG_FORMAT: 'xml' is not a log format (expected text or json)\n"
    )


def test_the_log_format_is_a_setting_too(tmp_path: Path) -> None:
    assert load_settings(log_format=" JSON ").log_format == "json"
    assert load_settings(log_format="").log_format == "text"
    with pytest.raises(ConfigError, match=r"^HANDOFF_LOG_FORMAT: 'yaml' is not a log format"):
        load_settings(log_format="yaml")


def test_every_secret_setting_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read from the settings' own declarations: a new SecretStr setting is masked as well.
    found = configured_secrets(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "handoff_imap_password": "imap-pw-555",
            "HANDOFF_IMAP_URL": "imaps://partners%40ours.example:imap%2Fpw-777@imap.example/INBOX",
            "HANDOFF_DATABASE_URL": DB_URL,
            "HANDOFF_SLACK_CHANNEL": "partner-intros",  # not a secret
        }
    )
    redact = Redactor(found).redact
    line = f"{TOKEN} imap-pw-555 imap/pw-777 imap%2Fpw-777 {DB_PASSWORD} partner-intros"
    assert redact(line) == f"{MASK} {MASK} {MASK} {MASK} {MASK} partner-intros"
