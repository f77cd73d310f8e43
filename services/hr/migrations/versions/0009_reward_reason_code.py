"""A reward's reason code: reward.granted v2 carries the code, and the reason the head wrote
stays here, no longer on the bus.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rewards", sa.Column("reason_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("rewards", "reason_code")
