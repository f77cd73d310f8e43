"""KPI facts (a projection of the other services' events) and the KPI templates the HR admin
keeps per role and period (R2 §5.1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson
from club_contracts import Event
from club_platform.envelope import Envelope
from club_platform.errors import Invalid, NotFound
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import kpis as rules
from club_hr.domain.facts import facts_from
from club_hr.schema import kpi_facts, kpi_template_items, kpi_templates

# ---------------------------------------------------------------- facts


async def record_facts(session: AsyncSession, event: Event, envelope: Envelope) -> int:
    """Keep the facts an event carries; a fact already kept (same event, or same business
    aggregate) is not kept twice."""
    return await record_facts_many(session, [(event, envelope)])


# One statement for a whole batch of events: arrays in, rows out, one round trip and one
# cached plan whatever the batch size. Rows keep arrival order, so where two events make the
# same fact (a re-sent completion) the first one kept still wins.
_INSERT_FACTS = text("""
INSERT INTO kpi_facts (source_event_id, topic, kind, staff_id, subject_id, occurred_at,
                       value, attrs)
SELECT f.source_event_id, f.topic, f.kind, f.staff_id, f.subject_id, f.occurred_at, f.value,
       CAST(f.attrs AS jsonb)
FROM unnest(CAST(:source_event_ids AS uuid[]), CAST(:topics AS text[]),
            CAST(:kinds AS text[]), CAST(:staff_ids AS uuid[]), CAST(:subject_ids AS uuid[]),
            CAST(:occurred_ats AS timestamptz[]), CAST(:values AS numeric[]),
            CAST(:attrs AS text[]))
     WITH ORDINALITY AS f(source_event_id, topic, kind, staff_id, subject_id, occurred_at,
                          value, attrs, n)
ORDER BY f.n
ON CONFLICT DO NOTHING
RETURNING fact_id
""")


async def record_facts_many(session: AsyncSession, items: list[tuple[Event, Envelope]]) -> int:
    """Keep the facts of many events at once; returns how many new facts were kept."""
    columns: dict[str, list] = {name: [] for name in (
        "source_event_ids", "topics", "kinds", "staff_ids", "subject_ids", "occurred_ats",
        "values", "attrs")}
    for event, envelope in items:
        for fact in facts_from(event):
            columns["source_event_ids"].append(envelope.id)
            columns["topics"].append(event.topic)
            columns["kinds"].append(fact.kind)
            columns["staff_ids"].append(fact.staff_id)
            columns["subject_ids"].append(fact.subject_id)
            columns["occurred_ats"].append(fact.occurred_at)
            columns["values"].append(fact.value)
            columns["attrs"].append(orjson.dumps(fact.attrs, default=str).decode())
    if not columns["kinds"]:
        return 0
    result = await session.execute(_INSERT_FACTS, columns)
    return len(result.all())


def fact_view(row: Any) -> dict:
    return {
        "source_event_id": row.source_event_id,
        "topic": row.topic,
        "kind": row.kind,
        "staff_id": row.staff_id,
        "subject_id": row.subject_id,
        "occurred_at": row.occurred_at,
        "value": _number(row.value),
        "attrs": row.attrs,
    }


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def list_facts(session: AsyncSession, *, staff_id: UUID | None, kind: str | None,
                     start: datetime | None, end: datetime | None,
                     limit: int = 5000) -> list[dict]:
    query = select(kpi_facts).order_by(kpi_facts.c.occurred_at, kpi_facts.c.source_event_id,
                                       kpi_facts.c.kind).limit(limit)
    if staff_id:
        query = query.where(kpi_facts.c.staff_id == staff_id)
    if kind:
        query = query.where(kpi_facts.c.kind == kind)
    if start:
        query = query.where(kpi_facts.c.occurred_at >= start)
    if end:
        query = query.where(kpi_facts.c.occurred_at < end)
    return [fact_view(r) for r in (await session.execute(query)).all()]


async def facts_between(session: AsyncSession, *, staff_id: UUID, kinds: set[str],
                        start: datetime, end: datetime) -> list[rules.Observation]:
    """The staff member's own facts and the department-wide ones of `kinds` in [start, end)."""
    if not kinds:
        return []
    rows = (await session.execute(
        select(kpi_facts).where(
            kpi_facts.c.kind.in_(sorted(kinds)),
            (kpi_facts.c.staff_id == staff_id) | kpi_facts.c.staff_id.is_(None),
            kpi_facts.c.occurred_at >= start, kpi_facts.c.occurred_at < end)
        .order_by(kpi_facts.c.occurred_at, kpi_facts.c.source_event_id)
    )).all()
    return [
        rules.Observation(source=r.topic, source_id=r.source_event_id, kind=r.kind,
                          occurred_at=r.occurred_at, value=r.value, attrs=r.attrs)
        for r in rows
        # department facts only for department KPIs, own facts only for own KPIs
        if (r.staff_id is None) == (r.kind in rules.DEPARTMENT_KINDS)
    ]


