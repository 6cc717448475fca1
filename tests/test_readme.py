"""README stays true: its quick start, its settings table, and every command it shows, run.

Each ```sh block (but those running docker) is run word for word by bash, top to bottom in one
sandbox, the way a reader follows the README: a folder of its own as home and working folder,
and the exports of earlier blocks still set. Only what cannot exist here is swapped, each named
in PLACEHOLDERS: the mailbox (a Dovecot of the test's own), Slack (the stand-in) and the SMTP
server (aiosmtpd). `uv run X` runs X from the project's environment; `handoff serve` runs until
/healthz answers, then gets SIGTERM, as an operator's Ctrl-C, and must exit 0.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import Settings
from bot.demo.cast import SAMPLES
from bot.demo.standin.slack import SlackStandIn
from bot.demo.standin.smtp import SmtpServer
from tests.support.dovecot import Dovecot, free_port, missing
from tests.support.paths import IN_CI, POSTGRES_URL, ROOT

README = (ROOT / "README.md").read_text()
VENV_BIN = Path(sys.executable).parent

# What the README shows for what only exists at the reader's: each swapped for a local server.
IMAP_EXAMPLE = "'imaps://partners%40ours.example:app-password@imap.gmail.com/INBOX'"
SMTP_EXAMPLE = "'smtp://handoff:password@smtp.ours.example:587'"
PLACEHOLDERS = (IMAP_EXAMPLE, SMTP_EXAMPLE, "xoxb-…", "xapp-…")

PREAMBLE = r"""
set -euo pipefail
# `uv run [--group G] X …`: X from the project's environment (CI's `uv run pytest` synced it).
uv() {
  [ "$1" = run ] || { echo "uv $1: not run by this test" >&2; return 2; }
  shift
  while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
    case "$1" in --group|--project) shift 2 ;; *) shift ;; esac
  done
  "$@"
}
# `handoff serve` runs until it is healthy, then stops as on Ctrl-C; its exit status is kept.
handoff() {
  if [ "${1:-}" != serve ]; then command handoff "$@"; return; fi
  command handoff "$@" &
  local pid=$! tries=0 url="http://127.0.0.1:$HANDOFF_PORT/healthz"
  local probe="import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=1)"
  until python -c "$probe" "$url" 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 300 ] || ! kill -0 $pid 2>/dev/null; then wait $pid; return 1; fi
    sleep 0.1
  done
  echo "serve: healthy" >&2
  kill -TERM $pid
  wait $pid
}
"""


@dataclass
class Block:
    heading: str
    lines: list[str]

    @property
    def script(self) -> str:
        return "\n".join(self.lines)

    @property
    def exports(self) -> list[str]:
        return [line for line in self.lines if line.startswith("export ")]


def blocks() -> list[Block]:
    """README's ```sh blocks in order, each under the heading above it, lines joined at `\\`."""
    found = []
    heading = ""
    for part in re.split(r"(^```sh\n.*?^```$)", README, flags=re.S | re.M):
        if part.startswith("```sh"):
            text = part.removeprefix("```sh\n").removesuffix("```").replace("\\\n", " ")
            lines = [line for line in text.splitlines() if line.strip()]
            found.append(Block(heading, lines))
        else:
            headings = re.findall(r"^#+ (.*)$", part, flags=re.M)
            heading = headings[-1] if headings else heading
    return found


def quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's quick start has a shell block"
    return [line.split("#", 1)[0].strip() for line in block[1].splitlines() if line.strip()]


def test_two_commands_demo_then_tests() -> None:
    commands = quick_start()
    assert len(commands) == 2
    assert commands[0].endswith("uv run handoff demo")
    assert commands[1].endswith("uv run pytest")


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert script[-1] == quick_start()[1]


def test_every_setting_is_in_the_configuration_table_with_its_default() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `([A-Z_]+)` \| ([^|]*) \|", table, flags=re.M)}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        variable = alias if isinstance(alias, str) else f"HANDOFF_{name.upper()}"
        assert variable in rows, f"{variable} is missing from README's Configuration table"
        default = info.default
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        if isinstance(default, str | int | float) and not isinstance(default, bool) and default:
            assert f"`{default}`" in rows[variable], (variable, default, rows[variable])
    # And the table names no setting Handoff does not have.
    known = {
        info.validation_alias if isinstance(info.validation_alias, str) else f"HANDOFF_{n.upper()}"
        for n, info in Settings.model_fields.items()
    }
    assert set(rows) - known <= {"SSL_CERT_FILE"}, set(rows) - known


