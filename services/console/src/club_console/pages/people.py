"""People (HR administrators, the head and the deputy; R1 §6.3, §7–9, R2 §4–6, §8): the staff
register and one person's file. The other screens of the area have their own modules:
assessments (R2 §5.1), cases (discipline, R1 §7.2, R2 §8) and records (policies, training,
rewards, gifts, offboarding); this module holds the vocabulary and the lookups they all share
(and that /me shares).

HR decides who may see and do what: every call goes with the person's own token, and the forms
shown are only those the role may send (the service refuses the rest anyway)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends

from club_console import web
from club_console.i18n import N_
from club_console.pages._common import (
    again,
    club_today,
    datetime_local,
    label,
    local_midnight,
    text_values,
)
from club_console.services import Problem, ServiceDown
from club_console.web import Visit, visit

router = APIRouter()

MANAGERS = ("head", "deputy", "hr_admin")
# The staff roles, labelled as everywhere in the console (web.ROLE_NAMES less "member").
ROLES = tuple((role, web.ROLE_NAMES[role])
              for role in ("head", "deputy", "attendant", "crm_specialist", "hr_admin"))
STAFF_STATUSES = (("active", N_("active")), ("suspended", N_("suspended")),
                  ("offboarded", N_("offboarded")))
ACTIONS = (("verbal_warning", N_("verbal warning")), ("written_warning", N_("written warning")),
           ("fine", N_("fine")), ("suspension", N_("suspension")),
           ("termination", N_("termination")))
REWARD_KINDS = (("commendation", N_("commendation")), ("bonus", N_("bonus")),
                ("promotion", N_("promotion")),
                ("training_opportunity", N_("training opportunity")))
REWARD_REASONS = (("outstanding_assessment", N_("outstanding assessment")),
                  ("customer_praise", N_("customer praise")),
                  ("exemplary_conduct", N_("exemplary conduct")),
                  ("safety_action", N_("safety action")),
                  ("training_excellence", N_("training excellence")),
                  ("long_service", N_("long service")), ("other", N_("other")))
OFFBOARDING_ITEMS = (("documents_returned_or_destroyed", N_("documents returned or destroyed")),
                     ("customer_data_access_revoked", N_("customer data access revoked")),
                     ("badge_and_keys_returned", N_("badge and keys returned")))
OFFBOARDING_REASONS = (("resignation", N_("resignation")), ("termination", N_("termination")),
                       ("retirement", N_("retirement")),
                       ("end_of_contract", N_("end of contract")), ("other", N_("other")))
GIFT_DISPOSITIONS = (("refused", N_("refused")), ("handed_over", N_("handed over")),
                     ("accepted", N_("accepted")))
GIFT_STATUSES = (("recorded", N_("recorded")), ("pending_approval", N_("pending approval")),
                 ("approved", N_("approved")), ("rejected", N_("rejected")))
KPI_STATUSES = {"scored": N_("scored"), "not_measured": N_("not measured"),
                "not_assessed": N_("not assessed: no shift was due"),
                "too_few": N_("too few observations to score")}
RATINGS = {"outstanding": N_("outstanding"), "good": N_("good"), "meets": N_("meets"),
           "needs_improvement": N_("needs improvement"),
           "unsatisfactory": N_("unsatisfactory")}
BASES = {"period": N_("for the period"), "per_shift": N_("per shift due")}
DIRECTIONS = {"higher_is_better": N_("higher is better"),
              "lower_is_better": N_("lower is better")}
# What each KPI measures, as people read it (the service's catalogue, GET /kpis).
KPI_NAMES = {
    "visits_served": N_("Visits served"), "mean_csat": N_("Mean satisfaction (CSAT)"),
    "upheld_complaints": N_("Complaints upheld"), "punctuality": N_("Punctuality"),
    "shifts_attended": N_("Shifts attended"), "incidents_reported": N_("Incidents reported"),
    "complaints_within_sla": N_("Complaints resolved within the deadline"),
    "first_response_on_time": N_("First responses on time"),
    "median_resolution_hours": N_("Median hours to resolve"),
    "followups_on_time": N_("Follow-ups on time"),
    "satisfaction_after_resolution": N_("Satisfied after resolution"),
    "department_csat": N_("Department satisfaction (CSAT)"),
    "complaints_per_100_visits": N_("Complaints per 100 visits"),
    "team_shifts_attended": N_("Team shifts worked"),
    "escalations_resolved_in_time": N_("Escalations resolved in time"),
    "team_training_compliance": N_("Team training attendance"),
    "tasks_on_time": N_("Tasks on time"), "findings_closed_on_time": N_("Findings closed on time"),
    "actions_on_time": N_("Improvement actions on time"),
}
# What each counted observation was (its kind in the evidence).
EVIDENCE_KINDS = {
    "visit_served": N_("visit served"), "visit": N_("visit completed"),
    "credited_survey": N_("survey about a visit they served"), "survey": N_("survey"),
    "upheld_complaint": N_("complaint upheld"), "complaint": N_("complaint opened"),
    "complaint_resolved": N_("complaint resolved"), "first_response": N_("first response"),
    "followup": N_("follow-up call"), "resolution_followup": N_("follow-up after a resolution"),
    "incident_reported": N_("incident reported"), "shift": N_("shift"),
    "team_shift": N_("a colleague's shift"), "training_attendance": N_("training attendance"),
    "escalation_outcome": N_("escalation"), "task": N_("task"),
    "finding_closed": N_("safety finding closed"), "improvement_action": N_("improvement action"),
}
ATTR_NAMES = {
    "host": N_("host"), "service_minutes": N_("service minutes"),
    "visit_service_minutes": N_("visit's service minutes"), "weight": N_("weight"),
    "credit": N_("credit"), "visit_id": N_("visit"), "within_sla": N_("within the deadline"),
    "upheld": N_("upheld"), "met": N_("met"), "due_at": N_("due"), "on_time": N_("on time"),
    "outcome": N_("outcome"), "reason": N_("reason"), "complaint_id": N_("complaint"),
    "category": N_("category"), "severity": N_("severity"), "kept": N_("kept"),
    "on_leave": N_("on approved leave"), "late_minutes": N_("minutes late"),
    "early_minutes": N_("minutes early"), "arrival_event_id": N_("arrival event"),
    "departure_event_id": N_("departure event"), "arrival_clocking_id": N_("arrival clocking"),
    "departure_clocking_id": N_("departure clocking"), "staff_id": N_("staff member"),
    "resolved": N_("resolved"), "resolved_within_sla": N_("resolved in time"),
    "to": N_("escalated to"), "level": N_("level"), "called_by": N_("called by"),
    "authorised_by_leave": N_("authorised by leave"), "meeting_id": N_("meeting"),
}


# States of HR's records the console's shared list (web.STATUS_NAMES) does not name.
EXTRA_STATES = {"withdrawn": N_("withdrawn"), "overturned": N_("overturned"),
                "reduced": N_("reduced"), "rejected": N_("rejected"), "held": N_("held"),
                "requested": N_("requested"), "approved": N_("approved"),
                "declined": N_("declined"), "pending_approval": N_("pending approval"),
                "recorded": N_("recorded"), "proposed": N_("proposed"),
                "granted": N_("granted")}
VIOLATIONS = {"late_arrival": N_("late arrival"), "early_leave": N_("early leave"),
              "absence": N_("absence"), "upheld_complaint": N_("complaint upheld"),
              "dress_code": N_("dress code"), "gift_acceptance": N_("gift accepted"),
              "privacy_breach": N_("privacy breach"),
              "confidentiality_breach": N_("confidentiality breach"),
              "private_dealings": N_("private dealings"),
              "facility_misuse": N_("misuse of facilities")}
LEAVE_KINDS = {"annual": N_("annual leave"), "sick": N_("sick leave"),
               "personal": N_("personal leave"), "late_start": N_("late start"),
               "early_leave": N_("early leave")}


def state(value: str | None) -> str:
    """An HR state as people read it."""
    if value in EXTRA_STATES:
        return web._gettext(EXTRA_STATES[value])
    return web.status_name(value)


def named(table: dict[str, str]):
    """A template function: a code of `table` as people read it."""
    return partial(label, table)


def is_manager(page: Visit) -> bool:
    person = page.person
    return bool(person and person.role in MANAGERS)


async def optional(page: Visit, call) -> tuple[Any, str | None]:
    """Like page.part, but a 404 (nothing of the kind yet) is simply nothing."""
    try:
        return await call, None
    except Problem as e:
        if e.status == 404:
            return None, None
        return None, e.detail
    except ServiceDown:
        return None, page._("The {service} service is not answering right now; this part "
                            "of the page will return when it does.").format(service=page._("HR"))


async def staff_names(page: Visit) -> tuple[dict[str, str], list[dict], str | None]:
    """Everyone on HR's register by id (the managers' view; staff get their own name only)."""
    staff, down = await page.part(page.get("hr", "/staff"))
    names = {str(s["staff_id"]): s["display_name"] for s in staff or []}
    person = page.person
    if person is not None and str(person.id) not in names and person.name:
        names[str(person.id)] = person.name
    return names, staff or [], down


def staff_options(staff: list[dict], active_only: bool = True) -> list[tuple[str, str]]:
    return [(str(s["staff_id"]), s["display_name"]) for s in staff
            if not active_only or s["status"] == "active"]


def bad_time(page: Visit, field: str) -> Problem:
    return Problem("hr", 422, page._("Give a date and a time."),
                   fields={field: page._("a date and a time, e.g. 2025-03-01 09:00")})


def money(amount: str) -> dict[str, str] | None:
    """An amount typed into a form as HR's money (the service's currency), or none."""
    return {"amount": amount} if amount else None


def labels() -> dict[str, Any]:
    """The translated-later labels every people template may use."""
    return {"kpi_names": KPI_NAMES, "kpi_statuses": KPI_STATUSES, "ratings": RATINGS,
            "bases": BASES, "directions": DIRECTIONS, "evidence_kinds": EVIDENCE_KINDS,
            "attr_names": ATTR_NAMES, "action_names": dict(ACTIONS),
            "reward_kinds": dict(REWARD_KINDS), "reward_reasons": dict(REWARD_REASONS),
            "offboarding_items": dict(OFFBOARDING_ITEMS),
            "offboarding_reasons": dict(OFFBOARDING_REASONS),
            "gift_dispositions": dict(GIFT_DISPOSITIONS), "gift_statuses": dict(GIFT_STATUSES),
            "state": state, "violation_name": named(VIOLATIONS),
            "leave_name": named(LEAVE_KINDS)}


# --------------------------------------------------------------------------- the register


@router.get("/people")
async def people(role: str = "", status: str = "", page: Visit = Depends(visit)):
    page.require_person()
    staff = await page.get("hr", "/staff", role=role or None, status=status or None)
    return page.render("people/people.html", staff=staff, role=role, status_filter=status,
                       roles=ROLES, statuses=STAFF_STATUSES, **labels())


async def _person_context(page: Visit, staff_id: str) -> dict[str, Any]:
    member = await page.get("hr", f"/staff/{staff_id}")
    today = club_today(page)
    since = local_midnight(page, today - timedelta(days=14))
    until = local_midnight(page, today + timedelta(days=15))
    (shifts, shifts_down), (violations, violations_down), (assessments, assessments_down), \
        (cases, cases_down), (rewards, rewards_down), (training, training_down), \
        (offboarding, offboarding_down), (leave, leave_down) = await asyncio.gather(
            page.part(page.get("hr", "/shifts", staff_id=staff_id, since=since.isoformat(),
                               until=until.isoformat())),
            page.part(page.get("hr", "/attendance/violations", staff_id=staff_id)),
            page.part(page.get("hr", "/assessments", staff_id=staff_id)),
            page.part(page.get("hr", "/discipline/cases", staff_id=staff_id)),
            page.part(page.get("hr", "/rewards", staff_id=staff_id)),
            page.part(page.get("hr", "/training/sessions", staff_id=staff_id)),
            optional(page, page.get("hr", f"/staff/{staff_id}/offboarding")),
            page.part(page.get("hr", "/leave", staff_id=staff_id)))
    return {"member": member, "shifts": shifts or [], "shifts_down": shifts_down,
            "violations": violations or [], "violations_down": violations_down,
            "assessments": assessments or [], "assessments_down": assessments_down,
            "cases": cases or [], "cases_down": cases_down, "rewards": rewards or [],
            "rewards_down": rewards_down, "training": training or [],
            "training_down": training_down, "offboarding": offboarding,
            "offboarding_down": offboarding_down, "leave": leave or [], "leave_down": leave_down,
            "today": today.isoformat(), **labels()}


@router.get("/people/staff/{staff_id}")
async def person(staff_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/person.html", **await _person_context(page, staff_id))


@router.post("/people/staff/{staff_id}/shifts")
async def schedule_shift(staff_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "starts_at", "ends_at")
    try:
        body = {"staff_id": staff_id, "starts_at": datetime_local(page, values["starts_at"]),
                "ends_at": datetime_local(page, values["ends_at"])}
    except ValueError:
        return again(page, "people/person.html", bad_time(page, "starts_at"), "shift", values,
                     await _person_context(page, staff_id))
    try:
        await page.post("hr", "/shifts", body)
    except Problem as e:
        return again(page, "people/person.html", e, "shift", values,
                     await _person_context(page, staff_id))
    page.flash(page._("Shift scheduled."))
    return page.redirect(f"/people/staff/{staff_id}")
