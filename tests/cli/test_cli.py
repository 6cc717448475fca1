"""The operator's commands: migrate, partners, referrals, triage, and their errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def test_migrate_creates_then_reports_up_to_date(tmp_path: Path, handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/sub/dir/new.db")
    assert "database at revision 0014 (was empty)" in handoff("migrate")  # 0014: rollups
    assert "already up to date" in handoff("migrate")
    assert (tmp_path / "sub/dir/new.db").exists()


def test_every_command_migrates_an_empty_database(tmp_path: Path, handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/fresh.db")
    assert handoff.json("partners", "list") == []
    assert "already up to date" in handoff("migrate")


def test_default_database_is_sqlite_file_in_wal_mode(tmp_path: Path, handoff) -> None:  # type: ignore[no-untyped-def]
    handoff("partners", "list")
    import sqlite3

    assert (tmp_path / "handoff.db").exists()
    mode = sqlite3.connect(tmp_path / "handoff.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_partners_add_list_and_update(db_url: str, handoff) -> None:  # type: ignore[no-untyped-def]
    out = handoff(
        "partners",
        "add",
        "acme",
        "--name",
        "Acme Consulting",
        "--contact",
        "Dana@AcmeConsulting.example",
        "--domain",
        "@acmeconsulting.example",
        "--address",
        "acme-intros@ours.example",
    )
    assert out.strip() == (
        "registered partner acme (Acme Consulting); intros to partners+acme@ours.example are its"
    )
    handoff("partners", "add", "acme", "--contact", "lee@acmeconsulting.example")
    [acme] = handoff.json("partners", "list")
    assert acme["slug"] == "acme" and acme["name"] == "Acme Consulting"
    assert acme["contacts"] == ["dana@acmeconsulting.example", "lee@acmeconsulting.example"]
    assert acme["domains"] == ["acmeconsulting.example"]
    assert acme["addresses"] == ["acme-intros@ours.example"]
    assert "acme" in handoff("partners", "list")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["partners", "add", "Bad Slug!", "--name", "X"], "slug 'bad slug!'"),
        (["partners", "add", "r-tokens", "--name", "X"], "reserved"),
        (["partners", "add", "newco"], "give it a --name"),
        (["partners", "add", "newco", "--name", "N", "--contact", "not-an-email"], "--contact"),
        (["partners", "add", "newco", "--name", "N", "--domain", "nodot"], "--domain"),
        (["referrals", "show", "NOPE-1"], "no referral NOPE-1"),
        (["ingest", "/does/not/exist.eml"], "no such file"),
        (["triage", "show", "999"], "no stored message #999"),
    ],
)
def test_user_errors_are_one_line(db_url: str, handoff, args: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    handoff(*args, expect=2)
    lines = handoff.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handoff: ") and says in lines[0]


def test_address_of_another_partner_is_refused(db_url: str, handoff) -> None:  # type: ignore[no-untyped-def]
    handoff("partners", "add", "acme", "--name", "Acme", "--address", "intros@ours.example")
    handoff(
        "partners",
        "add",
        "globex",
        "--name",
        "Globex",
        "--address",
        "intros@ours.example",
        expect=2,
    )
    assert "already belongs to partner acme" in handoff.err
    assert [p["slug"] for p in handoff.json("partners", "list")] == ["acme"]


def test_unreachable_database_is_one_line(handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    handoff("partners", "list", expect=2)
    assert handoff.err.startswith("handoff: HANDOFF_DATABASE_URL: cannot open the database")


def test_console_script_is_installed() -> None:
    handoff_bin = shutil.which("handoff") or str(ROOT / ".venv" / "bin" / "handoff")
    done = subprocess.run([handoff_bin, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("migrate", "partners", "ingest", "referrals", "triage", "demo"):
        assert command in done.stdout


# A command as `handoff` runs it, with a spy for the command that reports on the collector.
COLLECTOR_SPY = """
import gc, sys
from bot.cli import referrals, run
async def spy(args, engine, settings):
    cycle = []
    cycle.append(cycle)
    del cycle
    print(gc.isenabled(), gc.get_freeze_count() > 100_000, gc.collect() >= 1)
    return 0
referrals.list_referrals = spy
sys.argv = ["handoff", "referrals", "list"]
run()
"""


def test_a_command_runs_with_the_collector_on(tmp_path: Path) -> None:
    """`handoff` keeps the cyclic collector off while it starts and freezes what it loaded, and
    a command runs with the collector on: a `serve` that never collected would only grow."""
    env = {**os.environ, "HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path}/gc.db"}
    done = subprocess.run(
        [sys.executable, "-c", COLLECTOR_SPY], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    on, frozen, collected = done.stdout.split()
    assert (on, frozen, collected) == ("True", "True", "True")


@pytest.mark.parametrize(
    "url",
    ["postgresql://admin:s3cr3t-pw@127.0.0.1:1/none", "postgresql://admin:s3cr3t-pw@[bad:host/x"],
)
def test_database_password_never_shown(handoff, monkeypatch, url: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    handoff("partners", "list", expect=2)
    assert handoff.err.startswith("handoff: HANDOFF_DATABASE_URL: ")
    assert "s3cr3t-pw" not in handoff.err


def test_wrong_postgres_role_is_one_line(postgres_server: str, handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", postgres_server.replace("//postgres@", "//nobody@"))
    handoff("partners", "list", expect=2)
    [line] = handoff.err.strip().splitlines()
    assert line.startswith("handoff: HANDOFF_DATABASE_URL: cannot open the database")
    assert '"nobody"' in line


def test_unreadable_input_is_one_line(db_url: str, handoff) -> None:  # type: ignore[no-untyped-def]
    handoff("ingest", "/proc/self/mem", expect=1)  # reading it fails (EIO), even for root
    [line] = handoff.err.strip().splitlines()
    assert line.startswith("handoff: [Errno")


def test_a_partner_may_have_its_own_first_response_sla(
    tmp_path: Path, handoff, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    handoff("partners", "add", "acme", "--name", "Acme", "--first-response-sla", "4h")
    assert handoff.json("partners", "list")[0]["first_response_sla"] == "4h"
    handoff("partners", "add", "acme", "--first-response-sla", "soon", expect=2)
    assert "--first-response-sla: 'soon' is not a duration" in handoff.err
