"""Report rollups: what `/attribution` adds up, kept current by the database itself.

A summary over a year of a million referrals cannot read each referral in 300 ms, so three
tables hold it pre-added, and triggers on `referral` keep them current in the same transaction
as every change that moves a number, whichever code path (or SQL console) makes it:

- `report_day`: per partner, UTC day of receipt and *lapse day*, every count and sum the summary
  shows (received, claimed, meetings, roles, stages, revenue by role, logged, confirmed, …).
  The attached lane depends on the report's instant, so referrals that can lapse (open, role
  from a claim, not a manager's) are kept apart by the UTC day of their partner's last action;
  the reader moves those older than the cut to the attached lane.
- `report_span`: each referral's time to claim and to first response, in seconds exactly as
  the direct query computes them, with its bucket (65, geometric from 30 s to 180 days).
- `report_hist`: per partner, UTC month, span and bucket, how many. The reader finds the
  bucket that holds a median from these counts and reads the one or two middle values from
  `report_span`'s index, so medians stay exact.

The trigger bodies are generated here for SQLite and PostgreSQL from one list of columns, and
`fill()` computes the same rows with one INSERT … SELECT (the migration's backfill).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import SQLModel

from bot.db import quoted
from bot.models import UTCDateTime
from bot.vocabulary import CLOSED_STAGES, Role, Stage

ROLES = tuple(str(r) for r in Role)
LAPSING = (str(Role.SOURCED), str(Role.INFLUENCED), str(Role.ASSISTED_CLOSE))
NEVER = date(9999, 12, 31)  # the lapse day of a referral that cannot lapse
SPANS = {"claim": "claimed_at", "response": "first_response_at"}
# Upper bounds of the span buckets, in seconds: geometric, 30 s to 180 days (a bucket ~23%
# wide); the last bucket holds everything longer.
BOUNDS = tuple(30.0 * (180 * 86400 / 30.0) ** (i / 63) for i in range(64))

# Referral columns whose change can move a count (the day trigger) or a span (the span trigger).
DAY_COLUMNS = (
    *("partner_id", "received_at", "claimed_at", "first_response_at", "met_at", "role"),
    *("role_overridden_at", "opportunity_at", "stage", "amount", "action_type", "confirmed_at"),
    "partner_action_at",
)
SPAN_COLUMNS = ("partner_id", "received_at", "claimed_at", "first_response_at")


def _when(condition: str, then: str = "1", otherwise: str = "0") -> str:
    return f"CASE WHEN {condition} THEN {then} ELSE {otherwise} END"


def measures(r: str) -> dict[str, str]:
    """Each rolled-up column and what one referral (row alias `r`) adds to it, in SQL."""
    won, met = f"{r}.stage = {quoted(str(Stage.WON))}", f"{r}.met_at IS NOT NULL"
    amount = f"COALESCE({r}.amount, 0.0)"
    logged = f"{r}.action_type IS NOT NULL"
    out = {
        "received": "1",
        "claimed": _when(f"{r}.claimed_at IS NOT NULL"),
        "responded": _when(f"{r}.first_response_at IS NOT NULL"),
        "meetings": _when(met),
        **{role: _when(f"{r}.role = {quoted(role)}") for role in ROLES},
        "overridden": _when(f"{r}.role_overridden_at IS NOT NULL"),
        "opportunities": _when(f"{r}.opportunity_at IS NOT NULL"),
        "won": _when(won),
        "lost": _when(f"{r}.stage = {quoted(str(Stage.LOST))}"),
        "logged": _when(logged),
        "confirmed": _when(f"{logged} AND {r}.confirmed_at IS NOT NULL"),
    }
    for lane, condition in (("received", "1 = 1"), ("meetings", met), ("won", won)):
        for role in (str(Role.SOURCED), str(Role.INFLUENCED)):
            out[f"{lane}_{role}"] = _when(f"{condition} AND {r}.role = {quoted(role)}")
    out["revenue"] = _when(won, amount, "0.0")
    for role in ROLES:
        out[f"revenue_{role}"] = _when(f"{won} AND {r}.role = {quoted(role)}", amount, "0.0")
    out["revenue_none"] = _when(f"{won} AND {r}.role IS NULL", amount, "0.0")
    return out


COUNTS = tuple(name for name in measures("r") if not name.startswith("revenue"))
SUMS = tuple(name for name in measures("r") if name.startswith("revenue"))


metadata = SQLModel.metadata
report_day = sa.Table(
    "report_day",
    metadata,
    # The key begins with the day: a period reads a range of days (all partners, or some).
    sa.Column("day", sa.Date, primary_key=True),  # UTC day of receipt
    sa.Column("partner_id", sa.Integer, primary_key=True),
    sa.Column("lapse_day", sa.Date, primary_key=True),  # NEVER: cannot lapse
    *(sa.Column(name, sa.Integer, nullable=False) for name in COUNTS),
    *(sa.Column(name, sa.Float, nullable=False) for name in SUMS),
    sqlite_with_rowid=False,  # rows stored in key order: a period's days are read in a row
    # Room on each page: a count moved is rewritten in place (a HOT update), not bloating.
    postgresql_with={"fillfactor": 70},
)
report_span = sa.Table(
    "report_span",
    metadata,
    sa.Column("referral_id", sa.Integer, primary_key=True),
    sa.Column("what", sa.String(16), primary_key=True),  # claim, response
    sa.Column("partner_id", sa.Integer, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("bucket", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Index("ix_report_span_rank", "what", "partner_id", "bucket", "seconds", "received_at"),
    sa.Index("ix_report_span_rank_all", "what", "bucket", "seconds", "received_at"),
    sa.Index("ix_report_span_received", "received_at", "what", "partner_id", "bucket"),
)
report_hist = sa.Table(
    "report_hist",
    metadata,
    sa.Column("month", sa.Date, primary_key=True),  # its first day, UTC
    sa.Column("partner_id", sa.Integer, primary_key=True),
    sa.Column("what", sa.String(16), primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
    postgresql_with={"fillfactor": 70},
)


class Dialect:
    """The few SQL expressions the two backends write differently."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def day(self, x: str) -> str:
        return f"(({x}) AT TIME ZONE 'UTC')::date" if self.pg else f"date({x})"

    def month(self, x: str) -> str:
        return (
            f"date_trunc('month', ({x}) AT TIME ZONE 'UTC')::date"
            if self.pg
            else f"strftime('%Y-%m-01', {x})"
        )

    def seconds(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))::float"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def never(self) -> str:
        return f"DATE '{NEVER}'" if self.pg else f"'{NEVER}'"

    def lapse_day(self, r: str) -> str:
        closed = ", ".join(quoted(str(s)) for s in sorted(CLOSED_STAGES))
        lapsing = ", ".join(quoted(role) for role in LAPSING)
        can_lapse = (
            f"{r}.stage NOT IN ({closed}) AND {r}.role_overridden_at IS NULL "
            f"AND ({r}.role IS NULL OR {r}.role IN ({lapsing}))"
        )
        return _when(
            can_lapse, self.day(f"COALESCE({r}.partner_action_at, {r}.received_at)"), self.never()
        )


