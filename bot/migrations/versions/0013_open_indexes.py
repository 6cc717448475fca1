"""Partial indexes on the referrals the sweeps can still find due (issue 24: a sweep's cost
follows the open referrals, not the whole history)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OPEN = "'claimed', 'contacted', 'meeting', 'new', 'opportunity'"
INDEXES = (
    ("ix_referral_unclaimed", "received_at", "owner IS NULL AND stage = 'new'"),
    (
        "ix_referral_awaiting_response",
        "claimed_at",
        "first_response_at IS NULL AND stage IN ('claimed', 'contacted')",
    ),
    ("ix_referral_open_steps", "next_step_due", f"stage IN ({_OPEN})"),
    ("ix_referral_unmoved", "protected_until", "stage IN ('claimed', 'new')"),
    ("ix_referral_unconfirmed", "confirm_asked_at", "confirmed_at IS NULL"),
)


def upgrade() -> None:
    for name, column, where in INDEXES:
        condition = sa.text(where)
        op.create_index(
            name,
            "referral",
            [column],
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="referral")
