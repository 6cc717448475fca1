"""nudges: what was sent, sweep runs, Slack time zones, snoozes, partner SLA

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("first_response_sla_seconds", sa.Integer(), nullable=True))
    with op.batch_alter_table("referral") as batch:
        batch.add_column(
            sa.Column("response_snoozed_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("step_snoozed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "nudge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("cycle_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referral.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject", "cycle_at", "level", name="uq_nudge_once"),
    )
    op.create_index("ix_nudge_referral_id", "nudge", ["referral_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("nudge_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("target", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_outbox_nudge_id_nudge", "nudge", ["nudge_id"], ["id"])
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "slack_user",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("slack_user")
    op.drop_table("job_run")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_nudge_id_nudge", type_="foreignkey")
        batch.drop_column("target")
        batch.drop_column("nudge_id")
    op.drop_index("ix_nudge_referral_id", table_name="nudge")
    op.drop_table("nudge")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("step_snoozed_until")
        batch.drop_column("response_snoozed_until")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("first_response_sla_seconds")
