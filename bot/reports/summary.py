"""What each partner brought in a period, and what became of it: SQL aggregates, both backends.

A period's cohort is the referrals *received* in it; everything else about them (claimed,
meetings, won, revenue) is what has happened to that cohort as of now. Medians are taken in
SQL with window functions (SQLite has no percentile function), and time spans with
`seconds_between`, compiled for each backend. Three queries make a summary whatever the size:
the counts per partner, the medians per partner and overall, and each partner's first and
last referral (index lookups on (partner_id, received_at)); partner activation is worked out
from that last one (activation.py).

The attached lane is computed, never stored: given HANDOFF_ATTACHED_AFTER, a referral whose
partner has no recorded action (partner_action_at, else the intro) for that long before the
report's instant counts as attached, unless a manager set its role or it is disputed or
unattributed. The partner's next action moves partner_action_at and so restores its role.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from bot.db import as_utc
from bot.models import Event, Partner, Referral
from bot.referrals import lanes
from bot.reports import rolled as rolled_up
from bot.reports.activation import activation
from bot.reports.periods import Period
from bot.vocabulary import EventKind, Role, Stage

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]

ROLES = tuple(str(r) for r in Role)  # sourced, influenced, assisted_close, …, disputed
WON, LOST = str(Stage.WON), str(Stage.LOST)
# Events that are a manager's word on a partner's role: the report marks the role overridden.
OVERRIDES = (str(EventKind.ROLE_OVERRIDDEN), str(EventKind.DISPUTE_RESOLVED))
# The roles a partner's long silence turns into attached (None: not claimed yet). A manager's
# word, a dispute and an unattributed referral stay as they are.
ATTACHED = lanes.ATTACHED
NO_ROLE = "none"  # the revenue of won referrals nobody gave a role


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads as the SQL it becomes
    """later - earlier, in seconds, as a float, on SQLite and PostgreSQL."""

    type = sa.Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)}))::float"
    )


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


@dataclass
class Line:
    """One partner's numbers for the period, or the totals (partner None)."""

    partner: str | None
    name: str
    received: int = 0
    claimed: int = 0
    median_claim_minutes: float | None = None
    median_first_response_hours: float | None = None
    meetings: int = 0
    sourced: int = 0
    influenced: int = 0
    assisted_close: int = 0
    attached: int = 0
    unattributed: int = 0
    disputed: int = 0
    overridden: int = 0  # roles a manager set (override or dispute settled)
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    revenue: float = 0.0
    logged: int = 0  # logged in Slack by a rep (no intro email)
    confirmed: int = 0  # of those, the partner confirmed by email
    # Won revenue by role (the attached lane applied), and NO_ROLE for won ones without a role.
    role_revenue: dict[str, float] = field(default_factory=dict)
    registered_at: datetime | None = None
    first_referral_at: datetime | None = None  # ever, not only in the period
    last_referral_at: datetime | None = None  # ever, up to the report's instant
    # For the chart: how many of the received / meetings / won had the partner sourced or
    # influenced (the rest is every other role, or none yet).
    lanes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def booking_rate(self) -> float | None:
        return self.meetings / self.received if self.received else None

    @property
    def conversion(self) -> float | None:
        return self.won / self.received if self.received else None

    @property
    def average_deal(self) -> float | None:
        return self.revenue / self.won if self.won else None

    @property
    def unclaimed(self) -> int:
        return self.received - self.claimed

    @property
    def unconfirmed(self) -> int:
        return self.logged - self.confirmed

    def days_to_first_referral(self) -> float | None:
        if self.registered_at is None or self.first_referral_at is None:
            return None
        return max(0.0, (self.first_referral_at - self.registered_at).total_seconds() / 86400)

    def days_since_last_referral(self, as_of: datetime) -> float | None:
        if self.last_referral_at is None:
            return None
        return max(0.0, (as_of - self.last_referral_at).total_seconds() / 86400)


COUNTED = tuple(
    f.name
    for f in fields(Line)
    if f.type == "int" and f.name not in ("partner", "name")  # the plain counts
)


@dataclass
class Summary:
    period: Period
    as_of: datetime  # now, or the period's end when it is over
    lines: list[Line]
    totals: Line
    attached_after: timedelta | None = None  # the attached lane's threshold, when applied
    # Of the partners in the report: registered before as_of, with a referral before as_of, and
    # the median days from registration to the first referral among the latter.
    partners_registered: int = 0
    partners_activated: int = 0
    median_days_to_first_referral: float | None = None

    @property
    def activation_rate(self) -> float | None:
        registered = self.partners_registered
        return self.partners_activated / registered if registered else None

    def line(self, slug: str) -> Line | None:
        return next((line for line in self.lines if line.partner == slug), None)


