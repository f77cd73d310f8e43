"""Role history: every role a staff member held and from when (what `staff.changed` says), so
a period with a role change is assessed in parts, each with its own role's template. Staff on
the register before this are taken to have held their current role since they were hired (the
only history there is).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_roles",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
        sa.PrimaryKeyConstraint("staff_id", "effective_at"),
    )
    op.execute("INSERT INTO staff_roles (staff_id, effective_at, role) "
               "SELECT staff_id, hired_at, role FROM staff")


def downgrade() -> None:
    op.drop_table("staff_roles")