def bucket(s: str) -> str:
    """The bucket of `s` seconds, in SQL."""
    arms = " ".join(f"WHEN {s} < {bound!r} THEN {i}" for i, bound in enumerate(BOUNDS))
    return f"CASE {arms} ELSE {len(BOUNDS)} END"


def _day_upsert(d: Dialect, r: str, sign: str) -> str:
    names = list(measures(r))
    values = [f"{sign}({expr})" for expr in measures(r).values()]
    return (
        f"INSERT INTO report_day (partner_id, day, lapse_day, {', '.join(names)}) "
        f"VALUES ({r}.partner_id, {d.day(f'{r}.received_at')}, {d.lapse_day(r)}, "
        f"{', '.join(values)}) ON CONFLICT (day, partner_id, lapse_day) DO UPDATE SET "
        + ", ".join(f"{n} = report_day.{n} + excluded.{n}" for n in names)
    )


def _hist_add(d: Dialect, referral_id: str, sign: str) -> str:
    return (
        "INSERT INTO report_hist (partner_id, month, what, bucket, n) "
        f"SELECT partner_id, {d.month('received_at')}, what, bucket, {sign}1 FROM report_span "
        f"WHERE referral_id = {referral_id} ON CONFLICT (month, partner_id, what, bucket) "
        "DO UPDATE SET n = report_hist.n + excluded.n"
    )


def _span_inserts(d: Dialect, r: str) -> list[str]:
    out = []
    for what, column in SPANS.items():
        out.append(
            "INSERT INTO report_span (referral_id, what, partner_id, received_at, seconds, bucket) "
            f"SELECT {r}.id, {quoted(what)}, {r}.partner_id, {r}.received_at, x.s, {bucket('x.s')} "
            f"FROM (SELECT {d.seconds(f'{r}.{column}', f'{r}.received_at')} AS s) AS x "
            f"WHERE {r}.{column} IS NOT NULL"
        )
    return out


