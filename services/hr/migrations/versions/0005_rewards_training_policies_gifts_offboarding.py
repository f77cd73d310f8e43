"""Rewards (R1 §7.1, R2 §5.2–5.3), training (R2 §4.2–4.3), policy revisions and
acknowledgements (R1 §9.2), the gift register (R2 §6.3) and offboarding (R1 §6.3).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("policy_id"),
    )
    op.create_table(
        "training_sessions",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("clause", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="scheduled", nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('scheduled', 'held', 'cancelled')", name="session_status"),
        sa.CheckConstraint("ends_at > starts_at", name="session_ends_after_start"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "gift_declarations",
        sa.Column("gift_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("estimated_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.UUID(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "disposition IN ('refused', 'handed_over', 'accepted')", name="gift_disposition"
        ),
        sa.CheckConstraint(
            "status IN ('recorded', 'pending_approval', 'approved', 'rejected')", name="gift_status"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("gift_id"),
    )
    op.create_table(
        "offboardings",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("case_id", sa.UUID(), nullable=True),
        sa.Column("started_by", sa.UUID(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.UUID(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requires_training", sa.Boolean(), nullable=False),
        sa.Column("training_session_id", sa.UUID(), nullable=True),
        sa.Column("published_by", sa.UUID(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.policy_id"],
        ),
        sa.ForeignKeyConstraint(
            ["training_session_id"],
            ["training_sessions.session_id"],
        ),
        sa.PrimaryKeyConstraint("policy_id", "version"),
    )
    op.create_table(
        "training_attendees",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("attendance_id", sa.UUID(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.session_id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("session_id", "staff_id"),
        sa.UniqueConstraint("attendance_id"),
    )
    op.create_table(
        "offboarding_items",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("done_by", sa.UUID(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["offboardings.staff_id"],
        ),
        sa.PrimaryKeyConstraint("staff_id", "item"),
    )
    op.create_table(
        "policy_acknowledgements",
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id", "version"],
            ["policy_versions.policy_id", "policy_versions.version"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("policy_id", "version", "staff_id"),
    )
    op.create_table(
        "reward_proposals",
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("suggested_kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column(
            "proposed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reward_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('proposed', 'granted', 'declined')", name="proposal_status"),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.assessment_id"],
        ),
        sa.PrimaryKeyConstraint("proposal_id"),
        sa.UniqueConstraint("assessment_id"),
    )
    op.create_table(
        "rewards",
        sa.Column("reward_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule_ref", sa.Text(), nullable=False),
        sa.Column("bonus_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("bonus_currency", sa.Text(), nullable=True),
        sa.Column("new_role", sa.Text(), nullable=True),
        sa.Column("proposal_id", sa.UUID(), nullable=True),
        sa.Column("granted_by", sa.UUID(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('commendation', 'bonus', 'promotion')", name="reward_kind"),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["reward_proposals.proposal_id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("reward_id"),
    )


def downgrade() -> None:
    op.drop_table("rewards")
    op.drop_table("reward_proposals")
    op.drop_table("policy_acknowledgements")
    op.drop_table("offboarding_items")
    op.drop_table("training_attendees")
    op.drop_table("policy_versions")
    op.drop_table("offboardings")
    op.drop_table("gift_declarations")
    op.drop_table("training_sessions")
    op.drop_table("policies")
    op.drop_table("erased_customers")
