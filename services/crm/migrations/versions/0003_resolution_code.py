"""A complaint's resolution code: complaint.resolved v2 carries the code, and the explanation
given to the customer stays here, no longer on the bus.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("resolution_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("complaints", "resolution_code")
