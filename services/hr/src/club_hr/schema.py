"""The hr service's tables. Alembic migrations in `migrations/` create them."""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

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
    # The discipline case whose suspension or termination this is, so an appeal can lift it.
    _uuid("suspended_by_case"),
    sa.Column("status_reason", sa.Text),
    _time("changed_at", nullable=False),
    _now("created_at"),
    sa.CheckConstraint(
        "role IN ('head', 'deputy', 'attendant', 'crm_specialist', 'hr_admin')", name="staff_role"
    ),
    sa.CheckConstraint("status IN ('active', 'suspended', 'offboarded')", name="staff_status"),
)

# Every role held and from when (as published in staff.hired / staff.changed): a period with
# a role change is assessed in parts, each with its own role's template.
staff_roles = sa.Table(
    "staff_roles",
    metadata,
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), primary_key=True),
    _time("effective_at", primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
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
    _uuid("clocking_id"),  # NULL for an absence: no clocking shows it
    _uuid("source_event_id"),
    _time("occurred_at", nullable=False),
    # active, or withdrawn when later clockings (or approved leave) show the shift was kept.
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    _now("detected_at"),
    _time("withdrawn_at"),
    sa.UniqueConstraint("shift_id", "kind", name="one_violation_per_shift_and_kind"),
    sa.CheckConstraint("kind IN ('late_arrival', 'early_leave', 'absence')",
                       name="violation_kind"),
    sa.CheckConstraint("status IN ('active', 'withdrawn')", name="violation_status"),
    sa.Index("violations_by_staff", "staff_id", "occurred_at"),
)

