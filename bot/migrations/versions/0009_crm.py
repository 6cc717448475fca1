"""crm_deal and crm_sync: referrals' deals in HubSpot, both ways; referral.crm_existing

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("crm_existing", sa.Text(), nullable=True))
    op.create_table(
        "crm_deal",
        sa.Column("referral_id", sa.Integer(), sa.ForeignKey("referral.id"), primary_key=True),
        sa.Column("deal_id", sa.String(64), nullable=True),
        sa.Column("contact_id", sa.String(64), nullable=True),
        sa.Column("company_id", sa.String(64), nullable=True),
        sa.Column("pushed_at", WHEN, nullable=True),
        sa.Column("pushed_stage", sa.String(32), nullable=True),
        sa.Column("seen_stage", sa.String(100), nullable=True),
        sa.Column("seen_amount", sa.Float(), nullable=True),
        sa.Column("seen_modified_at", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "crm_sync",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("set_up_at", WHEN, nullable=False),
        sa.Column("cursor", WHEN, nullable=True),
        sa.Column("pulled_at", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("crm_sync")
    op.drop_table("crm_deal")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("crm_existing")
