"""partner.protection_days and referral.protected_until: a protection window per partner

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner") as batch:
        batch.add_column(sa.Column("protection_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("protected_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("protected_until")
    with op.batch_alter_table("partner") as batch:
        batch.drop_column("protection_days")
