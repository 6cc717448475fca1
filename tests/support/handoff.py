"""`handoff …` run in-process, and the partners the fixtures were written for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import cli
from bot.db import session_factory
from bot.demo.cast import PARTNERS
from bot.referrals.directory import Directory, load_directory


class Handoff:
    """Runs `handoff …` in-process, as a user would from the shell."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str, expect: int = 0) -> str:
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            cli.main(list(argv))
        out, err = self.capsys.readouterr()
        self.err = err
        assert exit_info.value.code == expect, f"exit {exit_info.value.code}: {err}{out}"
        return out

    def json(self, *argv: str) -> object:
        return json.loads(self(*argv, "--json"))

    def ingest(self, *paths: str | Path, dry_run: bool = False) -> list[dict[str, object]]:
        args = ["ingest", *map(str, paths), "--json"] + (["--dry-run"] if dry_run else [])
        return [json.loads(line) for line in self(*args).splitlines() if line.strip()]


@pytest.fixture
def handoff(capsys: pytest.CaptureFixture[str]) -> Handoff:
    return Handoff(capsys)


def register_scenario(handoff) -> None:  # type: ignore[no-untyped-def]
    """The partners the fixtures were written for (tests/fixtures/intake/README.md)."""
    for p in PARTNERS:
        options = ["--name", p.name]
        for flag, values in (
            ("--address", p.addresses),
            ("--contact", p.contacts),
            ("--domain", p.domains),
        ):
            for value in values:
                options += [flag, value]
        handoff("partners", "add", p.slug, *options)


@pytest.fixture
def scenario(db_url: str, handoff: Handoff) -> Handoff:
    """`handoff` on a database with the partners of tests/fixtures/intake registered."""
    register_scenario(handoff)
    return handoff


@pytest.fixture
async def directory(engine: AsyncEngine, scenario: Handoff) -> Directory:
    """The scenario's partners as intake sees them, for tests that drive Intake directly."""
    async with session_factory(engine)() as session:
        return await load_directory(
            session=session,
            internal_domains=frozenset({"ours.example"}),
            mailbox="partners@ours.example",
        )
