"""The crm service's tables: customers (personal data sealed at rest), notes, the personal-data
access audit, no-shows, the staff directory and visits (from events), complaints with their
history and coordination tasks, follow-ups, survey invitations and responses.

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
        "complaints",
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("subject_staff_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("description_enc", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("opened_by", sa.UUID(), nullable=False),
        sa.Column("opened_by_role", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("escalated_to_role", sa.Text(), nullable=True),
        sa.Column("last_escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.UUID(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("compensation_kind", sa.Text(), nullable=True),
        sa.Column("compensation_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("compensation_currency", sa.Text(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("within_sla", sa.Boolean(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id"),
    )
    op.create_index(
        "complaints_active",
        "complaints",
        ["resolution_due_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'acknowledged', 'in_progress')"),
    )
    op.create_index(op.f("ix_complaints_assigned_to"), "complaints", ["assigned_to"], unique=False)
    op.create_index(op.f("ix_complaints_customer_id"), "complaints", ["customer_id"], unique=False)
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.UUID(), nullable=False),
        sa.Column("full_name_enc", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("email_enc", sa.Text(), nullable=True),
        sa.Column("preferences_enc", sa.Text(), nullable=True),
        sa.Column("email_lookup", sa.Text(), nullable=True),
        sa.Column("phone_lookup", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index(
        "customers_email_lookup",
        "customers",
        ["email_lookup"],
        unique=True,
        postgresql_where=sa.text("email_lookup IS NOT NULL"),
    )
    op.create_index(
        "customers_phone_lookup",
        "customers",
        ["phone_lookup"],
        unique=False,
        postgresql_where=sa.text("phone_lookup IS NOT NULL"),
    )
    op.create_table(
        "followups",
        sa.Column("followup_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("complaint_id", sa.UUID(), nullable=True),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.UUID(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("followup_id"),
    )
    op.create_index(
        "followups_one_open_per_complaint",
        "followups",
        ["complaint_id"],
        unique=True,
        postgresql_where=sa.text("reason = 'post_complaint' AND state = 'open'"),
    )
    op.create_index(
        "followups_one_per_visit",
        "followups",
        ["visit_id"],
        unique=True,
        postgresql_where=sa.text("reason = 'post_visit'"),
    )
    op.create_index(op.f("ix_followups_assigned_to"), "followups", ["assigned_to"], unique=False)
    op.create_index(op.f("ix_followups_customer_id"), "followups", ["customer_id"], unique=False)
    op.create_table(
        "no_shows",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("resource_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.create_index(op.f("ix_no_shows_customer_id"), "no_shows", ["customer_id"], unique=False)
    op.create_table(
        "pii_access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("pii_access_log_actor", "pii_access_log", ["actor_id", "at"], unique=False)
    op.create_index("pii_access_log_at", "pii_access_log", ["at"], unique=False)
    op.create_index(
        "pii_access_log_customer", "pii_access_log", ["customer_id", "at"], unique=False
    )
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("invitation_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("invitation_id"),
        sa.UniqueConstraint("visit_id"),
    )
    op.create_index(
        op.f("ix_survey_invitations_customer_id"),
        "survey_invitations",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "visits",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("host_staff_id", sa.UUID(), nullable=False),
        sa.Column("staff_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("service_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    op.create_index(op.f("ix_visits_customer_id"), "visits", ["customer_id"], unique=False)
    op.create_table(
        "complaint_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=True),
        sa.Column("escalated_to_role", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.complaint_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_complaint_history_complaint_id"),
        "complaint_history",
        ["complaint_id"],
        unique=False,
    )
    op.create_table(
        "complaint_tasks",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("description_enc", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("outcome_enc", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.UUID(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.complaint_id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index(
        op.f("ix_complaint_tasks_complaint_id"), "complaint_tasks", ["complaint_id"], unique=False
    )
    op.create_table(
        "customer_notes",
        sa.Column("note_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("written_by", sa.UUID(), nullable=False),
        sa.Column("written_by_role", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followup_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
        ),
        sa.PrimaryKeyConstraint("note_id"),
    )
    op.create_index(
        op.f("ix_customer_notes_customer_id"), "customer_notes", ["customer_id"], unique=False
    )
    op.create_table(
        "survey_responses",
        sa.Column("response_id", sa.UUID(), nullable=False),
        sa.Column("invitation_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("csat", sa.SmallInteger(), nullable=False),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("comment_enc", sa.Text(), nullable=True),
        sa.Column("staff_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("csat BETWEEN 1 AND 5", name="survey_csat_range"),
        sa.CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="survey_nps_range"),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.invitation_id"],
        ),
        sa.PrimaryKeyConstraint("response_id"),
        sa.UniqueConstraint("invitation_id"),
    )
    op.create_index(
        op.f("ix_survey_responses_customer_id"), "survey_responses", ["customer_id"], unique=False
    )


def downgrade() -> None:
    # Dependants first; indexes go with their tables.
    for table in (
        "survey_responses",
        "customer_notes",
        "complaint_tasks",
        "complaint_history",
        "visits",
        "survey_invitations",
        "staff",
        "pii_access_log",
        "no_shows",
        "followups",
        "customers",
        "complaints",
    ):
        op.drop_table(table)
