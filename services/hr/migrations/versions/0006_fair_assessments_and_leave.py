"""Fair assessments and leave: template items judged per shift or per period with a minimum
sample, each assessed KPI's status and arithmetic, leave requests (R2 §6.1) and absences as
attendance violations with their own discipline rule; the seeded default templates move to
per-shift visit targets, shifts attended instead of punctuality, the first-response clock, and
distinct head and deputy templates (R2 §2.2).

Revision ID: 0006
Revises: 0005
"""

import decimal
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED = {
    "attendant": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0001",
    "crm_specialist": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0002",
    "head": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0003",
    "deputy": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0004",
}

# (code, weight, target, worst, basis, min_sample); the same as club_hr.domain.kpis.
DEFAULTS = {
    "attendant": [
        ("visits_served", 30, "3", "0", "per_shift", 0),
        ("mean_csat", 30, "4.5", "2.5", "period", 3),
        ("upheld_complaints", 20, "0", "3", "period", 0),
        ("shifts_attended", 20, "100", "50", "period", 0),
    ],
    "crm_specialist": [
        ("complaints_within_sla", 20, "95", "50", "period", 0),
        ("first_response_on_time", 20, "95", "50", "period", 0),
        ("median_resolution_hours", 20, "24", "96", "period", 0),
        ("followups_on_time", 20, "95", "50", "period", 0),
        ("satisfaction_after_resolution", 20, "80", "20", "period", 0),
    ],
    "head": [
        ("department_csat", 30, "4.5", "2.5", "period", 3),
        ("complaints_per_100_visits", 20, "1", "10", "period", 50),
        ("team_training_compliance", 20, "100", "50", "period", 0),
        ("team_shifts_attended", 30, "100", "80", "period", 0),
    ],
    "deputy": [
        ("escalations_resolved_in_time", 40, "100", "50", "period", 0),
        ("team_shifts_attended", 20, "100", "80", "period", 0),
        ("department_csat", 20, "4.5", "2.5", "period", 3),
        ("team_training_compliance", 20, "100", "50", "period", 0),
    ],
}


def upgrade() -> None:
    op.add_column("kpi_template_items", sa.Column("basis", sa.Text(), server_default="period",
                                                  nullable=False))
    op.add_column("kpi_template_items", sa.Column("min_sample", sa.Integer(),
                                                  server_default="0", nullable=False))
    op.create_check_constraint("template_basis", "kpi_template_items",
                               "basis IN ('period', 'per_shift')")
    op.add_column("assessment_kpis", sa.Column("status", sa.Text(), server_default="scored",
                                               nullable=False))
    op.add_column("assessment_kpis", sa.Column("basis", sa.Text(), server_default="period",
                                               nullable=False))
    op.add_column("assessment_kpis", sa.Column("target_for_period", sa.Numeric(), nullable=True))
    op.add_column("assessment_kpis", sa.Column("worst_for_period", sa.Numeric(), nullable=True))
    op.add_column("assessment_kpis", sa.Column("explanation", sa.Text(), server_default="",
                                               nullable=False))

    op.alter_column("attendance_violations", "clocking_id", nullable=True)
    op.drop_constraint("violation_kind", "attendance_violations", type_="check")
    op.create_check_constraint("violation_kind", "attendance_violations",
                               "kind IN ('late_arrival', 'early_leave', 'absence')")

    op.create_table(
        "leave_requests",
        sa.Column("leave_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="requested", nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name="leave_ends_after_start"),
        sa.CheckConstraint("kind IN ('annual', 'sick', 'personal', 'late_start', "
                           "'early_leave')", name="leave_kind"),
        sa.CheckConstraint("status IN ('requested', 'approved', 'declined', 'cancelled')",
                           name="leave_status"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
        sa.PrimaryKeyConstraint("leave_id"),
    )
    op.create_index("leave_by_staff", "leave_requests", ["staff_id", "starts_at"],
                    unique=False)

    rules = sa.table(
        "discipline_rules",
        sa.column("code", sa.Text()),
        sa.column("title", sa.Text()),
        sa.column("rule_ref", sa.Text()),
        sa.column("severity", sa.Text()),
        sa.column("window_days", sa.Integer()),
        sa.column("ladder", sa.ARRAY(sa.Text())),
        sa.column("fine_amount", sa.Numeric(14, 2)),
        sa.column("suspension_days", sa.Integer()),
    )
    op.bulk_insert(rules, [{
        "code": "absence",
        "title": "A shift missed without approved leave",
        "rule_ref": "R2 §6.1",
        "severity": "minor",
        "window_days": 30,
        # A missed shift weighs more than arriving late: it starts one rung higher.
        "ladder": ["written_warning", "fine", "suspension", "termination"],
        "fine_amount": decimal.Decimal("100.00"),
        "suspension_days": 1,
    }])

    # The seeded defaults have never applied to anything but the demo; they change in place.
    items = sa.table(
        "kpi_template_items",
        sa.column("template_id", sa.UUID()),
        sa.column("code", sa.Text()),
        sa.column("position", sa.Integer()),
        sa.column("weight", sa.Integer()),
        sa.column("target", sa.Numeric()),
        sa.column("worst", sa.Numeric()),
        sa.column("basis", sa.Text()),
        sa.column("min_sample", sa.Integer()),
    )
    for role, template_id in SEEDED.items():
        op.execute(sa.text("DELETE FROM kpi_template_items WHERE template_id = CAST(:t AS uuid)")
                   .bindparams(t=template_id))
        op.bulk_insert(items, [
            {"template_id": uuid.UUID(template_id), "code": code, "position": position,
             "weight": weight, "target": decimal.Decimal(target),
             "worst": decimal.Decimal(worst), "basis": basis, "min_sample": min_sample}
            for position, (code, weight, target, worst, basis, min_sample)
            in enumerate(DEFAULTS[role])
        ])


def downgrade() -> None:
    op.execute("DELETE FROM discipline_rules WHERE code = 'absence'")
    op.drop_index("leave_by_staff", table_name="leave_requests")
    op.drop_table("leave_requests")
    op.execute("DELETE FROM attendance_violations WHERE kind = 'absence'")
    op.drop_constraint("violation_kind", "attendance_violations", type_="check")
    op.create_check_constraint("violation_kind", "attendance_violations",
                               "kind IN ('late_arrival', 'early_leave')")
    op.alter_column("attendance_violations", "clocking_id", nullable=False)
    for column in ("explanation", "worst_for_period", "target_for_period", "basis", "status"):
        op.drop_column("assessment_kpis", column)
    op.drop_constraint("template_basis", "kpi_template_items", type_="check")
    op.drop_column("kpi_template_items", "min_sample")
    op.drop_column("kpi_template_items", "basis")