# Leave and authorised absence (R2 §6.1 forbids only *unauthorised* late arrival and early
# leave): requested by the staff member (or for them), decided by the head or the deputy.
leave_requests = sa.Table(
    "leave_requests",
    metadata,
    _uuid("leave_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _time("starts_at", nullable=False),
    _time("ends_at", nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="requested"),
    _uuid("requested_by", nullable=False),
    _now("requested_at"),
    _uuid("decided_by"),
    _time("decided_at"),
    sa.Column("decision_note", sa.Text),
    sa.CheckConstraint("ends_at > starts_at", name="leave_ends_after_start"),
    sa.CheckConstraint("kind IN ('annual', 'sick', 'personal', 'late_start', 'early_leave')",
                       name="leave_kind"),
    sa.CheckConstraint("status IN ('requested', 'approved', 'declined', 'cancelled')",
                       name="leave_status"),
    sa.Index("leave_by_staff", "staff_id", "starts_at"),
)

# ---------------------------------------------------------------- KPI facts and assessments (R2 §5)

# A projection of the other services' events (see club_hr.domain.facts): rebuilt from the
# topics it gives the same rows. No foreign key to staff: facts about someone HR does not know
# yet are kept.
kpi_facts = sa.Table(
    "kpi_facts",
    metadata,
    sa.Column("fact_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    # The ce_id of the event the fact came from, and its topic.
    _uuid("source_event_id", nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _uuid("staff_id"),  # NULL: a department-wide fact
    _uuid("subject_id", nullable=False),
    _time("occurred_at", nullable=False),
    sa.Column("value", sa.Numeric),
    sa.Column("attrs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    _now("recorded_at"),
    # Idempotent twice over: by event, and by the business aggregate it is about.
    sa.UniqueConstraint("source_event_id", "kind", "staff_id", name="kpi_fact_per_event",
                        postgresql_nulls_not_distinct=True),
    sa.UniqueConstraint("kind", "subject_id", "staff_id", name="kpi_fact_per_subject",
                        postgresql_nulls_not_distinct=True),
    sa.Index("kpi_facts_by_staff", "staff_id", "kind", "occurred_at"),
    sa.Index("kpi_facts_by_time", "occurred_at"),
)

# Versioned by the date they take effect from; a period uses the version in force on its
# first day.
kpi_templates = sa.Table(
    "kpi_templates",
    metadata,
    _uuid("template_id", primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    _uuid("created_by"),
    _now("created_at"),
    sa.UniqueConstraint("role", "effective_from", name="one_template_per_role_and_date"),
)

kpi_template_items = sa.Table(
    "kpi_template_items",
    metadata,
    _uuid("template_id", sa.ForeignKey("kpi_templates.template_id", ondelete="CASCADE"),
          primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("weight", sa.Integer, nullable=False),
    sa.Column("target", sa.Numeric, nullable=False),
    sa.Column("worst", sa.Numeric, nullable=False),
    # `period`: the target is the period's; `per_shift`: per shift due (counts only).
    sa.Column("basis", sa.Text, nullable=False, server_default="period"),
    # Means and shares on fewer observations than this are shown, not scored.
    sa.Column("min_sample", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("weight BETWEEN 1 AND 100", name="template_weight"),
    sa.CheckConstraint("basis IN ('period', 'per_shift')", name="template_basis"),
)

assessments = sa.Table(
    "assessments",
    metadata,
    _uuid("assessment_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    _uuid("template_id", sa.ForeignKey("kpi_templates.template_id"), nullable=False),
    # As computed from the events; never overwritten (the head's adjustment is final_*).
    sa.Column("total_score", sa.Numeric(4, 2), nullable=False),
    sa.Column("rating", sa.Text, nullable=False),
    # draft (computed) -> reviewed (by the head) -> published; an upheld appeal: draft again.
    sa.Column("status", sa.Text, nullable=False, server_default="draft"),
    _time("computed_at", nullable=False),
    _uuid("computed_by"),
    _uuid("reviewed_by"),
    _time("reviewed_at"),
    sa.Column("review_note", sa.Text),
    # After review: the total from the adjusted KPI scores, or the head's own with a reason.
    sa.Column("final_total_score", sa.Numeric(4, 2)),
    sa.Column("final_rating", sa.Text),
    sa.Column("total_adjustment_reason", sa.Text),
    _time("published_at"),
    _uuid("published_by"),
    _time("acknowledged_at"),
    sa.Column("acknowledgement_comment", sa.Text),
    sa.UniqueConstraint("staff_id", "period_start", "period_end", name="one_assessment_per_period"),
    sa.CheckConstraint("period_end >= period_start", name="assessment_period"),
    sa.CheckConstraint("status IN ('draft', 'reviewed', 'published')", name="assessment_status"),
)

assessment_kpis = sa.Table(
    "assessment_kpis",
    metadata,
    _uuid("assessment_id", sa.ForeignKey("assessments.assessment_id", ondelete="CASCADE"),
          primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("weight", sa.Integer, nullable=False),
    sa.Column("target", sa.Numeric, nullable=False),
    sa.Column("worst", sa.Numeric, nullable=False),
    sa.Column("value", sa.Numeric),  # NULL: nothing to measure in the period
    sa.Column("score", sa.Numeric(4, 2)),
    # What it counted, frozen at publication: [{source, source_id, kind, occurred_at, value}].
    sa.Column("counted", JSONB, nullable=False),
    # scored, not_measured, not_assessed (per shift, no shift due) or too_few (sample).
    sa.Column("status", sa.Text, nullable=False, server_default="scored"),
    sa.Column("basis", sa.Text, nullable=False, server_default="period"),
    sa.Column("target_for_period", sa.Numeric),
    sa.Column("worst_for_period", sa.Numeric),
    # The arithmetic: what was counted, the target for this period, the score.
    sa.Column("explanation", sa.Text, nullable=False, server_default=""),
    # The head's adjusted score on review, beside the computed `score`, with its reason.
    sa.Column("adjusted_score", sa.Numeric(4, 2)),
    sa.Column("adjustment_reason", sa.Text),
    sa.CheckConstraint("adjusted_score IS NULL OR (adjustment_reason IS NOT NULL "
                       "AND adjusted_score BETWEEN 0 AND 5)", name="adjustment_has_reason"),
)

# The staff member's appeal against a published assessment, decided by someone other than
# its reviewer; one per assessment.
assessment_appeals = sa.Table(
    "assessment_appeals",
    metadata,
    _uuid("appeal_id", primary_key=True),
    _uuid("assessment_id", sa.ForeignKey("assessments.assessment_id"), nullable=False),
    _uuid("staff_id", nullable=False),
    sa.Column("grounds", sa.Text, nullable=False),
    _time("filed_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    _uuid("decided_by"),
    _time("decided_at"),
    sa.Column("decision_reason", sa.Text),
    sa.UniqueConstraint("assessment_id", name="one_appeal_per_assessment"),
    sa.CheckConstraint("status IN ('open', 'upheld', 'rejected')",
                       name="assessment_appeal_status"),
)

# R1 §5.3: the staff member's own view of a period, beside HR's assessment of it.
self_assessments = sa.Table(
    "self_assessments",
    metadata,
    _uuid("self_assessment_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    # [{code, score (0-5), comment}]
    sa.Column("scores", JSONB, nullable=False),
    _time("filed_at", nullable=False),
    sa.UniqueConstraint("staff_id", "period_start", "period_end",
                        name="one_self_assessment_per_period"),
    sa.CheckConstraint("period_end >= period_start", name="self_assessment_period"),
)

# ---------------------------------------------------------------- discipline (R1 §7.2, R2 §6, §8)

discipline_rules = sa.Table(
    "discipline_rules",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("rule_ref", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("window_days", sa.Integer, nullable=False),
    sa.Column("ladder", sa.ARRAY(sa.Text), nullable=False),
    sa.Column("fine_amount", sa.Numeric(14, 2)),
    sa.Column("suspension_days", sa.Integer),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    _uuid("updated_by"),
    _now("updated_at"),
)

discipline_cases = sa.Table(
    "discipline_cases",
    metadata,
    _uuid("case_id", primary_key=True),
    _uuid("staff_id", nullable=False),  # no foreign key: events may name staff HR lacks
    sa.Column("violation", sa.Text, sa.ForeignKey("discipline_rules.code"), nullable=False),
    sa.Column("rule_ref", sa.Text, nullable=False),  # the clause, as it stood when opened
    sa.Column("description", sa.Text, nullable=False),
    _time("occurred_at", nullable=False),
    # complaint | attendance | manual, and what it is about ("complaint:<id>", …)
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("subject_ref", sa.Text),
    _uuid("source_event_id"),
    _uuid("opened_by"),
    _time("opened_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("action", sa.Text),
    sa.Column("fine_amount", sa.Numeric(14, 2)),
    sa.Column("fine_currency", sa.Text),
    sa.Column("suspension_days", sa.Integer),
    sa.Column("proposed_action", sa.Text),  # what the ladder proposed when it was decided
    sa.Column("decision_reason", sa.Text),
    _uuid("decided_by"),
    _time("decided_at"),
    sa.Column("appeal_grounds", sa.Text),
    _uuid("appealed_by"),
    _time("appealed_at"),
    sa.Column("appeal_outcome", sa.Text),
    sa.Column("appeal_reason", sa.Text),
    sa.Column("action_before_appeal", sa.Text),
    _uuid("appeal_decided_by"),
    _time("appeal_decided_at"),
    sa.CheckConstraint(
        "status IN ('open', 'decided', 'dismissed', 'withdrawn', 'appealed', 'overturned')",
        name="case_status"),
    sa.CheckConstraint("origin IN ('complaint', 'attendance', 'manual')", name="case_origin"),
    # One case per thing that happened: a redelivered or re-sent event opens no second case.
    sa.Index("one_case_per_subject", "violation", "subject_ref", "staff_id", unique=True,
             postgresql_where=sa.text("subject_ref IS NOT NULL")),
    sa.Index("cases_by_staff", "staff_id", "occurred_at"),
)

# ---------------------------------------------------------------- rewards (R1 §7.1, R2 §5.2–5.3)

reward_proposals = sa.Table(
    "reward_proposals",
    metadata,
    _uuid("proposal_id", primary_key=True),
    _uuid("assessment_id", sa.ForeignKey("assessments.assessment_id"), nullable=False,
          unique=True),
    _uuid("staff_id", nullable=False),
    sa.Column("suggested_kind", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="proposed"),
    _now("proposed_at"),
    _uuid("decided_by"),
    _time("decided_at"),
    _uuid("reward_id"),
    sa.CheckConstraint("status IN ('proposed', 'granted', 'declined')", name="proposal_status"),
)

rewards = sa.Table(
    "rewards",
    metadata,
    _uuid("reward_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    # What the head wrote, read over the API; only `reason_code` travels (reward.granted v2).
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reason_code", sa.Text),
    sa.Column("rule_ref", sa.Text, nullable=False),
    sa.Column("bonus_amount", sa.Numeric(14, 2)),
    sa.Column("bonus_currency", sa.Text),
    sa.Column("new_role", sa.Text),
    _uuid("proposal_id", sa.ForeignKey("reward_proposals.proposal_id")),
    _uuid("granted_by", nullable=False),
    _time("granted_at", nullable=False),
    # R2 §5.3: a training opportunity is a place on this session.
    _uuid("training_session_id", sa.ForeignKey("training_sessions.session_id")),
    sa.CheckConstraint("kind IN ('commendation', 'bonus', 'promotion', 'training_opportunity')",
                       name="reward_kind"),
    sa.CheckConstraint("(kind = 'training_opportunity') = (training_session_id IS NOT NULL)",
                       name="reward_training_session"),
)

# ---------------------------------------------------------------- training (R2 §4.2–4.3)

training_sessions = sa.Table(
    "training_sessions",
    metadata,
    _uuid("session_id", primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("clause", sa.Text, nullable=False),
    _time("starts_at", nullable=False),
    _time("ends_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
    _uuid("policy_id"),
    sa.Column("policy_version", sa.Integer),
    _uuid("created_by"),
    _now("created_at"),
    _time("completed_at"),
    sa.CheckConstraint("status IN ('scheduled', 'held', 'cancelled')", name="session_status"),
    sa.CheckConstraint("ends_at > starts_at", name="session_ends_after_start"),
)

training_attendees = sa.Table(
    "training_attendees",
    metadata,
    _uuid("session_id", sa.ForeignKey("training_sessions.session_id"), primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), primary_key=True),
    # Names the attendance when a KPI counts it.
    _uuid("attendance_id", nullable=False, unique=True),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("attended", sa.Boolean),  # NULL until recorded
    _uuid("recorded_by"),
    _time("recorded_at"),
)

# ---------------------------------------------------------------- policy revisions (R1 §9.2)

policies = sa.Table(
    "policies",
    metadata,
    _uuid("policy_id", primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    _now("created_at"),
)

policy_versions = sa.Table(
    "policy_versions",
    metadata,
    _uuid("policy_id", sa.ForeignKey("policies.policy_id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    _time("effective_at", nullable=False),
    sa.Column("requires_training", sa.Boolean, nullable=False),
    _uuid("training_session_id", sa.ForeignKey("training_sessions.session_id")),
    _uuid("published_by", nullable=False),
    _time("published_at", nullable=False),
)

# Each active staff member is asked to acknowledge each version (the notification), until
# they have.
policy_acknowledgements = sa.Table(
    "policy_acknowledgements",
    metadata,
    _uuid("policy_id", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), primary_key=True),
    _time("notified_at", nullable=False),
    _time("acknowledged_at"),
    sa.ForeignKeyConstraint(["policy_id", "version"],
                            ["policy_versions.policy_id", "policy_versions.version"]),
)

# ---------------------------------------------------------------- gift register (R2 §6.3)

gift_declarations = sa.Table(
    "gift_declarations",
    metadata,
    _uuid("gift_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    _uuid("customer_id"),  # cleared when the customer is erased (customer.erased)
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("estimated_value", sa.Numeric(14, 2)),
    sa.Column("currency", sa.Text),
    _time("received_at", nullable=False),
    sa.Column("disposition", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    _uuid("declared_by", nullable=False),
    _time("declared_at", nullable=False),
    _uuid("decided_by"),
    _time("decided_at"),
    sa.Column("decision_note", sa.Text),
    sa.CheckConstraint("disposition IN ('refused', 'handed_over', 'accepted')",
                       name="gift_disposition"),
    sa.CheckConstraint("status IN ('recorded', 'pending_approval', 'approved', 'rejected')",
                       name="gift_status"),
)

# Customers CRM has erased (customer.erased): their ids are not kept from then on.
erased_customers = sa.Table(
    "erased_customers",
    metadata,
    _uuid("customer_id", primary_key=True),
    _time("erased_at", nullable=False),
)

# ---------------------------------------------------------------- offboarding (R1 §6.3)

offboardings = sa.Table(
    "offboardings",
    metadata,
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    _uuid("case_id"),  # the discipline case, for a termination
    _uuid("started_by", nullable=False),
    _time("started_at", nullable=False),
    _uuid("completed_by"),
    _time("completed_at"),
)

offboarding_items = sa.Table(
    "offboarding_items",
    metadata,
    _uuid("staff_id", sa.ForeignKey("offboardings.staff_id"), primary_key=True),
    sa.Column("item", sa.Text, primary_key=True),
    sa.Column("evidence", sa.Text, nullable=False),
    _uuid("done_by", nullable=False),
    _time("done_at", nullable=False),
)

# ---------------------------------------------------------------- skills matrix (R2 §4.1)

skills = sa.Table(
    "skills",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("clause", sa.Text),  # "R2 §4.1" for the four seeded; NULL for the club's own
    _uuid("created_by"),
    _now("created_at"),
)

# What a completed session proposes for an attendee who came; the head or deputy decides.
skill_proposals = sa.Table(
    "skill_proposals",
    metadata,
    _uuid("proposal_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("skill_code", sa.Text, sa.ForeignKey("skills.code"), nullable=False),
    _uuid("session_id", sa.ForeignKey("training_sessions.session_id"), nullable=False),
    sa.Column("from_level", sa.Integer, nullable=False),
    sa.Column("to_level", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="proposed"),
    _time("proposed_at", nullable=False),
    _uuid("decided_by"),
    _time("decided_at"),
    # Recording attendance again, or completing after recording, proposes nothing twice.
    sa.UniqueConstraint("session_id", "staff_id", "skill_code",
                        name="skill_proposal_per_session"),
    sa.CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')",
                       name="skill_proposal_status"),
    sa.CheckConstraint("to_level > from_level", name="skill_proposal_raises"),
)

# Every level ever assessed (the history); the current level is the latest by the day
# assessed, then by when it was recorded.
skill_levels = sa.Table(
    "skill_levels",
    metadata,
    _uuid("entry_id", primary_key=True),
    _uuid("staff_id", sa.ForeignKey("staff.staff_id"), nullable=False),
    sa.Column("skill_code", sa.Text, sa.ForeignKey("skills.code"), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("assessed_on", sa.Date, nullable=False),
    _uuid("assessed_by", nullable=False),
    sa.Column("note", sa.Text),
    # Set when the level is a confirmed training proposal.
    _uuid("proposal_id", sa.ForeignKey("skill_proposals.proposal_id")),
    _time("recorded_at", nullable=False),
    sa.CheckConstraint("level BETWEEN 0 AND 4", name="skill_level_range"),
    sa.Index("skill_levels_current", "staff_id", "skill_code", "assessed_on", "recorded_at"),
)

# Which skills a training session raises: by `raise_by` levels, never above `up_to`.
training_session_skills = sa.Table(
    "training_session_skills",
    metadata,
    _uuid("session_id", sa.ForeignKey("training_sessions.session_id"), primary_key=True),
    sa.Column("skill_code", sa.Text, sa.ForeignKey("skills.code"), primary_key=True),
    sa.Column("raise_by", sa.Integer, nullable=False),
    sa.Column("up_to", sa.Integer, nullable=False),
    sa.CheckConstraint("raise_by BETWEEN 1 AND 4", name="session_skill_raise"),
    sa.CheckConstraint("up_to BETWEEN 1 AND 4", name="session_skill_cap"),
)
