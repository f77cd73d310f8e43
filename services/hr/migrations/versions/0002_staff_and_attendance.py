"""Staff register, shifts, clockings and attendance violations (R1 §2, R2 §2, R2 §6.1).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clockings",
        sa.Column("clocking_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("device_id", sa.UUID(), nullable=True),
        sa.Column("source_event_id", sa.UUID(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name="clocking_direction"),
        sa.CheckConstraint("source IN ('api', 'door')", name="clocking_source"),
        sa.PrimaryKeyConstraint("clocking_id"),
        sa.UniqueConstraint("source_event_id"),
    )
    op.create_index("clockings_by_staff", "clockings", ["staff_id", "at"], unique=False)
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('head', 'deputy', 'attendant', 'crm_specialist', 'hr_admin')",
            name="staff_role",
        ),
        sa.CheckConstraint("status IN ('active', 'suspended', 'offboarded')", name="staff_status"),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "shifts",
        sa.Column("shift_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="scheduled", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.column("staff_id"), "="),
            (sa.text("tstzrange(starts_at, ends_at)"), "&&"),
            where=sa.text("status = 'scheduled'"),
            using="gist",
            name="shifts_no_overlap",
        ),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="shift_status"),
        sa.CheckConstraint("ends_at > starts_at", name="shift_ends_after_start"),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("shift_id"),
    )
    op.create_index("shifts_by_staff", "shifts", ["staff_id", "starts_at"], unique=False)
    op.create_table(
        "attendance_violations",
        sa.Column("violation_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("shift_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("clocking_id", sa.UUID(), nullable=False),
        sa.Column("source_event_id", sa.UUID(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column(
            "detected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('late_arrival', 'early_leave')", name="violation_kind"),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="violation_status"),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["shifts.shift_id"],
        ),
        sa.PrimaryKeyConstraint("violation_id"),
        sa.UniqueConstraint("shift_id", "kind", name="one_violation_per_shift_and_kind"),
    )
    op.create_index(
        "violations_by_staff", "attendance_violations", ["staff_id", "occurred_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("violations_by_staff", table_name="attendance_violations")
    op.drop_table("attendance_violations")
    op.drop_index("shifts_by_staff", table_name="shifts")
    op.drop_table("shifts")
    op.drop_table("staff")
    op.drop_index("clockings_by_staff", table_name="clockings")
    op.drop_table("clockings")
