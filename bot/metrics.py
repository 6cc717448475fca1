"""Handoff's Prometheus metrics: counters kept in-process, outbox gauges read at scrape time.

The registry is Handoff's own rather than prometheus_client's global one, so that importing
Handoff into another program (or running several engines in one test process) registers
nothing twice. Counters only ever go up within a process; Prometheus's rate() handles restarts.
Label values come from small closed sets (intake kinds, job kinds, sweep names, Slack's error
codes, SMTP reply classes), because each value is a time series of its own.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import as_utc
from bot.models import OutboxJob, utcnow
from bot.vocabulary import JobKind, Kind

REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    # The same collectors the default registry has (memory, CPU, open files, GC), read anew
    # at each scrape; sharing the instances is what prometheus_client does itself.
    REGISTRY.register(_collector)

INTAKE = Counter(
    "handoff_intake_messages_total",
    "Messages intake processed and committed, by what it made of them.",
    ["kind"],
    registry=REGISTRY,
)
OUTBOX_DONE = Counter(
    "handoff_outbox_jobs_done_total",
    "Outbox jobs carried out (Slack posts, nudges, emails), by job kind.",
    ["kind"],
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "handoff_slack_errors_total",
    "Slack Web API calls of the outbox that failed, by Slack's error code or the exception.",
    ["error"],
    registry=REGISTRY,
)
SMTP_ERRORS = Counter(
    "handoff_smtp_errors_total",
    "Emails the SMTP server did not take, by reply class (4xx, 5xx) or the exception.",
    ["error"],
    registry=REGISTRY,
)
NUDGES = Counter(
    "handoff_nudges_sent_total",
    "Nudges and reminders the sweeps recorded and queued for Slack, by sweep.",
    ["sweep"],
    registry=REGISTRY,
)
SWEEP_SECONDS = Histogram(
    "handoff_sweep_duration_seconds",
    "How long each scheduled sweep (and the digests' sweep) took, failed runs included.",
    ["sweep"],
    # A sweep is a handful of queries: milliseconds, unless the database is struggling.
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)

# Every kind is shown from the start, at 0, so that rate() and alerts see a series at once.
for _kind in Kind:
    INTAKE.labels(kind=str(_kind))
for _job in JobKind:
    OUTBOX_DONE.labels(kind=str(_job))

_LABEL = re.compile(r"[^A-Za-z0-9_]+")
DB_SECONDS = 2.0  # a scrape waits this long for the database, then answers without it
outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]


def label(value: str) -> str:
    """A label value kept tame: [A-Za-z0-9_] only, at most 40 characters."""
    return _LABEL.sub("_", value.strip()).strip("_")[:40] or "unknown"


def count_intake(kinds: Iterable[str]) -> None:
    """One message per kind given, as committed by intake (a batch's kinds counted first)."""
    for kind, n in Tally(str(k) for k in kinds).items():
        INTAKE.labels(kind=kind).inc(n)


def slack_error(error: str) -> None:
    """A failed Slack call: Slack's error code (`ratelimited`) or the exception's class name."""
    SLACK_ERRORS.labels(error=label(error)).inc()


def smtp_error(error: str) -> None:
    """A failed email: the reply class (`5xx`) or the exception's class name."""
    SMTP_ERRORS.labels(error=label(error)).inc()


def expect_sweeps(names: Iterable[str]) -> None:
    """Show these sweeps' series at 0 before their first run."""
    for name in names:
        SWEEP_SECONDS.labels(sweep=name)
        NUDGES.labels(sweep=name)


@dataclass
class OutboxState:
    """What the outbox holds now, read from the database at scrape time."""

    pending: dict[str, int] = field(default_factory=dict)
    oldest_seconds: dict[str, float] = field(default_factory=dict)


async def outbox_state(engine: AsyncEngine) -> OutboxState:
    """Jobs not done yet per kind, and how long ago the oldest of each was written."""
    query = (
        sa.select(outbox.c.kind, sa.func.count(), sa.func.min(outbox.c.created_at))
        .where(outbox.c.done_at.is_(None))
        .group_by(outbox.c.kind)
    )
    state = OutboxState()
    now = utcnow()
    async with engine.connect() as conn:
        for kind, count, oldest in await conn.execute(query):
            state.pending[kind] = int(count)
            # created_at, not due_at: a failed job's due time moves forward with each retry,
            # which would hide exactly the jobs that are stuck.
            state.oldest_seconds[kind] = max(0.0, (now - as_utc(oldest)).total_seconds())
    return state


class _Scrape(Collector):
    """The process's metrics, then the gauges read from the database for this scrape."""

    def __init__(self, counted: list[Metric], state: OutboxState | None) -> None:
        self.counted, self.state = counted, state

    def collect(self) -> Iterator[Metric]:
        yield from self.counted
        up = GaugeMetricFamily(
            "handoff_database_up", "1 when the database answered this scrape, else 0."
        )
        up.add_metric([], 0.0 if self.state is None else 1.0)
        yield up
        if self.state is None:
            return  # no outbox figures rather than made-up zeros
        pending = GaugeMetricFamily(
            "handoff_outbox_pending_jobs",
            "Outbox jobs not done yet (due, waiting for a retry, or being carried out).",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "handoff_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox job not done yet, per kind (0 when none is pending).",
            labels=["kind"],
        )
        kinds = sorted({str(k) for k in JobKind} | set(self.state.pending))
        for kind in kinds:
            pending.add_metric([kind], float(self.state.pending.get(kind, 0)))
            oldest.add_metric([kind], self.state.oldest_seconds.get(kind, 0.0))
        yield pending
        yield oldest


_settling: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def settling() -> asyncio.Lock:
    """Held while an outbox job's end is committed and counted, and while a scrape reads both,
    so that a scrape never sees the one without the other (one lock per event loop)."""
    loop = asyncio.get_running_loop()
    lock = _settling.get(loop)
    if lock is None:
        lock = _settling[loop] = asyncio.Lock()
    return lock


async def exposition(engine: AsyncEngine) -> bytes:
    """The text a scrape of /metrics gets; the counters even when the database is down."""
    state: OutboxState | None
    # No job of this process ends (committed and counted) while the scrape reads the counters
    # and the database: the jobs it counts as done are exactly those gone from the gauges.
    async with settling():
        counted = list(REGISTRY.collect())
        try:
            async with asyncio.timeout(DB_SECONDS):
                state = await outbox_state(engine)
        except Exception:  # noqa: BLE001 - any failure is what handoff_database_up 0 says
            state = None
    # A registry per scrape holds this scrape's figures: nothing shared is set, so concurrent
    # scrapes of different databases (tests, several engines) cannot mix them up.
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Scrape(counted, state))
    return generate_latest(scrape)
