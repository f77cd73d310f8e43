"""Safety rounds (R2 §7.1, §7.2): each area's checklist, the rounds scheduled and walked, their
answers, and the findings a failed item opens; seeded with the four checklists a club starts
with (fire exits, wet floors, equipment, first aid), which the head or deputy then rewrites.

Revision ID: 0005
Revises: 0004
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)

# The wording staff read on the round (the club works in Chinese); codes are what travels.
# Kept here, not imported from the service's code, so the migration stays what it was.
DEFAULT_CHECKLISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "fire_exits": (
        ("exits_unobstructed", "安全出口及疏散通道畅通，无杂物堆放"),
        ("exit_signs_lit", "安全出口指示灯、应急照明正常亮起"),
        ("doors_open_freely", "消防门可从内侧直接推开，未上锁"),
        ("extinguishers_in_date", "灭火器在位、压力正常、在有效期内"),
    ),
    "wet_floors": (
        ("floors_dry", "地面干燥，无积水、油渍"),
        ("warning_signs_out", "湿滑区域已摆放警示牌"),
        ("mats_in_place", "防滑垫铺设到位、无卷边"),
    ),
    "equipment": (
        ("equipment_intact", "设备完好，无松动、破损或裸露电线"),
        ("guards_in_place", "防护罩、安全装置齐全有效"),
        ("out_of_order_tagged", "故障设备已停用并挂牌"),
    ),
    "first_aid": (
        ("kit_complete", "急救箱物品齐全、在有效期内"),
        ("aed_ready", "AED 电量及电极片正常"),
        ("contacts_posted", "急救及紧急联系电话张贴清晰"),
    ),
}


def upgrade() -> None:
    items = op.create_table(
        "safety_checklist_items",
        sa.Column("area", sa.Text(), primary_key=True),
        sa.Column("item", sa.Text(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "safety_rounds",
        sa.Column("round_id", sa.UUID(), primary_key=True),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("location_id", sa.UUID(), sa.ForeignKey("locations.location_id"),
                  nullable=True),
        sa.Column("walker_id", sa.UUID(), nullable=False),
        sa.Column("scheduled_for", Time, nullable=False),
        sa.Column("scheduled_by", sa.UUID(), nullable=False),
        sa.Column("scheduled_at", Time, nullable=False),
        sa.Column("incident_id", sa.UUID(), sa.ForeignKey("incidents.incident_id"),
                  nullable=True),
        sa.Column("completed_at", Time, nullable=True),
        sa.Column("completed_by", sa.UUID(), nullable=True),
    )
    op.create_index("safety_rounds_scheduled_for", "safety_rounds", ["scheduled_for"])
    op.create_table(
        "safety_round_items",
        sa.Column("round_id", sa.UUID(), sa.ForeignKey("safety_rounds.round_id"),
                  primary_key=True),
        sa.Column("item", sa.Text(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("result IS NULL OR result IN ('pass', 'fail')",
                           name="result_known"),
    )
    op.create_table(
        "safety_findings",
        sa.Column("finding_id", sa.UUID(), primary_key=True),
        sa.Column("round_id", sa.UUID(), sa.ForeignKey("safety_rounds.round_id"),
                  nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("location_id", sa.UUID(), sa.ForeignKey("locations.location_id"),
                  nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("due_at", Time, nullable=False),
        sa.Column("opened_at", Time, nullable=False),
        sa.Column("incident_id", sa.UUID(), sa.ForeignKey("incidents.incident_id"),
                  nullable=True),
        sa.Column("overdue_at", Time, nullable=True),
        sa.Column("escalated_to_role", sa.Text(), nullable=True),
        sa.Column("closed_at", Time, nullable=True),
        sa.Column("closed_by", sa.UUID(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "escalated_to_role IS NULL OR escalated_to_role IN ('deputy', 'head')",
            name="escalated_to_role_known"),
    )
    op.create_index("ix_safety_findings_round_id", "safety_findings", ["round_id"])
    op.create_index("safety_findings_open_due", "safety_findings", ["due_at"],
                    postgresql_where=sa.text("closed_at IS NULL"))

    seeded = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    op.bulk_insert(items, [
        {"area": area, "item": item, "position": position, "wording": wording,
         "updated_by": None, "updated_at": seeded}
        for area, listed in DEFAULT_CHECKLISTS.items()
        for position, (item, wording) in enumerate(listed, start=1)])


def downgrade() -> None:
    for table in ("safety_findings", "safety_round_items", "safety_rounds",
                  "safety_checklist_items"):
        op.drop_table(table)
