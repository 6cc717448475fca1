"""One run of a scheduled job (a nudge sweep, the digests): what it planned and queued, and
its row in job_run, which `handoff jobs list` and /metrics read."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import upsert_insert
from bot.models import JobRun

job_run: sa.Table = JobRun.__table__  # type: ignore[attr-defined]


class Sent(Protocol):
    @property
    def targets(self) -> tuple[str | None, ...]: ...


PlannedT = TypeVar("PlannedT", bound=Sent)


@dataclass
class Run(Generic[PlannedT]):
    """One run of a scheduled job: what it planned (nudges, digests) and what it queued."""

    name: str
    as_of: datetime
    dry_run: bool
    planned: list[PlannedT] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def messages(self) -> int:
        return sum(len(p.targets) for p in self.planned)


async def record_run(
    conn: AsyncConnection,
    name: str,
    started: datetime,
    as_of: datetime,
    seconds: float,
    sent: int,
    error: str | None,
) -> None:
    values: dict[str, Any] = {
        "started_at": started,
        "as_of": as_of,
        "seconds": seconds,
        "sent": sent,
        "error": error,
    }
    insert = upsert_insert(conn.dialect, job_run)
    await conn.execute(
        insert.values(name=name, **values).on_conflict_do_update(
            index_elements=[job_run.c.name], set_=values
        )
    )


async def record_failure(
    engine: AsyncEngine, name: str, wall: datetime, as_of: datetime, started: float, exc: Exception
) -> None:
    """A failed run in job_run, with the first line of its error (`handoff jobs list`)."""
    async with engine.begin() as conn:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        await record_run(conn, name, wall, as_of, time.perf_counter() - started, 0, error)
