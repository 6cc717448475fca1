"""webhook_endpoint and webhook_delivery: every event as a signed webhook, through the outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.Text(), nullable=False, server_default="*"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("failing_since", WHEN, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failure_at", WHEN, nullable=True),
        sa.Column("last_success_at", WHEN, nullable=True),
        sa.Column("paused_at", WHEN, nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("removed_at", WHEN, nullable=True),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "endpoint_id", sa.Integer(), sa.ForeignKey("webhook_endpoint.id"), nullable=False
        ),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=True),
        sa.Column("referral_id", sa.Integer(), sa.ForeignKey("referral.id"), nullable=True),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("retry_from", WHEN, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", WHEN, nullable=True),
        sa.Column("delivered_at", WHEN, nullable=True),
    )
    op.create_index("ix_webhook_delivery_endpoint_id", "webhook_delivery", ["endpoint_id"])
    op.create_index("ix_webhook_delivery_status", "webhook_delivery", ["status"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_delivery_id", "webhook_delivery", ["delivery_id"], ["id"]
        )
    with op.batch_alter_table("slack_user") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
    unfinished = sa.text("done_at IS NULL AND kind = 'webhook'")
    op.create_index(
        "ix_outbox_webhook_order",
        "outbox",
        ["referral_id", "target", "id"],
        postgresql_where=unfinished,
        sqlite_where=unfinished,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_webhook_order", "outbox")
    with op.batch_alter_table("slack_user") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_delivery_id", type_="foreignkey")
        batch.drop_column("delivery_id")
    op.drop_index("ix_webhook_delivery_status", "webhook_delivery")
    op.drop_index("ix_webhook_delivery_endpoint_id", "webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
