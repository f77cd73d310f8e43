"""An index of the visits still open at each place: check-in sums them under the place's lock
(R1 §3.2), and without it that read grew with every visit the place ever had.

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
    op.create_index("visits_open_at_location", "visits", ["location_id"],
                    postgresql_where=sa.text("completed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("visits_open_at_location", table_name="visits")
