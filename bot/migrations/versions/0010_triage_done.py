"""inbound_message.dismissed_*: a triage entry a person has dealt with leaves triage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dismissed_by", sa.String(400), nullable=True))
        batch.add_column(sa.Column("dismissed_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("dismissed_note")
        batch.drop_column("dismissed_by")
        batch.drop_column("dismissed_at")
