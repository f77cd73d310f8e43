"""Discipline: the rule catalogue (seeded with the regulations' violations) and cases
(R1 §4, §6, §7.2; R2 §6, §8).

Revision ID: 0004
Revises: 0003
"""

import decimal
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FULL = ["verbal_warning", "written_warning", "fine", "suspension", "termination"]
_GRAVE = ["written_warning", "fine", "suspension", "termination"]
_GRAVEST = ["written_warning", "suspension", "termination"]

# (code, title, clause, severity, window days, ladder, usual fine, usual suspension days)
RULES = [
    (
        "late_arrival",
        "Late arrival beyond the grace period",
        "R2 §6.1",
        "minor",
        30,
        _FULL,
        "50.00",
        1,
    ),
    (
        "early_leave",
        "Early leave beyond the grace period",
        "R2 §6.1",
        "minor",
        30,
        _FULL,
        "50.00",
        1,
    ),
    (
        "upheld_complaint",
        "A customer complaint upheld against the staff member",
        "R1 §8.2",
        "major",
        90,
        _FULL,
        "100.00",
        3,
    ),
    (
        "dress_code",
        "Improper dress (slippers, open-toed shoes)",
        "R1 §4.2",
        "minor",
        30,
        _FULL,
        "50.00",
        1,
    ),
    (
        "gift_acceptance",
        "Accepting a customer's gift or benefit privately",
        "R2 §6.3",
        "major",
        180,
        _GRAVE,
        "200.00",
        5,
    ),
    (
        "privacy_breach",
        "Invading a customer's privacy or discriminating",
        "R1 §4.4",
        "gross",
        365,
        _GRAVEST,
        None,
        7,
    ),
    (
        "confidentiality_breach",
        "Disclosing customer information or business secrets",
        "R1 §6.1",
        "gross",
        365,
        _GRAVEST,
        None,
        7,
    ),
    (
        "private_dealings",
        "Personal invitations or private deals with customers",
        "R1 §4.5",
        "major",
        180,
        _GRAVE,
        "200.00",
        5,
    ),
    (
        "facility_misuse",
        "Misusing club facilities or their records",
        "R2 §6.4",
        "minor",
        90,
        _FULL,
        "100.00",
        2,
    ),
]


def upgrade() -> None:
    op.create_table(
        "discipline_rules",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("rule_ref", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("ladder", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("fine_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("suspension_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "discipline_cases",
        sa.Column("case_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("violation", sa.Text(), nullable=False),
        sa.Column("rule_ref", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=True),
        sa.Column("source_event_id", sa.UUID(), nullable=True),
        sa.Column("opened_by", sa.UUID(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("fine_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("fine_currency", sa.Text(), nullable=True),
        sa.Column("suspension_days", sa.Integer(), nullable=True),
        sa.Column("proposed_action", sa.Text(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_grounds", sa.Text(), nullable=True),
        sa.Column("appealed_by", sa.UUID(), nullable=True),
        sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_outcome", sa.Text(), nullable=True),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("action_before_appeal", sa.Text(), nullable=True),
        sa.Column("appeal_decided_by", sa.UUID(), nullable=True),
        sa.Column("appeal_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("origin IN ('complaint', 'attendance', 'manual')", name="case_origin"),
        sa.CheckConstraint(
            "status IN ('open', 'decided', 'dismissed', 'withdrawn', 'appealed', 'overturned')",
            name="case_status",
        ),
        sa.ForeignKeyConstraint(
            ["violation"],
            ["discipline_rules.code"],
        ),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("cases_by_staff", "discipline_cases", ["staff_id", "occurred_at"], unique=False)
    op.create_index(
        "one_case_per_subject",
        "discipline_cases",
        ["violation", "subject_ref", "staff_id"],
        unique=True,
        postgresql_where=sa.text("subject_ref IS NOT NULL"),
    )
    op.add_column("staff", sa.Column("suspended_by_case", sa.UUID(), nullable=True))
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
    op.bulk_insert(
        rules,
        [
            {
                "code": code,
                "title": title,
                "rule_ref": ref,
                "severity": severity,
                "window_days": window,
                "ladder": ladder,
                "fine_amount": decimal.Decimal(fine) if fine else None,
                "suspension_days": days,
            }
            for code, title, ref, severity, window, ladder, fine, days in RULES
        ],
    )


def downgrade() -> None:
    op.drop_column("staff", "suspended_by_case")
    op.drop_index(
        "one_case_per_subject",
        table_name="discipline_cases",
        postgresql_where=sa.text("subject_ref IS NOT NULL"),
    )
    op.drop_index("cases_by_staff", table_name="discipline_cases")
    op.drop_table("discipline_cases")
    op.drop_table("discipline_rules")