def in_period(period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(referral.c.received_at >= period.start, referral.c.received_at < period.end)


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def role_as_of(attached_before: datetime | None) -> sa.ColumnElement[str | None]:
    """The referral's role as the report counts it: attached when its partner has done nothing
    recorded since `attached_before` (and its role may lapse); its stored role otherwise."""
    if attached_before is None:
        return referral.c.role
    return sa.case((lanes.lapsed(attached_before), sa.literal(ATTACHED)), else_=referral.c.role)


def _won_sum(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[float]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, referral.c.amount), else_=0.0)), 0.0)


def _counts(where: sa.ColumnElement[bool], attached_before: datetime | None) -> sa.Select[Any]:
    """Everything countable, one row per partner with referrals in the period."""
    met = referral.c.met_at.is_not(None)
    won = referral.c.stage == WON
    role = role_as_of(attached_before)
    sourced = role == str(Role.SOURCED)
    influenced = role == str(Role.INFLUENCED)
    logged = referral.c.action_type.is_not(None)
    columns: list[Any] = [
        referral.c.partner_id,
        sa.func.count().label("received"),
        sa.func.count(referral.c.claimed_at).label("claimed"),
        _count(met).label("meetings"),
        *(_count(role == name).label(name) for name in ROLES),
        sa.func.count(referral.c.role_overridden_at).label("overridden"),
        sa.func.count(referral.c.opportunity_at).label("opportunities"),
        _count(won).label("won"),
        _count(referral.c.stage == LOST).label("lost"),
        _won_sum(won).label("revenue"),
        _count(logged).label("logged"),
        _count(sa.and_(logged, referral.c.confirmed_at.is_not(None))).label("confirmed"),
        *(_won_sum(sa.and_(won, role == name)).label(f"revenue_{name}") for name in ROLES),
        _won_sum(sa.and_(won, role.is_(None))).label(f"revenue_{NO_ROLE}"),
    ]
    for name, condition in (("received", sa.true()), ("meetings", met), ("won", won)):
        columns.append(_count(sa.and_(condition, sourced)).label(f"{name}_sourced"))
        columns.append(_count(sa.and_(condition, influenced)).label(f"{name}_influenced"))
    return sa.select(*columns).where(where).group_by(referral.c.partner_id)


def _medians(where: sa.ColumnElement[bool]) -> sa.CompoundSelect:
    """Median minutes to claim and seconds to first response, per partner and overall.

    Rows are (what, partner_id or NULL for overall, median seconds): the middle value of each
    ordered group, or the mean of the two middle ones.
    """
    parts = []
    for what, at in (("claim", referral.c.claimed_at), ("response", referral.c.first_response_at)):
        spans = (
            sa.select(
                referral.c.partner_id.label("p"),
                seconds_between(at, referral.c.received_at).label("v"),
            )
            .where(where, at.is_not(None))
            .subquery()
        )
        for by_partner in (True, False):
            key = spans.c.p if by_partner else sa.literal(0)
            ranked = sa.select(
                spans.c.p,
                spans.c.v,
                sa.func.row_number().over(partition_by=key, order_by=spans.c.v).label("rn"),
                sa.func.count().over(partition_by=key).label("n"),
            ).subquery()
            middle = sa.or_(
                ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2
            )
            group = ranked.c.p if by_partner else sa.null()
            query = sa.select(
                sa.literal(what).label("what"),
                group.label("partner_id"),
                sa.func.avg(ranked.c.v).label("seconds"),
            ).where(middle)
            parts.append(query.group_by(ranked.c.p) if by_partner else query)
    return sa.union_all(*parts)


def _partners(partner_slugs: Iterable[str] | None, cut: datetime) -> sa.Select[Any]:
    """Every partner (or the chosen ones), with its first and last referral ever (before cut)."""
    first = (
        sa.select(sa.func.min(referral.c.received_at))
        .where(referral.c.partner_id == partner.c.id)
        .correlate(partner)
        .scalar_subquery()
    )
    last = (
        sa.select(sa.func.max(referral.c.received_at))
        .where(referral.c.partner_id == partner.c.id, referral.c.received_at < cut)
        .correlate(partner)
        .scalar_subquery()
    )
    query = sa.select(
        partner.c.id,
        partner.c.slug,
        partner.c.name,
        partner.c.created_at,
        first.label("first"),
        last.label("last"),
    ).order_by(partner.c.slug)
    if partner_slugs is not None:
        query = query.where(partner.c.slug.in_(list(partner_slugs)))
    return query


