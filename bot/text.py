"""Pure words and numbers as people write and read them: durations, crontab lines, time zones,
days, stage labels, the titles of a digest's sections. No I/O; anything may import it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.vocabulary import Stage

_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """`30m`, `4h`, `2d`, `1w`, or combined as `1h30m`; ValueError naming what was wrong."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip().lower()
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        raise ValueError(f"{value!r} is not a duration (expected e.g. 30m, 4h, 2d)")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a duration longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest spelling parse_duration reads back: 30m, 4h, 2d, 1h30m."""
    seconds = int(delta.total_seconds())
    out = ""
    for unit in "dhms":
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            out += f"{n}{unit}"
    return out or "0s"


_CRON_FIELDS = 5


def parse_cron(value: str, zone: ZoneInfo) -> CronTrigger:
    """A 5-field crontab line (`0 9 * * mon`) as an APScheduler CronTrigger in `zone`."""
    text = " ".join(str(value).split())
    if len(text.split(" ")) != _CRON_FIELDS:
        raise ValueError(
            f"{value!r} is not a cron expression (expected 5 fields, e.g. '0 9 * * mon')"
        )
    try:
        trigger = CronTrigger.from_crontab(text, timezone=zone)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a cron expression ({exc})") from None
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=zone))
    second = first and trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if first is None or second is None:
        raise ValueError(f"{value!r} never fires")
    if second - first < timedelta(hours=1):
        raise ValueError(f"{value!r} fires more than hourly (a digest is at most hourly)")
    return trigger


def zone_named(value: str) -> ZoneInfo:
    """An IANA time zone; ValueError naming the value otherwise."""
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone (expected e.g. UTC or Europe/Berlin)"
        ) from None


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day(due: date) -> str:
    """A due date as "Fri 2024-05-03", independent of the process locale."""
    return f"{_WEEKDAYS[due.weekday()]} {due.isoformat()}"


def duration(delta: timedelta) -> str:
    """A duration as "45m", "2h 05m" or "3d 4h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def stage_label(stage: str) -> str:
    """The stage as people read it: "Contacted" for "contacted"."""
    return Stage(stage).value.capitalize()


# The digest's sections, in order; a partner's answer under a title is about none of its items.
NEW, OPEN, CLOSED = SECTIONS = ("New referrals", "Open referrals", "Closed this period")


def previous_fire(
    trigger: CronTrigger,
    now: datetime,
    *,
    windows: tuple[timedelta, ...] = (
        timedelta(hours=2),
        timedelta(days=8),
        timedelta(days=35),
        timedelta(days=400),
    ),
) -> datetime | None:
    """The trigger's latest fire time at or before `now`, in UTC, or None within a year.

    CronTrigger only looks forward, so this walks forward from `now` minus a window: two hours
    first (an hourly schedule, which the digest sweep asks about every minute), then a week
    (most schedules), a month, a year, so that no schedule costs more than a few dozen steps.
    """
    for window in windows:
        slot = None
        moment = trigger.get_next_fire_time(None, now - window)
        while moment is not None and moment <= now:
            slot = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        if slot is not None:
            return slot.astimezone(UTC)
    return None
