"""The hr service's tables. Alembic migrations in `migrations/` create them."""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import ExcludeConstraint

metadata = sa.MetaData()
add_platform_tables(metadata)


def _uuid(name: str, *args, **kwargs) -> sa.Column:
    return sa.Column(name, PG_UUID(as_uuid=True), *args, **kwargs)


def _time(name: str, *args, **kwargs) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), *args, **kwargs)


def _now(name: str) -> sa.Column:
    return _time(name, nullable=False, server_default=sa.func.now())


# ---------------------------------------------------------------- staff (R1 §2, R2 §2)

staff = sa.Table(
    "staff",
    metadata,
    _uuid("staff_id", primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    _time("hired_at", nullable=False),
    # Set while a suspension with an end runs; the end_suspensions job reinstates after it.
    _time("suspended_until"),
    sa.Column("status_reason", sa.Text),
    _time("changed_at", nullable=False),
    _now("created_at"),
    sa.CheckConstraint(
        "role IN ('head', 'deputy', 'attendant', 'crm_specialist', 'hr_admin')", name="staff_role"
    ),
    sa.CheckConstraint("status IN ('active', 'suspended', 'offboarded')", name="staff_status"),
)

# ---------------------------------------------------------------- attendance (R2 §6.1)

shifts = sa.Table(
    "shifts",
    metadata,
    _uuid("shift_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    _time("starts_at", nullable=False),
    _time("ends_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
    _uuid("created_by"),
    _now("created_at"),
    sa.CheckConstraint("ends_at > starts_at", name="shift_ends_after_start"),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="shift_status"),
    # One person cannot be scheduled for two overlapping shifts.
    ExcludeConstraint(
        ("staff_id", "="),
        (sa.func.tstzrange(sa.text("starts_at"), sa.text("ends_at")), "&&"),
        where=sa.text("status = 'scheduled'"),
        name="shifts_no_overlap",
        using="gist",
    ),
    sa.Index("shifts_by_staff", "staff_id", "starts_at"),
)

# Clock-ins and -outs, from the API and from door or badge systems (attendance.clocked).
# No foreign key to staff: a door may report someone HR registers only later.
clockings = sa.Table(
    "clockings",
    metadata,
    _uuid("clocking_id", primary_key=True),
    _uuid("staff_id", nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    _time("at", nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    _uuid("device_id"),
    # The ce_id of the attendance.clocked event it came from.
    _uuid("source_event_id", unique=True),
    _uuid("recorded_by"),
    _now("recorded_at"),
    sa.CheckConstraint("direction IN ('in', 'out')", name="clocking_direction"),
    sa.CheckConstraint("source IN ('api', 'door')", name="clocking_source"),
    sa.Index("clockings_by_staff", "staff_id", "at"),
)

attendance_violations = sa.Table(
    "attendance_violations",
    metadata,
    _uuid("violation_id", primary_key=True),
    _uuid("staff_id", nullable=False),
    _uuid("shift_id", sa.ForeignKey("shifts.shift_id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("minutes", sa.Integer, nullable=False),
    _uuid("clocking_id", nullable=False),
    _uuid("source_event_id"),
    _time("occurred_at", nullable=False),
    # active, or withdrawn when later clockings show the shift was kept after all.
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    _now("detected_at"),
    _time("withdrawn_at"),
    sa.UniqueConstraint("shift_id", "kind", name="one_violation_per_shift_and_kind"),
    sa.CheckConstraint("kind IN ('late_arrival', 'early_leave')", name="violation_kind"),
    sa.CheckConstraint("status IN ('active', 'withdrawn')", name="violation_status"),
    sa.Index("violations_by_staff", "staff_id", "occurred_at"),
)