async def summary(
    conn: AsyncConnection,
    period: Period,
    *,
    now: datetime,
    partners: Iterable[str] | None = None,
    attached_after: timedelta | None = None,
    rolled: bool = True,
) -> Summary:
    """Each partner's line for the period (all partners, or those named), and the totals.

    With `attached_after` (HANDOFF_ATTACHED_AFTER), referrals whose partner did nothing for that
    long before the report's instant count as attached; without it, every stored role as it is.
    `rolled`: read the rollups (rolled.py); False reads every referral of the period directly,
    which is the rollups' check (HANDOFF_REPORT_CHECK=1 makes every summary compare the two).
    """
    found = await _summary(conn, period, now, partners, attached_after, rolled)
    if rolled and os.environ.get("HANDOFF_REPORT_CHECK"):
        direct = await _summary(conn, period, now, partners, attached_after, rolled=False)
        if wrong := rolled_up.differences(found, direct):
            raise AssertionError(f"the rollups disagree with the referrals: {wrong}")
    return found


async def _summary(
    conn: AsyncConnection,
    period: Period,
    now: datetime,
    partners: Iterable[str] | None,
    attached_after: timedelta | None,
    rolled: bool,
) -> Summary:
    as_of = min(now, period.end)
    attached_before = None if attached_after is None else as_of - attached_after
    chosen = list(partners) if partners is not None else None
    rows = (await conn.execute(_partners(chosen, as_of))).all()
    ids = None if chosen is None else [r.id for r in rows]
    if rolled:
        nothing_later = await rolled_up.nothing_after(conn, period.end)
        counts = await rolled_up.counts(conn, period, ids, attached_before, _counts, nothing_later)
        medians = await rolled_up.medians(conn, period, ids, nothing_later)
    else:
        where = in_period(period)
        if ids is not None:
            where = sa.and_(where, referral.c.partner_id.in_(ids))
        counts = {
            r.partner_id: dict(r._mapping)
            for r in await conn.execute(_counts(where, attached_before))
        }
        medians = {(r.what, r.partner_id): r.seconds for r in await conn.execute(_medians(where))}
    lines = []
    for row in rows:
        line = Line(
            partner=row.slug,
            name=row.name,
            registered_at=as_utc(row.created_at),
            first_referral_at=as_utc(row.first),
            last_referral_at=as_utc(row.last),
        )
        counted = counts.get(row.id)
        if counted:
            _fill(line, counted)
        line.median_claim_minutes = _scaled(medians.get(("claim", row.id)), 60)
        line.median_first_response_hours = _scaled(medians.get(("response", row.id)), 3600)
        lines.append(line)

    totals = Line(partner=None, name="Total")
    for line in lines:
        for name in COUNTED:
            setattr(totals, name, getattr(totals, name) + getattr(line, name))
        totals.revenue += line.revenue
        for name, amount in line.role_revenue.items():
            totals.role_revenue[name] = totals.role_revenue.get(name, 0.0) + amount
        for lane, (s, i) in line.lanes.items():
            before = totals.lanes.get(lane, (0, 0))
            totals.lanes[lane] = (before[0] + s, before[1] + i)
    totals.median_claim_minutes = _scaled(medians.get(("claim", None)), 60)
    totals.median_first_response_hours = _scaled(medians.get(("response", None)), 3600)
    firsts = [line.first_referral_at for line in lines if line.first_referral_at]
    lasts = [line.last_referral_at for line in lines if line.last_referral_at]
    totals.first_referral_at = min(firsts) if firsts else None
    totals.last_referral_at = max(lasts) if lasts else None
    registered, activated, median_days = activation(lines, as_of)
    return Summary(
        period,
        as_of,
        lines,
        totals,
        attached_after=attached_after,
        partners_registered=registered,
        partners_activated=activated,
        median_days_to_first_referral=median_days,
    )


def _fill(line: Line, row: Mapping[str, Any]) -> None:
    for name in COUNTED:
        if name in row:
            setattr(line, name, int(row[name] or 0))
    line.revenue = float(row["revenue"] or 0.0)
    line.role_revenue = {name: float(row[f"revenue_{name}"] or 0.0) for name in (*ROLES, NO_ROLE)}
    for lane in ("received", "meetings", "won"):
        line.lanes[lane] = (
            int(row[f"{lane}_sourced"] or 0),
            int(row[f"{lane}_influenced"] or 0),
        )


def _scaled(seconds: Any, unit: float) -> float | None:
    return None if seconds is None else round(float(seconds) / unit, 1)
