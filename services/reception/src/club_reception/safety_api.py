"""Safety rounds over HTTP (R2 §7.1, §7.2), registered beside api.py's routers.

Who may do what:
- the head and deputy write the areas' checklists, schedule rounds (also from an incident),
  and may give a failed item another owner, a due date, or an incident;
- the staff member scheduled to walk a round records its answers (or a supervisor does);
- a finding is closed, with evidence, by its owner or a supervisor;
- every staff member reads the checklists, rounds and findings.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from club_platform.auth import SUPERVISORS
from club_platform.inputs import Moment
from fastapi import APIRouter, Path, Query
from pydantic import Field

from club_reception import safety
from club_reception.api import (
    IdempotencyKey,
    Runtime,
    Staff,
    Supervisor,
    _create,
    _In,
    _Out,
    _settings,
)
from club_reception.domain.safety import Answer

# Codes travel on the bus (club_contracts' Code): lower snake_case.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
AreaPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
AreaQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")]
Severity = Literal["low", "medium", "high", "critical"]

safety_api = APIRouter(tags=["safety rounds"])


# ---------------------------------------------------------------- checklists


class ChecklistItemIn(_In):
    item: Code
    wording: Annotated[str, Field(min_length=1, max_length=500,
                                  description="What staff read on the round.")]


class ChecklistIn(_In):
    items: list[ChecklistItemIn] = Field(min_length=1, max_length=100)


class ChecklistItem(_Out):
    item: str
    wording: str


class Checklist(_Out):
    area: str
    items: list[ChecklistItem]


@safety_api.get("/safety/checklists", response_model=list[Checklist],
                summary="Every area's safety checklist")
async def list_checklists(runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.list_checklists(session)


@safety_api.get("/safety/checklists/{area}", response_model=Checklist,
                summary="One area's safety checklist")
async def get_checklist(area: AreaPath, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.get_checklist(session, area)


@safety_api.put("/safety/checklists/{area}", response_model=Checklist,
                summary="Write (or rewrite) an area's checklist (R2 §7.1)")
async def define_checklist(area: AreaPath, body: ChecklistIn, runtime: Runtime,
                           principal: Supervisor) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.define_checklist(
            session, area, [(i.item, i.wording) for i in body.items], by=principal.id,
            now=runtime.clock.now())


# ---------------------------------------------------------------- rounds


class NewRound(_In):
    area: Code
    location_id: UUID | None = None
    walker_id: UUID = Field(description="The active staff member who walks it.")
    scheduled_for: Moment | None = Field(default=None, description="Defaults to now.")


class RoundCall(_In):
    area: Code
    walker_id: UUID
    scheduled_for: Moment | None = None


class IncidentOrder(_In):
    severity: Severity


class AnswerIn(_In):
    item: Code
    result: Literal["pass", "fail"]
    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="Required for a failed item: what is wrong. Stays here.")
    owner_id: UUID | None = Field(default=None, description=(
        "Failed items: who fixes it (supervisors only); defaults to the walker."))
    due_at: Moment | None = Field(default=None, description=(
        "Failed items: fixed by when (supervisors only); defaults by area."))
    open_incident: IncidentOrder | None = Field(default=None, description=(
        "Failed items: also report a safety incident at the round's location (R2 §7.2)."))


class RoundAnswers(_In):
    answers: list[AnswerIn] = Field(min_length=1, max_length=100)


class RoundItem(_Out):
    item: str
    wording: str
    result: Literal["pass", "fail"] | None
    note: str | None


class SafetyRound(_Out):
    round_id: UUID
    area: str
    location_id: UUID | None
    walker_id: UUID
    scheduled_for: dt.datetime
    scheduled_by: UUID
    scheduled_at: dt.datetime
    incident_id: UUID | None
    completed_at: dt.datetime | None
    completed_by: UUID | None
    status: Literal["scheduled", "completed"]
    items: list[RoundItem]
    finding_ids: list[UUID]


@safety_api.post("/safety/rounds", status_code=201, response_model=SafetyRound,
                 summary="Schedule a safety round of an area's checklist (R2 §7.1)")
async def schedule_round(body: NewRound, runtime: Runtime, principal: Supervisor,
                         key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="schedule_safety_round",
        payload=body.model_dump(mode="json"),
        work=lambda session: safety.schedule_round(
            session, area=body.area, location_id=body.location_id, walker_id=body.walker_id,
            scheduled_for=body.scheduled_for, by=principal.id, now=runtime.clock.now()))


@safety_api.post("/incidents/{incident_id}/safety-rounds", status_code=201,
                 response_model=SafetyRound,
                 summary="An incident calls for a safety round of its location (R2 §7.2)")
async def call_round(incident_id: UUID, body: RoundCall, runtime: Runtime,
                     principal: Supervisor, key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope=f"incident_safety_round:{incident_id}",
        payload=body.model_dump(mode="json"),
        work=lambda session: safety.call_round_for_incident(
            session, incident_id, area=body.area, walker_id=body.walker_id,
            scheduled_for=body.scheduled_for, by=principal.id, now=runtime.clock.now()))


@safety_api.get("/safety/rounds", response_model=list[SafetyRound], summary="Safety rounds")
async def list_rounds(runtime: Runtime, _: Staff,
                      status: Literal["scheduled", "completed"] | None = None,
                      area: AreaQuery = None,
                      walker_id: UUID | None = None) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.list_rounds(session, status=status, area=area, walker_id=walker_id)


@safety_api.get("/safety/rounds/{round_id}", response_model=SafetyRound,
                summary="One safety round with its answers")
async def get_round(round_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.round_view(session, round_id)


@safety_api.post("/safety/rounds/{round_id}/complete", response_model=SafetyRound,
                 summary="Record the walk: every item pass or fail; failed items become "
                         "findings")
async def complete_round(round_id: UUID, body: RoundAnswers, runtime: Runtime,
                         principal: Staff) -> Any:
    orders = {a.item: safety.FailedItemOrders(
        owner_id=a.owner_id, due_at=a.due_at,
        incident_severity=a.open_incident.severity if a.open_incident else None)
        for a in body.answers if a.owner_id or a.due_at or a.open_incident}
    async with runtime.database.transaction() as session:
        return await safety.complete_round(
            session, round_id, [Answer(a.item, a.result, a.note) for a in body.answers],
            orders, by=principal.id, supervisor=principal.role in SUPERVISORS,
            settings=_settings(runtime), now=runtime.clock.now())


# ---------------------------------------------------------------- findings


class FindingClosure(_In):
    evidence: Annotated[str, Field(min_length=1, max_length=4000, description=(
        "What was done and how it was checked; stays here."))]


class Finding(_Out):
    finding_id: UUID
    round_id: UUID
    area: str
    item: str
    location_id: UUID | None
    note: str
    owner_id: UUID
    due_at: dt.datetime
    opened_at: dt.datetime
    incident_id: UUID | None
    overdue_at: dt.datetime | None
    escalated_to_role: Literal["deputy", "head"] | None
    closed_at: dt.datetime | None
    closed_by: UUID | None
    evidence: str | None
    state: Literal["open", "overdue", "closed"]
    on_time: bool | None


@safety_api.get("/safety/findings", response_model=list[Finding],
                summary="Safety findings: open (not yet due), overdue (escalated), closed")
async def list_findings(runtime: Runtime, _: Staff,
                        state: Literal["open", "overdue", "closed"] | None = None,
                        owner_id: UUID | None = None) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.list_findings(session, state=state, owner_id=owner_id)


@safety_api.get("/safety/findings/{finding_id}", response_model=Finding,
                summary="One safety finding")
async def get_finding(finding_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.finding_view(session, finding_id)


@safety_api.post("/safety/findings/{finding_id}/close", response_model=Finding,
                 summary="Close a finding with evidence; closing again changes nothing")
async def close_finding(finding_id: UUID, body: FindingClosure, runtime: Runtime,
                        principal: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await safety.close_finding(
            session, finding_id, evidence=body.evidence, by=principal.id,
            supervisor=principal.role in SUPERVISORS, now=runtime.clock.now())
