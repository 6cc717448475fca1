"""digests: partner schedules and zones, contacts' mail state, digests, outgoing mail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("digest_cron", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("stage_emails", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("partner_address") as batch:
        batch.add_column(sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bounce_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("slack_user") as batch:
        batch.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("referrals", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "period_end", name="uq_digest_period"),
    )
    op.create_index("ix_digest_partner_id", "digest", ["partner_id"])
    op.create_table(
        "mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=400), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"]),
        sa.ForeignKeyConstraint(["digest_id"], ["digest.id"]),
        sa.ForeignKeyConstraint(["referral_id"], ["referral.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_event_id", "mail", ["event_id"])
    op.create_index("ix_mail_partner_id", "mail", ["partner_id"])
    op.create_index("ix_mail_digest_id", "mail", ["digest_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("mail_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbox_mail_id_mail", "mail", ["mail_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_mail_id_mail", type_="foreignkey")
        batch.drop_column("mail_id")
    op.drop_index("ix_mail_event_id", table_name="mail")
    op.drop_index("ix_mail_digest_id", table_name="mail")
    op.drop_index("ix_mail_partner_id", table_name="mail")
    op.drop_table("mail")
    op.drop_index("ix_digest_partner_id", table_name="digest")
    op.drop_table("digest")
    with op.batch_alter_table("slack_user") as batch:
        batch.drop_column("name")
    with op.batch_alter_table("partner_address") as batch:
        batch.drop_column("bounce_reason")
        batch.drop_column("bounced_at")
        batch.drop_column("unsubscribed_at")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("stage_emails")
        batch.drop_column("timezone")
        batch.drop_column("digest_cron")
