"""Receipts, referrals logged in Slack and confirmed by the partner, meetings from calendar mail,
company overlap, expiry reminders and the attached lane (issue 23)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(
            sa.Column("receipts", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("action_type", sa.String(32), nullable=True))
        batch.add_column(sa.Column("action_at", _AT, nullable=True))
        batch.add_column(sa.Column("proof_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("logged_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("confirm_asked_at", _AT, nullable=True))
        batch.add_column(sa.Column("confirmed_at", _AT, nullable=True))
        batch.add_column(sa.Column("confirm_message_id", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("partner_action_at", _AT, nullable=True))
        batch.add_column(sa.Column("overlap_with_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("meeting_at", _AT, nullable=True))
        batch.add_column(sa.Column("meeting_uid", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("meeting_cancelled_at", _AT, nullable=True))
        batch.create_foreign_key(
            "fk_referral_overlap_with_id_referral", "referral", ["overlap_with_id"], ["id"]
        )
        batch.create_index("ix_referral_prospect_domain", ["prospect_domain"])
    # The partner's last action so far: the intro, or the partner's latest reply on it.
    op.execute(
        """
        UPDATE referral SET partner_action_at = COALESCE(
            (SELECT MAX(e.at) FROM event e
              WHERE e.referral_id = referral.id AND e.kind = 'partner_reply'),
            received_at)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_index("ix_referral_prospect_domain")
        batch.drop_constraint("fk_referral_overlap_with_id_referral", type_="foreignkey")
        for column in (
            "meeting_cancelled_at",
            "meeting_uid",
            "meeting_at",
            "overlap_with_id",
            "partner_action_at",
            "confirm_message_id",
            "confirmed_at",
            "confirm_asked_at",
            "logged_by",
            "proof_url",
            "action_at",
            "action_type",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("receipts")