# ---------------------------------------------------------------- templates


def _item_view(row: Any) -> dict:
    definition = rules.CATALOGUE.get(row.code)
    return {
        "code": row.code,
        "weight": row.weight,
        "target": float(row.target),
        "worst": float(row.worst),
        "basis": row.basis,
        "min_sample": row.min_sample,
        "direction": definition.direction.value if definition else None,
    }


async def _template_view(session: AsyncSession, row: Any) -> dict:
    items = (await session.execute(
        select(kpi_template_items).where(kpi_template_items.c.template_id == row.template_id)
        .order_by(kpi_template_items.c.position)
    )).all()
    return {
        "template_id": row.template_id,
        "role": row.role,
        "effective_from": row.effective_from,
        "items": [_item_view(i) for i in items],
    }


def items_of(template: dict) -> list[rules.TemplateItem]:
    return [rules.TemplateItem(i["code"], i["weight"], Decimal(str(i["target"])),
                               Decimal(str(i["worst"])), rules.Basis(i["basis"]),
                               i["min_sample"])
            for i in template["items"]]


async def template_in_force(session: AsyncSession, role: str, on: date) -> dict:
    row = (await session.execute(
        select(kpi_templates).where(kpi_templates.c.role == role,
                                    kpi_templates.c.effective_from <= on)
        .order_by(kpi_templates.c.effective_from.desc()).limit(1)
    )).first()
    if row is None:
        raise Invalid(f"there is no KPI template for the {role} role in force on "
                      f"{on.isoformat()}; the HR admin sets one up first")
    return await _template_view(session, row)


async def list_templates(session: AsyncSession, role: str | None) -> list[dict]:
    query = select(kpi_templates).order_by(kpi_templates.c.role, kpi_templates.c.effective_from)
    if role:
        query = query.where(kpi_templates.c.role == role)
    return [await _template_view(session, r) for r in (await session.execute(query)).all()]


async def put_template(session: AsyncSession, *, role: str, effective_from: date,
                       items: list[rules.TemplateItem], today: date,
                       created_by: UUID) -> dict:
    """Set the template of `role` from `effective_from` (a future date) on; a version set for
    that date earlier is replaced, since it has not applied to anything yet."""
    rules.check_effective_from(effective_from, today)
    rules.check_template(items)
    existing = (await session.execute(
        select(kpi_templates.c.template_id).where(kpi_templates.c.role == role,
                                                  kpi_templates.c.effective_from
                                                  == effective_from)
    )).scalar()
    if existing is not None:
        await session.execute(kpi_templates.delete()
                              .where(kpi_templates.c.template_id == existing))
    template_id = uuid4()
    await session.execute(kpi_templates.insert().values(
        template_id=template_id, role=role, effective_from=effective_from,
        created_by=created_by))
    await session.execute(kpi_template_items.insert(), [
        {"template_id": template_id, "code": item.code, "position": position,
         "weight": item.weight, "target": item.target, "worst": item.worst,
         "basis": item.basis.value, "min_sample": item.min_sample}
        for position, item in enumerate(items)
    ])
    row = (await session.execute(
        select(kpi_templates).where(kpi_templates.c.template_id == template_id))).one()
    return await _template_view(session, row)


async def get_template(session: AsyncSession, template_id: UUID) -> dict:
    row = (await session.execute(
        select(kpi_templates).where(kpi_templates.c.template_id == template_id))).first()
    if row is None:
        raise NotFound(f"no KPI template {template_id}")
    return await _template_view(session, row)
