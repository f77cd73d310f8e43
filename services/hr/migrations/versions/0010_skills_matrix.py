"""The skills matrix (R2 §4.1): skills, levels assessed by the head or deputy with their
history, the skills a training session raises and the level changes it proposes; and a reward
that is a training opportunity (R2 §5.3), linked to its session.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# R2 §4.1: what attendants are trained in. The club adds its own through the API.
R2_SKILLS = [
    ("communication", "Communication"),
    ("service_awareness", "Service awareness"),
    ("teamwork", "Teamwork"),
    ("service_knowledge", "Service knowledge"),
]


def upgrade() -> None:
    skills = op.create_table(
        "skills",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("clause", sa.Text()),
        sa.Column("created_by", sa.UUID()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.bulk_insert(skills, [{"code": c, "name": n, "clause": "R2 §4.1"} for c, n in R2_SKILLS])
    op.create_table(
        "skill_proposals",
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("skill_code", sa.Text(), sa.ForeignKey("skills.code"), nullable=False),
        sa.Column("session_id", sa.UUID(), sa.ForeignKey("training_sessions.session_id"),
                  nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.UUID()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("proposal_id"),
        sa.UniqueConstraint("session_id", "staff_id", "skill_code",
                            name="skill_proposal_per_session"),
        sa.CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')",
                           name="skill_proposal_status"),
        sa.CheckConstraint("to_level > from_level", name="skill_proposal_raises"),
    )
    op.create_table(
        "skill_levels",
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("staff_id", sa.UUID(), sa.ForeignKey("staff.staff_id"), nullable=False),
        sa.Column("skill_code", sa.Text(), sa.ForeignKey("skills.code"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessed_by", sa.UUID(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("proposal_id", sa.UUID(), sa.ForeignKey("skill_proposals.proposal_id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
        sa.CheckConstraint("level BETWEEN 0 AND 4", name="skill_level_range"),
    )
    op.create_index("skill_levels_current", "skill_levels",
                    ["staff_id", "skill_code", "assessed_on", "recorded_at"])
    op.create_table(
        "training_session_skills",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey("training_sessions.session_id"),
                  nullable=False),
        sa.Column("skill_code", sa.Text(), sa.ForeignKey("skills.code"), nullable=False),
        sa.Column("raise_by", sa.Integer(), nullable=False),
        sa.Column("up_to", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "skill_code"),
        sa.CheckConstraint("raise_by BETWEEN 1 AND 4", name="session_skill_raise"),
        sa.CheckConstraint("up_to BETWEEN 1 AND 4", name="session_skill_cap"),
    )
    op.drop_constraint("reward_kind", "rewards", type_="check")
    op.create_check_constraint(
        "reward_kind", "rewards",
        "kind IN ('commendation', 'bonus', 'promotion', 'training_opportunity')")
    op.add_column("rewards", sa.Column("training_session_id", sa.UUID(),
                                       sa.ForeignKey("training_sessions.session_id")))
    op.create_check_constraint(
        "reward_training_session", "rewards",
        "(kind = 'training_opportunity') = (training_session_id IS NOT NULL)")


def downgrade() -> None:
    op.drop_constraint("reward_training_session", "rewards", type_="check")
    op.drop_column("rewards", "training_session_id")
    op.drop_constraint("reward_kind", "rewards", type_="check")
    op.create_check_constraint("reward_kind", "rewards",
                               "kind IN ('commendation', 'bonus', 'promotion')")
    op.drop_table("training_session_skills")
    op.drop_table("skill_levels")
    op.drop_table("skill_proposals")
    op.drop_table("skills")
