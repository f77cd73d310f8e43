"""KPI facts, versioned KPI templates (with the services/hr/README.md defaults) and
assessments (R2 §5).

Revision ID: 0003
Revises: 0002
"""

import datetime
import decimal
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# services/hr/README.md default templates, in force from the start: (code, weight, target, worst).
# Kept here as data, so that later changes to the code's defaults do not rewrite history.
_HEAD = [
    ("department_csat", 40, "4.5", "2.5"),
    ("complaints_per_100_visits", 30, "1", "10"),
    ("team_training_compliance", 30, "100", "50"),
]
DEFAULTS = {
    "attendant": [
        ("visits_served", 30, "60", "0"),
        ("mean_csat", 30, "4.5", "2.5"),
        ("upheld_complaints", 20, "0", "3"),
        ("punctuality", 20, "100", "75"),
    ],
    "crm_specialist": [
        ("complaints_within_sla", 30, "95", "50"),
        ("median_resolution_hours", 20, "24", "96"),
        ("followups_on_time", 25, "95", "50"),
        ("satisfaction_after_resolution", 25, "80", "20"),
    ],
    "head": _HEAD,
    "deputy": _HEAD,
}
DEFAULT_TEMPLATE_IDS = {
    "attendant": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0001",
    "crm_specialist": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0002",
    "head": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0003",
    "deputy": "6f1c2a52-0b1e-4d55-9d38-0a7e3a1d0004",
}


def upgrade() -> None:
    op.create_table(
        "kpi_facts",
        sa.Column("fact_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("source_event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=True),
        sa.Column(
            "attrs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("fact_id"),
        sa.UniqueConstraint(
            "kind",
            "subject_id",
            "staff_id",
            name="kpi_fact_per_subject",
            postgresql_nulls_not_distinct=True,
        ),
        sa.UniqueConstraint(
            "source_event_id",
            "kind",
            "staff_id",
            name="kpi_fact_per_event",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "kpi_facts_by_staff", "kpi_facts", ["staff_id", "kind", "occurred_at"], unique=False
    )
    op.create_index("kpi_facts_by_time", "kpi_facts", ["occurred_at"], unique=False)
    op.create_table(
        "kpi_templates",
        sa.Column("template_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("template_id"),
        sa.UniqueConstraint("role", "effective_from", name="one_template_per_role_and_date"),
    )
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=False),
        sa.Column("total_score", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("rating", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("period_end >= period_start", name="assessment_period"),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["kpi_templates.template_id"],
        ),
        sa.PrimaryKeyConstraint("assessment_id"),
        sa.UniqueConstraint(
            "staff_id", "period_start", "period_end", name="one_assessment_per_period"
        ),
    )
    op.create_table(
        "kpi_template_items",
        sa.Column("template_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("target", sa.Numeric(), nullable=False),
        sa.Column("worst", sa.Numeric(), nullable=False),
        sa.CheckConstraint("weight BETWEEN 1 AND 100", name="template_weight"),
        sa.ForeignKeyConstraint(["template_id"], ["kpi_templates.template_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("template_id", "code"),
    )
    op.create_table(
        "assessment_kpis",
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("target", sa.Numeric(), nullable=False),
        sa.Column("worst", sa.Numeric(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=True),
        sa.Column("score", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("counted", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.assessment_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("assessment_id", "code"),
    )
    templates = sa.table(
        "kpi_templates",
        sa.column("template_id", sa.UUID()),
        sa.column("role", sa.Text()),
        sa.column("effective_from", sa.Date()),
    )
    items = sa.table(
        "kpi_template_items",
        sa.column("template_id", sa.UUID()),
        sa.column("code", sa.Text()),
        sa.column("position", sa.Integer()),
        sa.column("weight", sa.Integer()),
        sa.column("target", sa.Numeric()),
        sa.column("worst", sa.Numeric()),
    )
    op.bulk_insert(
        templates,
        [
            {
                "template_id": uuid.UUID(DEFAULT_TEMPLATE_IDS[role]),
                "role": role,
                "effective_from": datetime.date(2000, 1, 1),
            }
            for role in DEFAULTS
        ],
    )
    op.bulk_insert(
        items,
        [
            {
                "template_id": uuid.UUID(DEFAULT_TEMPLATE_IDS[role]),
                "code": code,
                "position": position,
                "weight": weight,
                "target": decimal.Decimal(target),
                "worst": decimal.Decimal(worst),
            }
            for role, rows in DEFAULTS.items()
            for position, (code, weight, target, worst) in enumerate(rows)
        ],
    )


def downgrade() -> None:
    op.drop_table("assessment_kpis")
    op.drop_table("kpi_template_items")
    op.drop_table("assessments")
    op.drop_table("kpi_templates")
    op.drop_index("kpi_facts_by_time", table_name="kpi_facts")
    op.drop_index("kpi_facts_by_staff", table_name="kpi_facts")
    op.drop_table("kpi_facts")
