"""The summary's counts and medians read from the rollups (bot/rollups.py), equal to the direct
queries (summary.py keeps them, and the tests compare the two on every data set).

The rollups are kept per UTC day and month; a period is whole days in HANDOFF_TIMEZONE. So the
whole UTC days inside the period come from `report_day`, and the hours at either end (a zone's
offset) from the direct query on those few referrals. When nothing was received after the
period (the usual case: this quarter, the last 365 days), its last UTC day and month count as
whole.

The attached lane: referrals whose partner's last action fell on a UTC day before the cut's day
are moved to it as rows (`lapse`); on the cut's own day they are read one by one (the index on
partner_action_at, or the intro's time).

Medians: the histogram of spans per partner, month and bucket (plus the partial months at
either end counted from `report_span`) says which bucket holds the middle value(s) and at what
rank; one statement then reads those values from report_span's index, per partner and overall.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Referral, UTCDateTime
from bot.referrals import lanes
from bot.reports.periods import Period
from bot.rollups import COUNTS, ROLES, SPANS, SUMS, report_day, report_hist, report_span
from bot.vocabulary import Role

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

Numbers = dict[str, float]
# A direct count of the referrals `where` selects, with the lane cut or without (summary._counts).
CountQuery = Callable[[sa.ColumnElement[bool], datetime | None], sa.Select[Any]]
DAY = timedelta(days=1)
MEASURES = (*COUNTS, *SUMS)
# The lane counts a lapsed referral leaves: its role becomes attached.
LANES_LEFT = tuple(
    f"{lane}_{role}"
    for lane in ("received", "meetings", "won")
    for role in (Role.SOURCED, Role.INFLUENCED)
)


def _midnight(t: datetime, up: bool) -> datetime:
    t = t.astimezone(UTC)
    floor = datetime.combine(t.date(), time(), UTC)
    return floor + DAY if up and floor < t else floor


def _month(t: datetime, up: bool) -> datetime:
    t = t.astimezone(UTC)
    floor = datetime(t.year, t.month, 1, tzinfo=UTC)
    if up and floor < t:
        return datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)
    return floor


def lapse(numbers: Mapping[Any, Any]) -> Numbers:
    """What a bundle of referrals counts once all of them are in the attached lane (they are
    open, so no won revenue moves: only roles and the lane counts)."""
    out = dict(numbers)
    for role in ROLES:
        out[role] = 0
    out[str(Role.ATTACHED)] = numbers["received"]
    for name in LANES_LEFT:
        out[name] = 0
    return out


def _add(
    into: dict[int, Numbers], partner_id: int, numbers: Mapping[Any, Any], sign: int = 1
) -> None:
    line = into.setdefault(partner_id, dict.fromkeys(MEASURES, 0))
    for name in MEASURES:
        line[name] += sign * (numbers.get(name) or 0)


async def counts(
    conn: AsyncConnection,
    period: Period,
    partner_ids: list[int] | None,
    attached_before: datetime | None,
    direct: CountQuery,
    nothing_later: bool,
) -> dict[int, Numbers]:
    """Per partner with referrals in the period, every measure (roles with the lane applied)."""
    start, end = period.start, period.end
    lo, hi = _midnight(start, up=True), _midnight(end, up=nothing_later)
    chosen = sa.true() if partner_ids is None else referral.c.partner_id.in_(partner_ids)
    out: dict[int, Numbers] = {}
    if lo >= hi:  # less than a UTC day: all of it directly
        for row in await conn.execute(direct(_received(start, end, chosen), attached_before)):
            _add(out, row.partner_id, row._mapping)
        return out
    cut = None if attached_before is None else attached_before.astimezone(UTC).date()
    lapsed = report_day.c.lapse_day < cut if cut is not None else sa.false()
    query = (
        sa.select(
            report_day.c.partner_id,
            lapsed.label("lapsed"),
            *(sa.func.sum(report_day.c[name]).label(name) for name in MEASURES),
        )
        .where(report_day.c.day >= lo.date(), report_day.c.day < hi.date())
        .group_by(report_day.c.partner_id, sa.literal_column("lapsed"))
    )
    if partner_ids is not None:
        query = query.where(report_day.c.partner_id.in_(partner_ids))
    for row in await conn.execute(query):
        numbers = row._mapping
        _add(out, row.partner_id, lapse(numbers) if row.lapsed else numbers)
    if attached_before is not None and lo < attached_before:  # the cut's own day, one by one
        day_start = _midnight(attached_before, up=False)
        # Received before the cut (the last action is no earlier than the intro).
        until = min(hi, attached_before)
        for on_the_day in (  # received that day; or before it, with the partner's action on it
            _received(max(lo, day_start), until, chosen),
            sa.and_(
                _received(lo, min(until, day_start), chosen),
                referral.c.partner_action_at >= day_start,
                referral.c.partner_action_at < attached_before,
            ),
        ):
            lapsed = sa.and_(on_the_day, lanes.lapsed(attached_before))
            for row in await conn.execute(direct(lapsed, None)):
                _add(out, row.partner_id, lapse(row._mapping))
                _add(out, row.partner_id, row._mapping, -1)
    for a, b in ((start, lo), (hi, end)):
        if a < b:
            for row in await conn.execute(direct(_received(a, b, chosen), attached_before)):
                _add(out, row.partner_id, row._mapping)
    return {p: numbers for p, numbers in out.items() if numbers["received"]}


def _month_cover(
    start: datetime, end: datetime, nothing_later: bool
) -> tuple[tuple[date, date] | None, list[tuple[datetime, datetime, int]]]:
    """How to count [start, end)'s spans: whole months [from, to) of report_hist, plus or minus
    ranges of report_span. A partial month at either end is counted directly, or as the whole
    month less the part outside the period, whichever reads fewer days (a zone's offset is a
    few hours; `last 365d` begins mid-month)."""
    first, last = _month(start, up=False), _month(end, up=nothing_later)
    if last <= first:  # within one month, and something was received after it: directly
        return None, [(start, end, 1)]
    ranges: list[tuple[datetime, datetime, int]] = []
    lo = first
    if start > first:
        after = _month(start, up=True)
        if start - first < after - start:
            ranges.append((first, start, -1))
        else:
            ranges.append((start, after, 1))
            lo = after
    hi = last
    if end > last:  # something was received after the period: the last month is partial
        following = _month(end, up=True)
        if following - end < end - last:
            ranges.append((end, following, -1))
            hi = following
        else:
            ranges.append((last, end, 1))
    return ((lo.date(), hi.date()) if lo < hi else None), ranges


def _received(a: datetime, b: datetime, chosen: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.and_(referral.c.received_at >= a, referral.c.received_at < b, chosen)


async def nothing_after(conn: AsyncConnection, end: datetime) -> bool:
    """Whether no referral was received at or after `end` (the period's last day and month
    then count as whole)."""
    later = sa.select(referral.c.id).where(referral.c.received_at >= end).limit(1)
    return (await conn.execute(later)).first() is None


async def medians(
    conn: AsyncConnection, period: Period, partner_ids: list[int] | None, nothing_later: bool
) -> dict[tuple[str, int | None], float]:
    """(what, partner id or None for all) → the median span in seconds, for claim and response."""
    start, end = period.start, period.end
    months, ranges = _month_cover(start, end, nothing_later)
    # hist[what][partner][bucket] = how many
    hist: dict[str, dict[int, dict[int, int]]] = {w: defaultdict(dict) for w in SPANS}

    def count(what: str, partner_id: int, bucket: int, n: int) -> None:
        buckets = hist[what][partner_id]
        buckets[bucket] = buckets.get(bucket, 0) + n

    bounds = []
    if months is not None:
        bounds.append((report_hist, report_hist.c.month, months[0], months[1], 1))
    bounds += [(report_span, report_span.c.received_at, a, b, sign) for a, b, sign in ranges]
    for table, key, low, high, sign in bounds:
        how_many = sa.func.sum(table.c.n) if table is report_hist else sa.func.count()
        query = (
            sa.select(table.c.what, table.c.partner_id, table.c.bucket, how_many.label("n"))
            .where(key >= low, key < high)
            .group_by(table.c.what, table.c.partner_id, table.c.bucket)
        )
        if partner_ids is not None:
            query = query.where(table.c.partner_id.in_(partner_ids))
        for row in await conn.execute(query):
            count(row.what, row.partner_id, row.bucket, sign * int(row.n))

    reads: list[str] = []
    wanted: list[tuple[str, int | None]] = []
    for what, by_partner in hist.items():
        overall: dict[int, int] = {}
        for partner_id, buckets in by_partner.items():
            for bucket, n in buckets.items():
                overall[bucket] = overall.get(bucket, 0) + n
            wanted.append((what, partner_id))
            reads += _middle(len(wanted) - 1, what, partner_id, buckets)
        if overall:
            wanted.append((what, None))
            reads += _middle(len(wanted) - 1, what, None, overall, partner_ids)
    values: dict[int, list[float]] = defaultdict(list)
    if reads:
        union = sa.text(f"SELECT tag, seconds FROM ({' UNION ALL '.join(reads)}) AS middle")
        middle = union.bindparams(
            sa.bindparam("start", start, type_=UTCDateTime),
            sa.bindparam("end", end, type_=UTCDateTime),
        )
        for value in await conn.execute(middle):
            values[value.tag].append(float(value.seconds))
    # AVG of the one or two middle values, as the direct query takes it.
    return {key: sum(values[i]) / len(values[i]) for i, key in enumerate(wanted) if values[i]}


def _middle(
    tag: int,
    what: str,
    partner_id: int | None,
    buckets: dict[int, int],
    partner_ids: list[int] | None = None,
) -> list[str]:
    """SQL reading the middle value(s) of one group's spans: the ranks (n+1)//2 and (n+2)//2,
    found in the histogram, read by offset within their bucket. Written as text: SQLAlchemy
    took longer to build and key a hundred such selects than the database to answer them. Every
    value written in is an int of ours or a SPANS key; the period is bound (:start, :end)."""
    n = sum(buckets.values())
    if n == 0:
        return []
    ranks = sorted({(n + 1) // 2, (n + 2) // 2})
    at: dict[int, list[int]] = defaultdict(list)  # bucket -> offsets within it
    seen = 0
    for bucket in sorted(buckets):
        inside = buckets[bucket]
        for rank in ranks:
            if seen < rank <= seen + inside:
                at[bucket].append(rank - seen - 1)
        seen += inside
    if what not in SPANS:
        raise ValueError(f"not a span: {what!r}")
    whose = ""
    if partner_id is not None:
        whose = f" AND partner_id = {int(partner_id)}"
    elif partner_ids is not None:
        whose = f" AND partner_id IN ({', '.join(str(int(p)) for p in partner_ids) or 'NULL'})"
    return [
        f"SELECT {int(tag)} AS tag, seconds FROM (SELECT seconds FROM report_span "
        f"WHERE what = '{what}' AND bucket = {int(bucket)}{whose} "
        "AND received_at >= :start AND received_at < :end "
        f"ORDER BY seconds LIMIT {len(offsets)} OFFSET {int(offsets[0])}) AS s{int(tag)}_{bucket}"
        for bucket, offsets in at.items()
    ]


def differences(a: Any, b: Any) -> list[str]:
    """Where two summaries (summary.Summary) differ, as `partner.field: a != b` (money to the
    cent)."""
    out = []
    for x, y in zip([a.totals, *a.lines], [b.totals, *b.lines], strict=True):
        for f in fields(x):
            u, v = getattr(x, f.name), getattr(y, f.name)
            if isinstance(u, dict):
                keys = set(u) | set(v)
                same = all(_same(u.get(k, 0), v.get(k, 0)) for k in keys)
            else:
                same = _same(u, v)
            if not same:
                out.append(f"{x.partner or 'total'}.{f.name}: {u!r} != {v!r}")
    for name in ("partners_registered", "partners_activated", "median_days_to_first_referral"):
        if getattr(a, name) != getattr(b, name):
            out.append(f"{name}: {getattr(a, name)!r} != {getattr(b, name)!r}")
    return out


def _same(u: Any, v: Any) -> bool:
    if isinstance(u, float) and isinstance(v, float | int):
        return abs(u - v) < 0.005
    return bool(u == v)
