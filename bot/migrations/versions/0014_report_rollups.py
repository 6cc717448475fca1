"""Report rollups kept current by triggers (issue 24: a year of a million referrals summed in
the time a week took)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00
"""

import sqlalchemy as sa
from alembic import op

from bot import rollups

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), primary_key=True),
        sa.Column("lapse_day", sa.Date(), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in rollups.COUNTS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in rollups.SUMS),
        sqlite_with_rowid=False,  # SQLite keeps the rows in key order: days read in a row
        postgresql_with={"fillfactor": 70},  # room for in-place (HOT) updates of the counts
    )
    op.create_table(
        "report_span",
        sa.Column("referral_id", sa.Integer(), primary_key=True),
        sa.Column("what", sa.String(16), primary_key=True),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    for index in rollups.report_span.indexes:
        op.create_index(index.name, "report_span", [c.name for c in index.columns])
    op.create_table(
        "report_hist",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), primary_key=True),
        sa.Column("what", sa.String(16), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
        postgresql_with={"fillfactor": 70},
    )
    # The attached lane's boundary day is read by the partner's last action.
    op.create_index("ix_referral_partner_action", "referral", ["partner_action_at"])
    dialect = op.get_bind().dialect.name
    for statement in (*rollups.fill(dialect), *rollups.create_triggers(dialect)):
        op.execute(statement)


def downgrade() -> None:
    for statement in rollups.drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_referral_partner_action", table_name="referral")
    op.drop_table("report_hist")
    op.drop_table("report_span")
    op.drop_table("report_day")
