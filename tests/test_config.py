"""A wrong setting stops the program with one clear line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import ROOT


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
