"""README's quick start stays true: two commands, and .ci/run runs the second one."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
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