def _day_statements(d: Dialect, op: str) -> list[str]:
    out = []
    if op in ("UPDATE", "DELETE"):
        out.append(_day_upsert(d, "OLD", "-"))
    if op in ("INSERT", "UPDATE"):
        out.append(_day_upsert(d, "NEW", ""))
    return out


def _span_statements(d: Dialect, op: str) -> list[str]:
    out = []
    if op in ("UPDATE", "DELETE"):
        out += [_hist_add(d, "OLD.id", "-"), "DELETE FROM report_span WHERE referral_id = OLD.id"]
    if op in ("INSERT", "UPDATE"):
        out += [*_span_inserts(d, "NEW"), _hist_add(d, "NEW.id", "")]
    return out


TRIGGERS = {"day": (_day_statements, DAY_COLUMNS), "span": (_span_statements, SPAN_COLUMNS)}


def create_triggers(dialect_name: str) -> list[str]:
    """The DDL that makes the database keep the rollups current."""
    d = Dialect(dialect_name)
    out = []
    for kind, (statements, columns) in TRIGGERS.items():
        if d.pg:
            arms = []
            for op in ("INSERT", "UPDATE", "DELETE"):
                body = "".join(f"    {s};\n" for s in statements(d, op))
                arms.append(f"  {'IF' if op == 'INSERT' else 'ELSIF'} TG_OP = '{op}' THEN\n{body}")
            out.append(
                f"CREATE OR REPLACE FUNCTION report_{kind}_rollup() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$\nBEGIN\n{''.join(arms)}  END IF;\n  RETURN NULL;\nEND\n$$"
            )
            out.append(
                f"CREATE TRIGGER report_{kind}_rollup AFTER INSERT OR DELETE OR UPDATE OF "
                f"{', '.join(columns)} ON referral FOR EACH ROW "
                f"EXECUTE FUNCTION report_{kind}_rollup()"
            )
            continue
        for op in ("INSERT", "UPDATE", "DELETE"):
            event = f"UPDATE OF {', '.join(columns)}" if op == "UPDATE" else op
            body = "".join(f"  {s};\n" for s in statements(d, op))
            out.append(
                f"CREATE TRIGGER report_{kind}_{op.lower()} AFTER {event} ON referral "
                f"FOR EACH ROW BEGIN\n{body}END"
            )
    return out


def drop_triggers(dialect_name: str) -> list[str]:
    if dialect_name == "postgresql":
        return [
            s
            for kind in TRIGGERS
            for s in (
                f"DROP TRIGGER IF EXISTS report_{kind}_rollup ON referral",
                f"DROP FUNCTION IF EXISTS report_{kind}_rollup()",
            )
        ]
    return [
        f"DROP TRIGGER IF EXISTS report_{kind}_{op}"
        for kind in TRIGGERS
        for op in ("insert", "update", "delete")
    ]


def fill(dialect_name: str) -> list[str]:
    """Statements that empty the rollups and add up every referral again: the migration's
    backfill, and the tests' proof that the triggers left exactly that."""
    d = Dialect(dialect_name)
    sums = ", ".join(f"SUM({expr})" for expr in measures("r").values())
    spans = [
        f"SELECT r.id, {quoted(what)}, r.partner_id, r.received_at, x.s, {bucket('x.s')} FROM "
        f"(SELECT id, {d.seconds(f'{column}', 'received_at')} AS s FROM referral "
        f"WHERE {column} IS NOT NULL) AS x JOIN referral AS r ON r.id = x.id"
        for what, column in SPANS.items()
    ]
    return [
        "DELETE FROM report_day",
        "DELETE FROM report_span",
        "DELETE FROM report_hist",
        f"INSERT INTO report_day (partner_id, day, lapse_day, {', '.join(measures('r'))}) "
        f"SELECT r.partner_id, {d.day('r.received_at')}, {d.lapse_day('r')}, {sums} "
        "FROM referral AS r GROUP BY 1, 2, 3",
        *(
            "INSERT INTO report_span (referral_id, what, partner_id, received_at, seconds, "
            f"bucket) {select}"
            for select in spans
        ),
        "INSERT INTO report_hist (partner_id, month, what, bucket, n) "
        f"SELECT partner_id, {d.month('received_at')}, what, bucket, COUNT(*) FROM report_span "
        "GROUP BY 1, 2, 3, 4",
    ]
