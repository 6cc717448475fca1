"""attribution: when a referral first reached a meeting and an opportunity, manager overrides

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# What a referral reached, from the stage changes its events recorded ("stage claimed → won").
REACHED = {
    "met_at": ("meeting", "opportunity", "won"),
    "opportunity_at": ("opportunity", "won"),
}


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("met_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("opportunity_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("role_overridden_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_referral_partner_received", "referral", ["partner_id", "received_at"])
    for column, stages in REACHED.items():
        reached = " OR ".join(f"event.detail LIKE '%→ {stage}%'" for stage in stages)
        listed = ", ".join(f"'{stage}'" for stage in stages)
        op.execute(
            f"UPDATE referral SET {column} = COALESCE("
            f"(SELECT MIN(event.at) FROM event WHERE event.referral_id = referral.id "
            f"AND event.kind = 'stage_changed' AND ({reached})), "
            f"CASE WHEN referral.stage IN ({listed}) THEN referral.received_at END)"
        )


def downgrade() -> None:
    op.drop_index("ix_referral_partner_received", table_name="referral")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("role_overridden_at")
        batch.drop_column("opportunity_at")
        batch.drop_column("met_at")
