"""The scheduler inside `handoff serve`: stopping it never leaves a sweep running behind."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.nudges.sweeps import SweepResult
from bot.scheduler import Scheduler
from tests.support.world import settings_of


@dataclass
class SlowSweeper:
    """Stands in for the Sweeper: each run takes `seconds`, and says when it ended."""

    seconds: float
    started: asyncio.Event = field(default_factory=asyncio.Event)
    finished: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    async def run(self, name: str) -> SweepResult:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        self.finished.append(name)
        return SweepResult(name=name, as_of=datetime.now(UTC), dry_run=False)


async def started(sweeper: SlowSweeper) -> Scheduler:
    settings = settings_of(sweep_every="1h")
    scheduler = Scheduler(sweeper, settings, on_sent=lambda: None)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.wait_for(sweeper.started.wait(), 5)
    return scheduler


async def test_stop_waits_for_the_sweeps_under_way() -> None:
    sweeper = SlowSweeper(seconds=0.3)
    scheduler = await started(sweeper)
    await scheduler.stop(5)
    assert sweeper.finished and not sweeper.cancelled  # each sweep that had begun ended whole
    assert all(t.done() for t in asyncio.all_tasks() if t is not asyncio.current_task())


async def test_stop_cuts_off_a_hung_sweep_after_its_grace() -> None:
    sweeper = SlowSweeper(seconds=3600)
    scheduler = await started(sweeper)
    await asyncio.wait_for(scheduler.stop(0.2), 5)
    assert sweeper.cancelled and not sweeper.finished
    assert all(t.done() for t in asyncio.all_tasks() if t is not asyncio.current_task())
