"""Batches parsed ahead in a parser process (bot/intake/parsers.py): the same messages as parsed
here, on the CPUs the writer leaves free, and none lost when the process dies."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.email.parse import parse
from bot.intake.parsers import BULK, Parsers
from tests.support.paths import CORPORA, FIXTURES, ROOT

pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="a parser process needs a second CPU"
)


def _messages() -> list[bytes]:
    """Real mail of every shape: the shared corpora's and our own fixtures."""
    paths = sorted(p for p in CORPORA.rglob("*.eml") if p.is_file())[:400]
    paths += sorted(FIXTURES.rglob("*.eml"))
    return [p.read_bytes() for p in paths]


@pytest.fixture
def parsers() -> Iterator[Parsers]:
    made = Parsers(processes=True)
    yield made
    made.close()


async def _up(parsers: Parsers) -> None:
    started = parsers.start()
    assert started is not None
    assert await asyncio.wrap_future(started)


def _parser_processes() -> set[int]:
    """This process's parser processes (multiprocessing's spawned workers; Linux)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return {pid for pid in found if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


async def test_a_batch_parsed_in_the_parser_process_is_the_message_parsed_here(
    parsers: Parsers,
) -> None:
    raws = _messages()
    assert len(raws) > 100
    await _up(parsers)
    parsed = []
    for at in range(0, len(raws), 100):
        parsed += await parsers.ahead(raws[at : at + 100])
    assert parsers.away == -(-len(raws) // 100)  # every batch went to the process
    assert parsed == [parse(raw) for raw in raws]


async def test_a_small_batch_or_a_process_not_yet_up_is_parsed_here(parsers: Parsers) -> None:
    raws = _messages()[:BULK]
    assert await parsers.ahead(raws[:-1]) == [parse(r) for r in raws[:-1]]  # too few to send
    assert await parsers.ahead(raws) == [parse(r) for r in raws]  # the first starts it
    assert parsers.away == 0
    await _up(parsers)
    assert await parsers.ahead(raws) == [parse(r) for r in raws]
    assert parsers.away == 1


async def test_when_the_parser_process_dies_its_batch_is_parsed_here(
    parsers: Parsers, caplog: pytest.LogCaptureFixture
) -> None:
    raws = _messages()[:100]
    before = _parser_processes()
    await _up(parsers)
    [child] = _parser_processes() - before
    os.kill(child, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="bot.intake.parsers"):
        assert await parsers.ahead(raws) == [parse(r) for r in raws]
        assert await parsers.ahead(raws) == [parse(r) for r in raws]
    assert "the parser process died" in caplog.text
    assert parsers.away <= 1  # the next batch did not go to a dead process


def test_the_parser_process_runs_beside_the_cpu_a_sqlite_process_keeps() -> None:
    """`handoff` keeps a SQLite process's threads on one CPU (bot.db.share_one_cpu): its parser
    process runs on the others, not beside it."""
    script = textwrap.dedent(
        """
        import os
        from bot.db import share_one_cpu
        from bot.intake.parsers import Parsers
        os.sched_setaffinity(0, range(os.cpu_count()))  # free, as a process started by a user
        cpu = share_one_cpu()
        parsers = Parsers()
        parsers.start().result()
        [child] = {int(p) for t in os.listdir("/proc/self/task")
                   for p in open(f"/proc/self/task/{t}/children").read().split()
                   if b"spawn_main" in open(f"/proc/{p}/cmdline", "rb").read()}
        print(cpu, sorted(os.sched_getaffinity(0)), sorted(os.sched_getaffinity(child)))
        parsers.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.split(" ", 2)
    cpu, own, child = int(out[0]), out[1], out[2].strip()
    assert own == f"[{cpu}]"
    assert child == str(sorted(set(range(os.cpu_count() or 1)) - {cpu}))