def test_every_variable_readme_mentions_exists() -> None:
    known = {
        info.validation_alias if isinstance(info.validation_alias, str) else f"HANDOFF_{n.upper()}"
        for n, info in Settings.model_fields.items()
    }
    # Read by the tests and benchmarks, not by Handoff.
    others = {"HANDOFF_TEST_POSTGRES_URL", "HANDOFF_BENCH_SCALE"}
    mentioned = set(re.findall(r"\b((?:HANDOFF|SLACK)_[A-Z_]+[A-Z])\b", README))
    assert mentioned - known - others == set()


class StandIns:
    """Slack's stand-in on a loop of its own thread, for processes the test starts."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.slack: SlackStandIn = self._run(SlackStandIn().start())

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self._run(self.slack.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Sandbox:
    home: Path
    env: dict[str, str]
    swaps: dict[str, str]
    exports: list[str] = field(default_factory=list)

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        script = block.script
        for placeholder, local in self.swaps.items():
            script = script.replace(placeholder, local)
        body = "\n".join([PREAMBLE, *self.exports, script])
        self.exports += block.exports
        return subprocess.run(
            ["bash", "-c", body],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )


def _mbox(path: Path) -> None:
    """The reader's Gmail export: the demo's intros and replies in one mbox."""
    path.parent.mkdir(parents=True)
    box = mailbox.mbox(path)
    for eml in sorted(SAMPLES.glob("*.eml")):
        box.add(mailbox.mboxMessage(eml.read_bytes()))
    box.close()


def _bench_database() -> None:
    """The database README's PostgreSQL benchmark commands name (127.0.0.1:5432/bench)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db import async_url

    async def create() -> None:
        engine = create_async_engine(async_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            exists = await conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname='bench'"))
            if not exists:
                await conn.execute(sa.text('CREATE DATABASE "bench"'))
        await engine.dispose()

    asyncio.run(create())


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    problem = missing()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; CI=true: README's serve commands must run")
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("reader")
    _mbox(home / "Takeout" / "Mail" / "partners.mbox")
    (home / "bench").symlink_to(ROOT / "bench")
    _bench_database()
    dovecot = Dovecot()
    dovecot.start()
    mailbox_user = "partners@ours.example"
    dovecot.add_user(mailbox_user)
    standins = StandIns()
    smtp = SmtpServer().start()
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "HANDOFF_DATABASE_URL": f"sqlite:///{home}/handoff.db",
        "HANDOFF_PORT": str(free_port()),
        "HANDOFF_HOST": "127.0.0.1",
        "SLACK_API_URL": standins.slack.api_url,
        "HANDOFF_BENCH_SCALE": "0.01",
    }
    if "HANDOFF_TEST_POSTGRES_URL" in os.environ:
        env["HANDOFF_TEST_POSTGRES_URL"] = os.environ["HANDOFF_TEST_POSTGRES_URL"]
    swaps = {
        IMAP_EXAMPLE: f"'{dovecot.url(mailbox_user)}'",
        SMTP_EXAMPLE: f"'{smtp.url}'",
        "xoxb-…": standins.slack.token,
        "xapp-…": standins.slack.app_token,
    }
    try:
        yield Sandbox(home, env, swaps)
    finally:
        smtp.stop()
        standins.close()
        dovecot.cleanup()


def _docker(block: Block) -> bool:
    return any(line.lstrip().startswith("docker ") for line in block.lines)


# The quick start runs elsewhere: its demo in tests/demo/test_demo.py, its tests as CI's own
# command.
RUN = [
    b
    for b in blocks()
    if not b.lines[0].startswith("python3 -m pip install -q uv") and not _docker(b)
]


def test_blocks_that_run_docker_hold_nothing_else() -> None:
    for block in filter(_docker, blocks()):
        assert all(line.lstrip().startswith(("docker ", "#")) for line in block.lines), block


@pytest.mark.parametrize(
    "block",
    RUN,
    ids=[f"{n:02d}-{re.sub(r'[^a-z]+', '-', b.heading.lower())}" for n, b in enumerate(RUN)],
)
def test_every_command_readme_shows_runs(sandbox: Sandbox, block: Block) -> None:
    done = sandbox.run(block)
    assert done.returncode == 0, (
        f"README, {block.heading!r}: exit {done.returncode}\n{done.stderr[-4000:]}"
        f"\n{done.stdout[-2000:]}"
    )
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    if "handoff serve" in block.script:
        assert "serve: healthy" in done.stderr


def test_readme_blocks_use_only_known_placeholders() -> None:
    # A new example host or token in README must be given a local stand-in above.
    shown = "\n".join(b.script for b in RUN)
    for suspicious in re.findall(r"\b[\w.-]+\.(?:gmail|outlook|office365)\.com\b", shown):
        assert any(suspicious in p for p in PLACEHOLDERS), suspicious
