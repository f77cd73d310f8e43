"""The assessment lifecycle: computed as a draft, reviewed by the head (an adjusted KPI score
or total kept beside the computed one, with its written reason), published, acknowledged by
the staff member with a comment, appealed within a window and decided by someone other than
the reviewer; the staff member's self-assessment for a period (R1 §5.3).

Assessments made before this were published the moment they were computed: they stay
published.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assessments", sa.Column("status", sa.Text(), server_default="published",
                                           nullable=False))
    op.alter_column("assessments", "status", server_default="draft")
    op.create_check_constraint("assessment_status", "assessments",
                               "status IN ('draft', 'reviewed', 'published')")
    op.add_column("assessments", sa.Column("computed_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("assessments", sa.Column("computed_by", sa.UUID(), nullable=True))
    op.execute("UPDATE assessments SET computed_at = published_at, computed_by = published_by")
    op.alter_column("assessments", "computed_at", nullable=False)
    op.alter_column("assessments", "published_at", nullable=True)
    op.add_column("assessments", sa.Column("reviewed_by", sa.UUID(), nullable=True))
    op.add_column("assessments", sa.Column("reviewed_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("assessments", sa.Column("review_note", sa.Text(), nullable=True))
    op.add_column("assessments", sa.Column("final_total_score", sa.Numeric(4, 2),
                                           nullable=True))
    op.add_column("assessments", sa.Column("final_rating", sa.Text(), nullable=True))
    op.add_column("assessments", sa.Column("total_adjustment_reason", sa.Text(),
                                           nullable=True))
    op.add_column("assessments", sa.Column("acknowledged_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("assessments", sa.Column("acknowledgement_comment", sa.Text(),
                                           nullable=True))

    op.add_column("assessment_kpis", sa.Column("adjusted_score", sa.Numeric(4, 2),
                                               nullable=True))
    op.add_column("assessment_kpis", sa.Column("adjustment_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        "adjustment_has_reason", "assessment_kpis",
        "adjusted_score IS NULL OR (adjustment_reason IS NOT NULL "
        "AND adjusted_score BETWEEN 0 AND 5)")

    op.create_table(
        "assessment_appeals",
        sa.Column("appeal_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'upheld', 'rejected')",
                           name="assessment_appeal_status"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.assessment_id"]),
        sa.PrimaryKeyConstraint("appeal_id"),
        sa.UniqueConstraint("assessment_id", name="one_appeal_per_assessment"),
    )
    op.create_table(
        "self_assessments",
        sa.Column("self_assessment_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("period_end >= period_start", name="self_assessment_period"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
        sa.PrimaryKeyConstraint("self_assessment_id"),
        sa.UniqueConstraint("staff_id", "period_start", "period_end",
                            name="one_self_assessment_per_period"),
    )


def downgrade() -> None:
    op.drop_table("self_assessments")
    op.drop_table("assessment_appeals")
    op.drop_constraint("adjustment_has_reason", "assessment_kpis", type_="check")
    op.drop_column("assessment_kpis", "adjustment_reason")
    op.drop_column("assessment_kpis", "adjusted_score")
    op.execute("DELETE FROM reward_proposals WHERE assessment_id IN "
               "(SELECT assessment_id FROM assessments WHERE published_at IS NULL)")
    op.execute("DELETE FROM assessments WHERE published_at IS NULL")
    op.alter_column("assessments", "published_at", nullable=False)
    for column in ("acknowledgement_comment", "acknowledged_at", "total_adjustment_reason",
                   "final_rating", "final_total_score", "review_note", "reviewed_at",
                   "reviewed_by", "computed_by", "computed_at"):
        op.drop_column("assessments", column)
    op.drop_constraint("assessment_status", "assessments", type_="check")
    op.drop_column("assessments", "status")
