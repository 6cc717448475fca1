"""When each nudge is due: pure functions of a referral's clocks and the instant of a sweep.

A rule returns the nudges due as of `now`, each named by (kind, subject, cycle, level). The
sweep stores that name under a unique key, so asking again later, from a restarted process or
from another replica, yields the same names and sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.text import previous_fire
from bot.vocabulary import CLOSED_STAGES, TALKING_STAGES, UNMOVED_STAGES, NudgeKind

REMINDER_TIME = time(9, 0)  # next steps are reminded at 09:00 in their owner's time zone
# 09:00 falls between 19:00 UTC the day before (UTC+14) and 21:00 UTC the day itself (UTC-12).
EARLIEST_REMINDER = timedelta(hours=9 - 14)


class To(StrEnum):
    THREAD = "thread"  # the referral's post's thread
    OWNER = "owner"  # a DM to the referral's owner
    MANAGERS = "managers"  # a DM to each of HANDOFF_MANAGERS


@dataclass(frozen=True)
class Due:
    """One nudge a rule says is due."""

    kind: NudgeKind
    subject: int  # the referral's id; 0 for the note about partners
    cycle_at: datetime
    level: int
    due_at: datetime
    to: To
    ref: str | None = None
    owner: str | None = None
    detail: str | None = None

    @property
    def key(self) -> tuple[str, int, datetime, int]:
        return (str(self.kind), self.subject, self.cycle_at, self.level)


def unclaimed(
    *,
    subject: int,
    ref: str,
    since: datetime,
    posted_at: datetime | None,
    now: datetime,
    sla: timedelta,
) -> list[Due]:
    """Unclaimed since `since` (arrival or last release): the thread at 1x SLA, managers at 2x.

    Nobody can claim before the post is in Slack, so the clock starts when both happened.
    """
    start = max(since, posted_at or since)
    levels = ((1, To.THREAD), (2, To.MANAGERS))
    return [
        Due(NudgeKind.UNCLAIMED, subject, since, level, start + level * sla, to, ref)
        for level, to in levels
        if start + level * sla <= now
    ]


def first_response(
    *,
    subject: int,
    ref: str,
    owner: str,
    claimed_at: datetime,
    snoozed_until: datetime | None,
    now: datetime,
    sla: timedelta,
) -> list[Due]:
    """Claimed, no first response: the owner at 1x SLA, managers at 2x; a snooze restarts it
    so that the owner hears again when the snooze ends and the managers one SLA later."""
    cycle = snoozed_until or claimed_at
    start = snoozed_until - sla if snoozed_until else claimed_at
    levels = ((1, To.OWNER), (2, To.MANAGERS))
    return [
        Due(NudgeKind.FIRST_RESPONSE, subject, cycle, level, start + level * sla, to, ref, owner)
        for level, to in levels
        if start + level * sla <= now
    ]


def next_step(
    *,
    subject: int,
    ref: str,
    owner: str,
    due_day: datetime,
    snoozed_until: datetime | None,
    zone: ZoneInfo,
    now: datetime,
    every: timedelta,
) -> list[Due]:
    """09:00 the owner's time on the due day (level 0), then again every `every` while overdue
    (level n). Only the latest level is due: a sweep that slept through two reminders sends
    one, not two."""
    if snoozed_until is not None:
        cycle = start = snoozed_until
    else:
        cycle = due_day
        start = reminder_at(due_day.date(), zone)
    if now < start:
        return []
    level = int((now - start) // every)
    return [
        Due(NudgeKind.NEXT_STEP, subject, cycle, level, start + level * every, To.OWNER, ref, owner)
    ]


def reminder_at(day: date, zone: ZoneInfo) -> datetime:
    """09:00 on `day` in `zone`, in UTC (zoneinfo settles DST gaps and folds)."""
    return datetime.combine(day, REMINDER_TIME, tzinfo=zone).astimezone(UTC)


def weekly(zone: ZoneInfo) -> CronTrigger:
    """Mondays 09:00 in HANDOFF_TIMEZONE: the note about inactive partners."""
    return CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=zone)


def last_slot(trigger: CronTrigger, now: datetime) -> datetime:
    """The trigger's latest fire time at or before `now` (a weekly trigger: within 8 days)."""
    slot = previous_fire(trigger, now, windows=(timedelta(days=8),))
    if slot is None:
        raise ValueError("the trigger fires less than weekly")
    return slot


def gone(kind: str, *, cycle_at: datetime, level: int, target: str | None, row: Any) -> str | None:
    """Why a recorded nudge should no longer be sent (its cause is gone), or None.

    `row` is the referral as it is now: owner, stage, first_response_at, claimed_at,
    response_snoozed_until, next_step_due, step_snoozed_until.
    """
    if row is None:
        return "the referral is gone"
    if row.stage in CLOSED_STAGES:
        return f"{row.ref} is {row.stage}"
    if kind == NudgeKind.UNCLAIMED:
        return f"{row.ref} was claimed by {row.owner}" if row.owner else None
    if kind == NudgeKind.FIRST_RESPONSE:
        if row.first_response_at is not None:
            return f"{row.ref} had its first response"
        if row.stage in TALKING_STAGES:
            return f"{row.ref} is at {row.stage}"
        if row.owner is None:
            return f"{row.ref} was released"
        if (row.response_snoozed_until or row.claimed_at) != cycle_at:
            return f"{row.ref}'s reminder was snoozed or its claim changed"
        if level == 1 and target != row.owner:
            return f"{row.ref} now belongs to {row.owner}"
        return None
    if kind == NudgeKind.EXPIRING:
        if row.stage not in UNMOVED_STAGES:
            return f"{row.ref} moved to {row.stage}"
        if row.protected_until != cycle_at:
            return f"{row.ref}'s protection changed"
        return None
    if kind == NudgeKind.UNCONFIRMED:
        return f"{row.ref} was confirmed by its partner" if row.confirmed_at else None
    if kind == NudgeKind.NEXT_STEP:
        if row.next_step_due is None:
            return f"{row.ref}'s next step is done"
        if row.owner is None or row.owner != target:
            return f"{row.ref} changed hands"
        if (row.step_snoozed_until or row.next_step_due) != cycle_at:
            return f"{row.ref}'s next step was rescheduled or snoozed"
        return None
    return None
