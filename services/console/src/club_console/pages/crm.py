"""Customer relations (CRM specialists; the head and deputy too; R1 §2.4, §3.5, §5.4, §6,
R2 §3.3–3.5): the complaint queue with its deadlines and escalations, one complaint with its
coordination tasks and the steps each state allows (acknowledge, start, assign, escalate,
resolve with an explanation and a compensation plan, close, reopen), the follow-up calls, and
the satisfaction survey results. Customers, found and read only for a stated purpose, are in
pages/customers.py; this module holds the vocabulary both use."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console.i18n import N_
from club_console.pages._common import again, datetime_local, local_midnight, text_values
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()

ACTIVE = ("open", "acknowledged", "in_progress")
SUPERVISORS = ("head", "deputy")
ASSIGNABLE_ROLES = ("crm_specialist", "deputy", "head")

QUEUE_STATES = (("active", N_("Active (open, acknowledged, in progress)")),
                ("open", N_("open")), ("acknowledged", N_("acknowledged")),
                ("in_progress", N_("in progress")), ("resolved", N_("resolved")),
                ("closed", N_("closed")))
CATEGORIES = {"service": N_("service"), "staff_conduct": N_("staff conduct"),
              "facility": N_("facility"), "billing": N_("billing"), "safety": N_("safety"),
              "other": N_("other")}
SEVERITIES = {"low": N_("low"), "medium": N_("medium"), "high": N_("high")}
CHANNELS = {"in_person": N_("in person"), "phone": N_("phone"), "email": N_("e-mail"),
            "online": N_("online"), "app": N_("app"), "survey": N_("survey"),
            "other": N_("other")}
COMPENSATIONS = (("none", N_("none")), ("voucher", N_("voucher")), ("refund", N_("refund")),
                 ("service_credit", N_("service credit")), ("gift", N_("gift")))
RESOLUTION_CODES = (("explained", N_("explained")), ("apologised", N_("apologised")),
                    ("service_redone", N_("service redone")),
                    ("compensated", N_("compensated")),
                    ("policy_clarified", N_("policy clarified")),
                    ("staff_coached", N_("staff coached")), ("other", N_("other")))
UPHELD = (("true", N_("Yes, upheld")), ("false", N_("No, not upheld")))
HISTORY_ACTIONS = {"opened": N_("opened"), "acknowledge": N_("acknowledged"),
                   "start": N_("work started"), "resolve": N_("resolved"),
                   "close": N_("closed"), "reopen": N_("reopened"), "assigned": N_("assigned"),
                   "escalated": N_("escalated"), "task_added": N_("task added"),
                   "task_done": N_("task done")}
ESCALATION_REASONS = {"sla_breach": N_("deadline missed"), "severity": N_("severity"),
                      "manual": N_("by hand")}
ESCALATED_TO = {"deputy": N_("to the deputy head"), "head": N_("to the head of department")}
# The steps a complaint's state allows, as the crm service's state machine has them.
STEPS = {"acknowledge": ("open",), "start": ("acknowledged",),
         "escalate": ACTIVE, "close": ("resolved",), "reopen": ("resolved", "closed")}
STEP_DONE = {"acknowledge": N_("Complaint acknowledged."), "start": N_("Work started."),
             "escalate": N_("Complaint escalated."), "close": N_("Complaint closed."),
             "reopen": N_("Complaint reopened.")}
# Why personal data is read (a closed list: the crm service audits each read with it).
PURPOSES = (("complaint_handling", N_("handling a complaint")),
            ("followup_call", N_("a follow-up call")),
            ("customer_request", N_("the customer asked")),
            ("account_maintenance", N_("correcting the record")),
            ("erasure_request", N_("an erasure request")),
            ("incident_investigation", N_("investigating an incident")),
            ("quality_review", N_("quality review")))
PURPOSE_CODES = {code for code, _ in PURPOSES}
OUTCOMES = (("satisfied", N_("satisfied")), ("neutral", N_("neutral")),
            ("dissatisfied", N_("dissatisfied")), ("unreachable", N_("unreachable")))
FOLLOWUP_REASONS = {"post_visit": N_("after a visit"), "post_complaint": N_("after a complaint")}
TIERS = {"standard": N_("standard"), "silver": N_("silver"), "gold": N_("gold"),
         "platinum": N_("platinum")}
REPORT_BY = (("all", N_("overall")), ("staff", N_("by staff member")),
             ("service", N_("by service")), ("week", N_("by week")))

LABELS = {"categories": CATEGORIES, "severities": SEVERITIES, "channels": CHANNELS,
          "history_actions": HISTORY_ACTIONS, "escalation_reasons": ESCALATION_REASONS,
          "escalated_to": ESCALATED_TO, "compensation_names": dict(COMPENSATIONS),
          "code_names": dict(RESOLUTION_CODES), "outcome_names": dict(OUTCOMES),
          "followup_reasons": FOLLOWUP_REASONS, "tiers": TIERS,
          "purpose_names": dict(PURPOSES)}


def escalated(c: dict) -> bool:
    return bool(c.get("escalation_level")) and c.get("state") in ACTIVE


def _next_due(c: dict) -> str:
    """What falls due next: the first response while it is owed, else the resolution."""
    if c.get("state") == "open" and not c.get("acknowledged_at"):
        return c.get("first_response_due_at") or c.get("sla_due_at") or ""
    return c.get("sla_due_at") or ""


def _instant(value: str | None) -> datetime:
    if not value:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def queue_order(complaints: list[dict]) -> list[dict]:
    """Escalated ones first (the highest rung first), then what is due next: the first
    response owed, then the resolution deadline."""
    return sorted(complaints, key=lambda c: (
        not escalated(c), -(c.get("escalation_level") or 0) if escalated(c) else 0,
        _instant(_next_due(c)), _instant(c.get("sla_due_at"))))


async def _staff(page: Visit) -> tuple[dict[str, str], list[tuple[str, str]], str | None]:
    """Staff names (reception's copy of the directory, readable by every staff role) and who a
    complaint or a call may be given to: active CRM specialists, deputies and heads."""
    staff, down = await page.part(page.get("reception", "/staff"))
    names = {s["staff_id"]: s.get("display_name") or s["staff_id"][:8] for s in staff or []}
    assignable = [(s["staff_id"], s.get("display_name") or s["staff_id"][:8])
                  for s in staff or []
                  if s.get("status") == "active" and s.get("role") in ASSIGNABLE_ROLES]
    return names, assignable, down


def mark_named_fields(problem: Problem, names: dict[str, str]) -> Problem:
    """The crm service names a rule's missing parts in brackets ("… (explanation)"): show its
    sentence next to each field it names, as well as above the form."""
    for marker, field in names.items():
        if marker in problem.detail:
            problem.fields.setdefault(field, problem.detail)
    if problem.code == "purpose_required":
        problem.fields.setdefault("purpose", problem.detail)
    return problem


# ------------------------------------------------------------------ the complaint queue


@router.get("/crm")
async def queue(page: Visit = Depends(visit), state: str = "active", mine: bool = False):
    person = page.require_person()
    if state not in {code for code, _ in QUEUE_STATES}:
        state = "active"
    assigned_to = str(person.id) if mine else None
    states = ACTIVE if state == "active" else (state,)
    answers = await asyncio.gather(*(page.get("crm", "/complaints", state=s,
                                              assigned_to=assigned_to) for s in states))
    complaints = queue_order([c for answer in answers for c in answer])
    names, _assignable, staff_down = await _staff(page)
    return page.render("crm/queue.html", complaints=complaints, state=state, mine=mine,
                       states=QUEUE_STATES, staff_names=names, staff_down=staff_down,
                       escalated=escalated, next_due=_next_due, **LABELS)


# ------------------------------------------------------------------ one complaint


async def _complaint_context(page: Visit, complaint_id: str) -> dict[str, Any]:
    complaint, (names, assignable, staff_down) = await asyncio.gather(
        page.get("crm", f"/complaints/{complaint_id}", purpose="complaint_handling"),
        _staff(page))
    person = page.person
    return {"complaint": complaint, "staff_names": names, "assignable": assignable,
            "staff_down": staff_down, "escalated": escalated(complaint),
            "steps": [s for s, states in STEPS.items() if complaint["state"] in states
                      and not (s == "escalate" and (complaint.get("escalation_level") or 0) >= 2)],
            "may_assign": person is not None and person.role in SUPERVISORS
            and complaint["state"] in ACTIVE,
            "may_resolve": complaint["state"] in ("acknowledged", "in_progress"),
            "takes_tasks": complaint["state"] in ACTIVE,
            "open_tasks": [t for t in complaint.get("tasks") or [] if t.get("state") == "open"],
            "compensations": COMPENSATIONS, "resolution_codes": RESOLUTION_CODES,
            "upheld_choices": UPHELD, **LABELS}


@router.get("/crm/complaints/{complaint_id}")
async def complaint_page(complaint_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("crm/complaint.html", **await _complaint_context(page, complaint_id))


async def _complaint_again(page: Visit, complaint_id: str, problem: Problem, form_name: str,
                           values: dict[str, Any]):
    # Every form of the complaint page comes back to it the same way.
    return again(page, "crm/complaint.html", problem, form_name, values,
                 await _complaint_context(page, complaint_id))


@router.post("/crm/complaints/{complaint_id}/assign")
async def assign_complaint(complaint_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id")
    try:
        await page.post("crm", f"/complaints/{complaint_id}/assign", values, idempotent=False)
    except Problem as e:
        return await _complaint_again(page, complaint_id, e, "assign", values)
    page.flash(page._("Complaint assigned."))
    return page.redirect(f"/crm/complaints/{complaint_id}")


@router.post("/crm/complaints/{complaint_id}/tasks")
async def add_task(complaint_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "department", "description", "due_at")
    due_at = None
    if values["due_at"]:
        try:
            due_at = datetime_local(page, values["due_at"])
        except ValueError:
            problem = Problem("crm", 422, page._("Give the due time as a date and a time."),
                              fields={"due_at": page._("a date and a time")})
            return await _complaint_again(page, complaint_id, problem, "task", values)
    try:
        await page.post("crm", f"/complaints/{complaint_id}/tasks", {
            "department": values["department"], "description": values["description"],
            "due_at": due_at})
    except Problem as e:
        return await _complaint_again(page, complaint_id, e, "task", values)
    page.flash(page._("Coordination task added."))
    return page.redirect(f"/crm/complaints/{complaint_id}")


@router.post("/crm/complaints/{complaint_id}/tasks/{task_id}/complete")
async def complete_task(complaint_id: str, task_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "outcome")
    try:
        await page.post("crm", f"/complaints/{complaint_id}/tasks/{task_id}/complete", values,
                        idempotent=False)
    except Problem as e:
        return await _complaint_again(page, complaint_id, e, f"task-{task_id}", values)
    page.flash(page._("Task completed."))
    return page.redirect(f"/crm/complaints/{complaint_id}")


@router.post("/crm/complaints/{complaint_id}/resolve")
async def resolve(complaint_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "explanation", "kind", "amount", "currency", "upheld",
                   "resolution_code")
    body: dict[str, Any] = {
        "explanation": values["explanation"] or None,
        "compensation": None if not values["kind"] else {
            "kind": values["kind"], "amount": values["amount"] or None,
            "currency": values["currency"] or "CNY"},
        "upheld": {"true": True, "false": False}.get(values["upheld"]),
    }
    if values["resolution_code"]:
        body["resolution_code"] = values["resolution_code"]
    try:
        await page.post("crm", f"/complaints/{complaint_id}/resolve", body)
    except Problem as e:
        mark_named_fields(e, {"(explanation)": "explanation", "(compensation.kind": "kind",
                               "(compensation.amount)": "amount", "(upheld": "upheld",
                               "kind 'none' has no amount": "amount",
                               "amount must be more than zero": "amount"})
        return await _complaint_again(page, complaint_id, e, "resolve", values)
    page.flash(page._("Complaint resolved."))
    return page.redirect(f"/crm/complaints/{complaint_id}")


@router.post("/crm/complaints/{complaint_id}/{step}")
async def step(complaint_id: str, step: str, page: Visit = Depends(visit)):
    await page.form()
    if step not in STEPS:
        problem = Problem("crm", 404, page._("There is no such page."))
        return await _complaint_again(page, complaint_id, problem, "steps", {})
    try:
        await page.post("crm", f"/complaints/{complaint_id}/{step}", {}, idempotent=False)
    except Problem as e:
        return await _complaint_again(page, complaint_id, e, "steps", {})
    page.flash(page._(STEP_DONE[step]))
    return page.redirect(f"/crm/complaints/{complaint_id}")


# ------------------------------------------------------------------ follow-up calls


async def _followups_context(page: Visit, staff_id: str) -> dict[str, Any]:
    person = page.person
    supervisor = person is not None and person.role in SUPERVISORS
    (mine, mine_down), (overdue, overdue_down), (names, assignable, staff_down) = \
        await asyncio.gather(
            page.main(page.get("crm", "/followups/queue",
                               staff_id=staff_id if supervisor else None)),
            page.part(page.get("crm", "/followups/overdue")),
            _staff(page))
    return {"queue": mine or [], "queue_down": mine_down, "overdue": overdue or [],
            "overdue_down": overdue_down, "staff_names": names, "assignable": assignable,
            "staff_down": staff_down, "supervisor": supervisor, "staff_id": staff_id,
            "outcomes": OUTCOMES, **LABELS}


@router.get("/crm/followups")
async def followups(page: Visit = Depends(visit), staff_id: str = ""):
    page.require_person()
    return page.render("crm/followups.html", **await _followups_context(page, staff_id))


def _followups_back(staff_id: str) -> str:
    return "/crm/followups" + (f"?staff_id={staff_id}" if staff_id else "")


@router.post("/crm/followups/{followup_id}/complete")
async def complete_followup(followup_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "outcome", "note", "staff_filter")
    try:
        await page.post("crm", f"/followups/{followup_id}/complete", {
            "outcome": values["outcome"], "note": values["note"] or None})
    except Problem as e:
        return again(page, "crm/followups.html", e, f"done-{followup_id}", values,
                     await _followups_context(page, values["staff_filter"]))
    page.flash(page._("Call recorded."))
    return page.redirect(_followups_back(values["staff_filter"]))


@router.post("/crm/followups/{followup_id}/assign")
async def assign_followup(followup_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id", "staff_filter")
    try:
        await page.post("crm", f"/followups/{followup_id}/assign",
                        {"staff_id": values["staff_id"]}, idempotent=False)
    except Problem as e:
        return again(page, "crm/followups.html", e, f"assign-{followup_id}", values,
                     await _followups_context(page, values["staff_filter"]))
    page.flash(page._("Call assigned."))
    return page.redirect(_followups_back(values["staff_filter"]))


# ------------------------------------------------------------------ surveys (R2 §3.5)


@router.get("/crm/surveys")
async def surveys(page: Visit = Depends(visit), by: str = "all", since: str = "",
                  until: str = ""):
    page.require_person()
    if by not in {code for code, _ in REPORT_BY}:
        by = "all"
    query: dict[str, Any] = {"by": by}
    problem = None
    try:
        if since:
            query["since"] = local_midnight(page, date.fromisoformat(since)).isoformat()
        if until:
            # The day given is included: the report runs to the next day's start.
            query["until"] = local_midnight(
                page, date.fromisoformat(until) + timedelta(days=1)).isoformat()
    except ValueError:
        problem = page._("Give the dates as year, month and day.")
    report, down = (None, None)
    if problem is None:
        report, down = await page.main(page.get("crm", "/surveys/report", **query))
    names: dict[str, str] = {}
    if by == "staff" and report:
        names, _assignable, _down = await _staff(page)
    return page.render("crm/surveys.html", report=report, report_down=down, by=by,
                       since=since, until=until, report_by=REPORT_BY, staff_names=names,
                       problem={"report": problem} if problem else {})
