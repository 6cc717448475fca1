"""Reading .eml, mbox and Maildir: streamed, in order, with the delivery time they record."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.intake.sources import SourceError, envelope_time, read_mbox, read_paths
from tests.support.handoff import register_scenario
from tests.support.messages import message
from tests.support.paths import ROOT


def test_envelope_times() -> None:
    assert envelope_time(b"From MAILER-DAEMON Sat Nov 21 09:15:00 2026\n") == datetime(
        2026, 11, 21, 9, 15, tzinfo=UTC
    )
    assert envelope_time(b"From 1234@xxx Mon Nov 16 10:00:00 +0200 2026\n") == datetime(
        2026, 11, 16, 8, 0, tzinfo=UTC
    )
    assert envelope_time(b"From nobody\n") is None


def test_mboxrd_unescaping_and_separators(tmp_path: Path) -> None:
    path = tmp_path / "x.mbox"
    path.write_bytes(
        b"From a@b Sat Nov 21 09:15:00 2026\nSubject: one\n\n>From the start\n>>From deeper\n\n"
        b"From a@b Sat Nov 21 09:16:00 2026\nSubject: two\n\nFrom here on, unescaped\n\nbye\n"
    )
    one, two = read_mbox(path)
    assert one.raw == b"Subject: one\n\nFrom the start\n>From deeper\n"
    assert two.raw == b"Subject: two\n\nFrom here on, unescaped\n\nbye\n"
    assert two.source.endswith("#2")


def _big_mbox(path: Path, count: int) -> None:
    with path.open("wb") as out:
        for i in range(count):
            out.write(b"From MAILER-DAEMON Sat Nov 21 09:15:00 2026\n")
            out.write(message(message_id=f"<bulk-{i}@x>").replace(b"\r\n", b"\n"))
            out.write(b"\n")


def test_mbox_streams(tmp_path: Path) -> None:
    path = tmp_path / "export.mbox"
    _big_mbox(path, 10_000)
    tracemalloc.start()
    count = sum(1 for _ in read_mbox(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 10_000
    assert peak < path.stat().st_size / 20, "the mbox must not be loaded whole"


def test_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no .eml files"):
        list(read_paths([str(tmp_path)]))


def test_backfill_of_10000_messages(tmp_path: Path, monkeypatch, handoff) -> None:  # type: ignore[no-untyped-def]
    """`handoff ingest export.mbox` of 10,000 messages, as an operator runs it."""
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/backfill.db")
    register_scenario(handoff)
    path = tmp_path / "export.mbox"
    _big_mbox(path, 10_000)
    done = subprocess.run(
        # VmHWM, not ru_maxrss: the latter keeps the forked pytest parent's peak across exec.
        [
            sys.executable,
            "-c",
            "import re, sys; from bot.cli import main\n"
            "try: main(sys.argv[1:])\nexcept SystemExit as e: code = e.code\n"
            "status = open('/proc/self/status').read()\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', status)[1], file=sys.stderr)\n"
            "sys.exit(code)",
            "ingest",
            str(path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10_000
    assert "ingested 10,000 messages" in done.stderr
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    assert peak_kb < 200 * 1024
    # All 10,000 are one prospect introduced by acme, each with its own Message-ID.
    assert lines[0].split()[:2] == ["new_intro", "ACME-1"]
    assert {line.split()[0] for line in lines[1:]} == {"duplicate"}
