"""The container as the Dockerfile builds it (no Docker engine here: .ci/run runs its install).

What an operator relies on is checked on the file itself, and its HEALTHCHECK command is run
against a real `handoff serve`, healthy and then stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.paths import ROOT
from tests.support.slackbot import running_bot

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every `name` instruction, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m[1].strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, flags=re.M)]


def test_two_stages_on_a_slim_python_and_dependencies_from_the_lock() -> None:
    bases = instructions("FROM")
    assert len(bases) == 2 and all(re.match(r"python:3\.\d+-slim\b", b) for b in bases)
    installs = [r for r in instructions("RUN") if "uv sync" in r]
    assert installs and all("--locked" in r and "--no-default-groups" in r for r in installs)
    assert any(c.startswith("--from=build /app/.venv") for c in instructions("COPY"))
    # The same locked install runs in CI, so that the image's build cannot rot unseen.
    assert "uv sync --locked --no-default-groups --no-editable" in (ROOT / ".ci/run").read_text()


def test_runs_handoff_serve_as_a_non_root_user_with_its_data_in_a_volume() -> None:
    assert instructions("USER") == ["handoff"]
    assert re.search(r"useradd --system --uid 10001\b", DOCKERFILE)
    assert json.loads(instructions("CMD")[-1]) == ["handoff", "serve"]
    assert json.loads(instructions("VOLUME")[0]) == ["/data"]
    assert "HANDOFF_DATABASE_URL=sqlite:////data/handoff.db" in " ".join(instructions("ENV"))


def healthcheck() -> list[str]:
    [check] = instructions("HEALTHCHECK")
    return list(json.loads(check.split("CMD", 1)[1]))


async def test_the_healthcheck_passes_on_a_healthy_serve_and_fails_once_it_stops(
    engine: AsyncEngine,
) -> None:
    command = healthcheck()
    assert command[0] == "python"
    argv = [sys.executable, *command[1:]]

    async def check(port: int) -> int:
        # Run beside the service on this loop, as Docker runs it beside the container's process.
        env = {**os.environ, "HANDOFF_PORT": str(port)}
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return await asyncio.wait_for(process.wait(), 30)

    async with running_bot(engine) as bot:
        assert await check(bot.port) == 0
    assert await check(bot.port) != 0
