"""A complaint's resolution code: complaint.resolved v2 carries the code, and the explanation
given to the customer stays here, no longer on the bus.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("resolution_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("complaints", "resolution_code")
