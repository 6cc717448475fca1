"""APScheduler wiring: the sweeps on their schedules inside `handoff serve`, and their listing.

The scheduler keeps nothing: every sweep derives what is due from the database and records
each nudge under a unique key, so a restart simply runs every sweep at once and carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.config import Settings
from bot.digests.sweep import DIGESTS, DigestRun, Digests
from bot.nudges import due as rules
from bot.nudges.sweeps import (
    EXPIRING,
    FIRST_RESPONSE,
    INACTIVE_PARTNERS,
    NEXT_STEPS,
    UNCLAIMED,
    UNCONFIRMED,
    Sweeper,
    SweepResult,
)
from bot.runs import job_run
from bot.text import format_duration

log = logging.getLogger("handoff.jobs")


@dataclass(frozen=True)
class JobSpec:
    name: str
    trigger: BaseTrigger
    schedule: str  # as people read it
    about: str


def job_specs(settings: Settings, *, nudges: bool = True, digests: bool = True) -> list[JobSpec]:
    """Every scheduled sweep, with a stable name (its APScheduler job id)."""
    every = settings.sweep_every
    interval = IntervalTrigger(seconds=every.total_seconds(), timezone=UTC)
    each = f"every {format_duration(every)}"
    mail = [
        JobSpec(
            DIGESTS,
            interval,
            each,
            "partner digests, each on its partner's schedule (default "
            f"'{settings.digest_schedule}' in {settings.timezone} or the partner's zone)",
        )
    ]
    return (mail if digests else []) + (
        []
        if not nudges
        else [
            JobSpec(
                UNCLAIMED,
                interval,
                each,
                f"unclaimed after {format_duration(settings.claim_sla)}: the post's thread; "
                "after twice that: the managers",
            ),
            JobSpec(
                FIRST_RESPONSE,
                interval,
                each,
                f"no first response {format_duration(settings.first_response_sla)} after the claim "
                "(or the partner's own SLA): the owner; after twice that: the managers",
            ),
            JobSpec(
                NEXT_STEPS,
                interval,
                each,
                "next joint step due: the owner at 09:00 their time; overdue: again every "
                f"{format_duration(settings.overdue_every)}",
            ),
            JobSpec(
                EXPIRING,
                interval,
                each,
                f"protection ending within {format_duration(settings.expiry_notice)} on a "
                "referral whose stage has not moved: the owner, and the partner by email",
            ),
            JobSpec(
                UNCONFIRMED,
                interval,
                each,
                "a referral logged in Slack that its partner has not confirmed in "
                f"{format_duration(settings.confirm_wait)}: the rep",
            ),
            JobSpec(
                INACTIVE_PARTNERS,
                rules.weekly(settings.tz),
                f"Mondays 09:00 {settings.timezone}",
                f"partners with no referral in {format_duration(settings.inactive_after)}: "
                "a note to the managers",
            ),
        ]
    )


class Scheduler:
    """The sweeps on an AsyncIOScheduler; each also runs once at start to catch up."""

    def __init__(
        self,
        sweeper: Sweeper | None,
        settings: Settings,
        *,
        on_sent: Callable[[], None],
        digests: Digests | None = None,
    ) -> None:
        self.sweeper = sweeper
        self.digests = digests
        self.specs = job_specs(settings, nudges=sweeper is not None, digests=digests is not None)
        self.on_sent = on_sent
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        now = datetime.now(UTC)
        for spec in self.specs:
            self._scheduler.add_job(
                self.run,
                spec.trigger,
                args=[spec.name],
                id=spec.name,
                name=spec.name,
                # One run at a time; runs missed while busy or asleep collapse into one, however
                # late: the sweep looks at the database, not at what it missed.
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=now,
                replace_existing=True,
            )
        self._scheduler.start()
        metrics.expect_sweeps(spec.name for spec in self.specs)
        log.info("jobs: %s", ", ".join(f"{s.name} ({s.schedule})" for s in self.specs))

    async def stop(self, seconds: float) -> None:
        """No new runs; a sweep under way may finish (it commits whole), a hung one is cut off.

        APScheduler's own shutdown cancels coroutine jobs at once: cut off mid-query, a sweep
        could leave its connection in a transaction, holding its locks after `serve` is gone.
        """
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._scheduler.shutdown(wait=False)

    async def run(self, name: str) -> SweepResult | DigestRun | None:
        """One sweep; its failure is logged and recorded, and the next run tries again."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await self._run(name)
        finally:
            self._running.discard(task)

    async def _run(self, name: str) -> SweepResult | DigestRun | None:
        result: SweepResult | DigestRun
        started = time.perf_counter()
        try:
            if name == DIGESTS:
                assert self.digests is not None
                result = await self.digests.sweep()
            else:
                assert self.sweeper is not None
                result = await self.sweeper.run(name)
        except Exception:  # noqa: BLE001 - a sweep must not stop the scheduler
            log.exception("jobs: %s failed", name)
            return None
        finally:
            metrics.SWEEP_SECONDS.labels(sweep=name).observe(time.perf_counter() - started)
        for warning in result.warnings:
            log.warning("jobs: %s: %s", name, warning)
        if result.messages:
            self.on_sent()
            log.info(
                "jobs: %s queued %d message(s) for %d %s in %.2fs",
                name,
                result.messages,
                len(result.planned),
                "digest(s)" if name == DIGESTS else "nudge(s)",
                result.seconds,
            )
        return result


async def list_jobs(engine: AsyncEngine, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Each job's name, schedule, last run and next run (as `handoff serve` would run them)."""
    async with engine.connect() as conn:
        runs = {row.name: row for row in await conn.execute(sa.select(job_run))}
    jobs = []
    for spec in job_specs(settings):
        last = runs.get(spec.name)
        if isinstance(spec.trigger, IntervalTrigger):
            following = last.started_at + settings.sweep_every if last else now
            next_run = max(following, now)
        else:
            next_run = spec.trigger.get_next_fire_time(None, now)
        jobs.append(
            {
                "name": spec.name,
                "schedule": spec.schedule,
                "about": spec.about,
                "last_run": last.started_at.isoformat() if last else None,
                "last_as_of": last.as_of.isoformat() if last else None,
                "last_sent": last.sent if last else None,
                "last_seconds": round(last.seconds, 3) if last else None,
                "last_error": last.error if last else None,
                "next_run": next_run.astimezone(UTC).isoformat() if next_run else None,
            }
        )
    return jobs
