"""People (HR administrators, the head and the deputy; R1 §6.3, §7–9, R2 §4–6, §8): the staff
register and one person's file, assessments with their scorecards down to the events each KPI
counted (R2 §5.1), discipline cases and their decisions and appeals (R1 §7.2, R2 §8), policy
revisions and who has acknowledged them (R1 §9.2), training (R2 §4.2), rewards (R1 §7.1,
R2 §5.2–5.3), the gift register (R2 §6.3) and offboarding checklists (R1 §6.3).

HR decides who may see and do what: every call goes with the person's own token, and the forms
shown are only those the role may send (the service refuses the rest anyway)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console import web
from club_console.i18n import N_
from club_console.pages.desk import club_today
from club_console.services import Problem, ServiceDown
from club_console.web import Visit, visit

router = APIRouter()

MANAGERS = ("head", "deputy", "hr_admin")
ROLES = (("head", N_("Head of department")), ("deputy", N_("Deputy head")),
         ("attendant", N_("Attendant")), ("crm_specialist", N_("CRM specialist")),
         ("hr_admin", N_("HR administrator")))
STAFF_STATUSES = (("active", N_("active")), ("suspended", N_("suspended")),
                  ("offboarded", N_("offboarded")))
ASSESSMENT_STATUSES = (("draft", N_("draft")), ("reviewed", N_("reviewed")),
                       ("published", N_("published")))
CASE_STATUSES = (("open", N_("open")), ("decided", N_("decided")),
                 ("dismissed", N_("dismissed")), ("withdrawn", N_("withdrawn")),
                 ("appealed", N_("appealed")), ("overturned", N_("overturned")))
ACTIONS = (("verbal_warning", N_("verbal warning")), ("written_warning", N_("written warning")),
           ("fine", N_("fine")), ("suspension", N_("suspension")),
           ("termination", N_("termination")))
APPEAL_OUTCOMES = (("upheld", N_("upheld: the decision stands")),
                   ("reduced", N_("reduced: a lighter action")),
                   ("overturned", N_("overturned: no action")))
ASSESSMENT_APPEAL_OUTCOMES = (("upheld", N_("upheld: back to review")),
                              ("rejected", N_("rejected: stays as published")))
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
    def name(value: str | None) -> str:
        if not value:
            return ""
        return web._gettext(table[value]) if value in table else value.replace("_", " ")
    return name


def is_manager(page: Visit) -> bool:
    person = page.person
    return bool(person and person.role in MANAGERS)


def zone(page: Visit):
    return page.console.languages.zone


def local_instant(page: Visit, value: str) -> str:
    """A `datetime-local` field (club time) as the RFC 3339 instant the services take;
    ValueError when it is not one."""
    return datetime.fromisoformat(value).replace(tzinfo=zone(page)).isoformat()


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


def text_values(form: Any, *names: str) -> dict[str, str]:
    return {k: str(form.get(k) or "").strip() for k in names}


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


def again(page: Visit, template: str, problem: Problem, form_name: str,
          values: dict[str, Any], context: dict[str, Any]):
    return page.render(template, status=problem.status, **context,
                       problem={form_name: problem.detail}, fields={form_name: problem.fields},
                       values={form_name: values})


def bad_time(page: Visit, field: str) -> Problem:
    return Problem("hr", 422, page._("Give a date and a time."),
                   fields={field: page._("a date and a time, e.g. 2025-03-01 09:00")})


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
    since = datetime.combine(today - timedelta(days=14), datetime.min.time(), zone(page))
    until = datetime.combine(today + timedelta(days=15), datetime.min.time(), zone(page))
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
        body = {"staff_id": staff_id, "starts_at": local_instant(page, values["starts_at"]),
                "ends_at": local_instant(page, values["ends_at"])}
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


# --------------------------------------------------------------------------- assessments


async def _assessments_context(page: Visit, status: str = "") -> dict[str, Any]:
    (found, down), (names, staff, _) = await asyncio.gather(
        page.main(page.get("hr", "/assessments", status=status or None)), staff_names(page))
    yesterday = club_today(page) - timedelta(days=1)
    return {"assessments": found or [], "assessments_down": down, "names": names,
            "staff_options": staff_options(staff), "status_filter": status,
            "statuses": ASSESSMENT_STATUSES, "yesterday": yesterday.isoformat(), **labels()}


@router.get("/people/assessments")
async def assessments(status: str = "", page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/assessments.html", **await _assessments_context(page, status))


@router.post("/people/assessments")
async def compute_assessment(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id", "period_start", "period_end")
    try:
        made = await page.post("hr", "/assessments", values)
    except Problem as e:
        return again(page, "people/assessments.html", e, "compute", values,
                     await _assessments_context(page))
    page.flash(page._("Assessment computed: a draft for the head's review."))
    return page.redirect(f"/people/assessments/{made['assessment_id']}")


def _evidence_rows(kpi: dict, subjects: dict[str, dict]) -> list[dict]:
    """Each observation a KPI counted, with what it was about (the fact's subject, from
    GET /kpi-facts) where HR keeps it."""
    rows = []
    for entry in kpi.get("counted") or []:
        fact = subjects.get((entry.get("source_id"), entry.get("kind"))) or subjects.get(
            (entry.get("source_id"), None)) or {}
        attrs = {k: v for k, v in (entry.get("attrs") or {}).items()
                 if v not in (None, "", [])}
        rows.append({**entry, "subject_id": fact.get("subject_id"), "attrs": attrs})
    return rows


async def scorecard_context(page: Visit, assessment_id: str) -> dict[str, Any]:
    """An assessment with every KPI's arithmetic and the events it counted (R2 §5.1); for the
    people pages and for the staff member's own (/me)."""
    found = await page.get("hr", f"/assessments/{assessment_id}/evidence")
    zone_ = zone(page)
    start = datetime.combine(date.fromisoformat(str(found["period_start"])),
                             datetime.min.time(), zone_)
    end = datetime.combine(date.fromisoformat(str(found["period_end"])) + timedelta(days=1),
                           datetime.min.time(), zone_)
    params: dict[str, Any] = {"since": start.isoformat(), "until": end.isoformat()}
    if not is_manager(page):
        params["staff_id"] = str(found["staff_id"])
    (facts, facts_down), (names, _staff, _) = await asyncio.gather(
        page.part(page.get("hr", "/kpi-facts", **params)), staff_names(page))
    subjects: dict[Any, dict] = {}
    for fact in facts or []:
        subjects[(str(fact["source_event_id"]), fact["kind"])] = fact
        subjects.setdefault((str(fact["source_event_id"]), None), fact)
    kpis = [{**k, "evidence": _evidence_rows(k, subjects)} for k in found["kpis"]]
    scored = [k for k in kpis if k["status"] == "scored"]
    weights = sum(k["weight"] for k in scored)
    return {"assessment": found, "kpis": kpis, "scored": scored, "weights": weights,
            "facts_down": facts_down, "names": names,
            "appeal_outcomes": ASSESSMENT_APPEAL_OUTCOMES, **labels()}


@router.get("/people/assessments/{assessment_id}")
async def assessment(assessment_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/assessment.html",
                       **await scorecard_context(page, assessment_id))


@router.post("/people/assessments/{assessment_id}/review")
async def review(assessment_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values: dict[str, str] = {k: str(v).strip() for k, v in form.items()
                              if k != "csrf_token" and isinstance(v, str)}
    adjustments = []
    for key, score in values.items():
        if key.startswith("score-") and score:
            code = key[len("score-"):]
            adjustments.append({"code": code, "score": score,
                                "reason": values.get(f"reason-{code}", "")})
    body: dict[str, Any] = {"adjustments": adjustments}
    if values.get("total_score"):
        body["total_score"] = values["total_score"]
        body["total_reason"] = values.get("total_reason") or None
    if values.get("note"):
        body["note"] = values["note"]
    try:
        await page.post("hr", f"/assessments/{assessment_id}/review", body, idempotent=False)
    except Problem as e:
        return again(page, "people/assessment.html", e, "review", values,
                     await scorecard_context(page, assessment_id))
    page.flash(page._("Review saved."))
    return page.redirect(f"/people/assessments/{assessment_id}")


@router.post("/people/assessments/{assessment_id}/publish")
async def publish(assessment_id: str, page: Visit = Depends(visit)):
    await page.form()
    try:
        await page.post("hr", f"/assessments/{assessment_id}/publish", {}, idempotent=False)
    except Problem as e:
        return again(page, "people/assessment.html", e, "publish", {},
                     await scorecard_context(page, assessment_id))
    page.flash(page._("Assessment published."))
    return page.redirect(f"/people/assessments/{assessment_id}")


@router.post("/people/assessments/{assessment_id}/appeal-decision")
async def decide_assessment_appeal(assessment_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "appeal_id", "outcome", "reason")
    try:
        await page.post("hr", f"/assessment-appeals/{values['appeal_id']}/decide",
                        {"outcome": values["outcome"], "reason": values["reason"]},
                        idempotent=False)
    except Problem as e:
        return again(page, "people/assessment.html", e, "appeal-decision", values,
                     await scorecard_context(page, assessment_id))
    page.flash(page._("Appeal decided."))
    return page.redirect(f"/people/assessments/{assessment_id}")


# --------------------------------------------------------------------------- discipline


async def _cases_context(page: Visit, status: str = "") -> dict[str, Any]:
    (cases, down), (rules, _), (names, staff, _) = await asyncio.gather(
        page.main(page.get("hr", "/discipline/cases", status=status or None)),
        page.part(page.get("hr", "/discipline/rules")), staff_names(page))
    return {"cases": cases or [], "cases_down": down, "names": names,
            "staff_options": staff_options(staff), "status_filter": status,
            "statuses": CASE_STATUSES,
            "rules": [(r["code"], f"{r['title']} ({r['rule_ref']})") for r in rules or []
                      if r.get("active", True)], **labels()}


@router.get("/people/cases")
async def cases(status: str = "", page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/cases.html", **await _cases_context(page, status))


@router.post("/people/cases")
async def open_case(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id", "violation", "occurred_at", "description")
    try:
        occurred = local_instant(page, values["occurred_at"])
    except ValueError:
        return again(page, "people/cases.html", bad_time(page, "occurred_at"), "open", values,
                     await _cases_context(page))
    try:
        case = await page.post("hr", "/discipline/cases", {**values, "occurred_at": occurred})
    except Problem as e:
        return again(page, "people/cases.html", e, "open", values, await _cases_context(page))
    page.flash(page._("Case opened."))
    return page.redirect(f"/people/cases/{case['case_id']}")


async def _case_context(page: Visit, case_id: str) -> dict[str, Any]:
    case = await page.get("hr", f"/discipline/cases/{case_id}")
    ref = case.get("subject_ref") or ""
    kind, _, subject = ref.partition(":")
    complaint = violation = None
    complaint_down = violation_down = None
    names, _staff, _ = await staff_names(page)
    if kind == "complaint":
        complaint, complaint_down = await page.part(page.get(
            "crm", f"/complaints/{subject}", purpose="quality_review"))
    elif kind == "violation":
        found, violation_down = await page.part(page.get(
            "hr", "/attendance/violations", staff_id=str(case["staff_id"])))
        violation = next((v for v in found or [] if str(v["violation_id"]) == subject), None)
        if violation and violation.get("shift_id"):
            shift, _ = await page.part(page.get("hr", f"/shifts/{violation['shift_id']}"))
            violation = {**violation, "shift": shift}
    role = page.person.role if page.person else ""
    actions = [a for a in ACTIONS if a[0] != "termination" or role == "head"]
    return {"case": case, "subject_kind": kind, "subject_id": subject, "complaint": complaint,
            "complaint_down": complaint_down, "violation": violation,
            "violation_down": violation_down, "names": names, "actions": actions,
            "appeal_outcomes": APPEAL_OUTCOMES, **labels()}


@router.get("/people/cases/{case_id}")
async def case_page(case_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/case.html", **await _case_context(page, case_id))


def _money(amount: str) -> dict[str, str] | None:
    return {"amount": amount} if amount else None


@router.post("/people/cases/{case_id}/decision")
async def decide_case(case_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "action", "fine", "suspension_days", "reason")
    body = {"action": values["action"], "fine": _money(values["fine"]),
            "suspension_days": values["suspension_days"] or None,
            "reason": values["reason"] or None}
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/decision", body)
    except Problem as e:
        return again(page, "people/case.html", e, "decision", values,
                     await _case_context(page, case_id))
    page.flash(page._("Decision recorded."))
    return page.redirect(f"/people/cases/{case_id}")


@router.post("/people/cases/{case_id}/dismissal")
async def dismiss_case(case_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "reason")
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/dismissal", values,
                        idempotent=False)
    except Problem as e:
        return again(page, "people/case.html", e, "dismissal", values,
                     await _case_context(page, case_id))
    page.flash(page._("Case dismissed."))
    return page.redirect(f"/people/cases/{case_id}")


@router.post("/people/cases/{case_id}/appeal")
async def appeal_case(case_id: str, page: Visit = Depends(visit)):
    """The HR administrator files an appeal for the staff member (R2 §8)."""
    form = await page.form()
    values = text_values(form, "grounds")
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/appeal", values, idempotent=False)
    except Problem as e:
        return again(page, "people/case.html", e, "appeal", values,
                     await _case_context(page, case_id))
    page.flash(page._("Appeal filed."))
    return page.redirect(f"/people/cases/{case_id}")


@router.post("/people/cases/{case_id}/appeal-decision")
async def decide_case_appeal(case_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "outcome", "action", "fine", "suspension_days", "reason")
    body = {"outcome": values["outcome"], "action": values["action"] or None,
            "fine": _money(values["fine"]), "suspension_days": values["suspension_days"] or None,
            "reason": values["reason"]}
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/appeal/decision", body,
                        idempotent=False)
    except Problem as e:
        return again(page, "people/case.html", e, "appeal-decision", values,
                     await _case_context(page, case_id))
    page.flash(page._("Appeal decided."))
    return page.redirect(f"/people/cases/{case_id}")


# --------------------------------------------------------------------------- policies


async def _policies_context(page: Visit) -> dict[str, Any]:
    (policies, down), (compliance, compliance_down) = await asyncio.gather(
        page.main(page.get("hr", "/policies")), page.part(page.get("hr", "/policies/compliance")))
    by_policy = {str(c["policy_id"]): c for c in compliance or []}
    return {"policies": policies or [], "policies_down": down, "compliance": by_policy,
            "compliance_down": compliance_down,
            "policy_options": [(str(p["policy_id"]), p["title"]) for p in policies or []],
            **labels()}


@router.get("/people/policies")
async def policies(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/policies.html", **await _policies_context(page))


@router.post("/people/policies")
async def publish_policy(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "policy_id", "title", "summary", "effective_at", "training_at")
    values["requires_training"] = "1" if form.get("requires_training") else ""
    try:
        body: dict[str, Any] = {
            "summary": values["summary"],
            "effective_at": local_instant(page, values["effective_at"]),
            "requires_training": bool(values["requires_training"]),
            "training_at": local_instant(page, values["training_at"])
            if values["training_at"] else None}
    except ValueError:
        return again(page, "people/policies.html", bad_time(page, "effective_at"), "policy",
                     values, await _policies_context(page))
    try:
        if values["policy_id"]:
            body["title"] = values["title"] or None
            await page.post("hr", f"/policies/{values['policy_id']}/versions", body)
        else:
            await page.post("hr", "/policies", {**body, "title": values["title"]})
    except Problem as e:
        return again(page, "people/policies.html", e, "policy", values,
                     await _policies_context(page))
    page.flash(page._("Policy published; everyone on staff is asked to acknowledge it."))
    return page.redirect("/people/policies")


# --------------------------------------------------------------------------- training


async def _training_context(page: Visit) -> dict[str, Any]:
    (sessions, down), (names, staff, _) = await asyncio.gather(
        page.main(page.get("hr", "/training/sessions")), staff_names(page))
    return {"sessions": sessions or [], "sessions_down": down, "names": names,
            "staff_options": staff_options(staff), "roles": ROLES, **labels()}


@router.get("/people/training")
async def training(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/training.html", **await _training_context(page))


@router.post("/people/training")
async def schedule_training(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "title", "clause", "starts_at", "ends_at")
    chosen_roles = [str(r) for r in form.getlist("roles")]
    chosen_staff = [str(s) for s in form.getlist("staff_ids")]
    try:
        body = {"title": values["title"], "clause": values["clause"] or "R2 §4.2",
                "starts_at": local_instant(page, values["starts_at"]),
                "ends_at": local_instant(page, values["ends_at"]),
                "roles": chosen_roles, "staff_ids": chosen_staff}
    except ValueError:
        return again(page, "people/training.html", bad_time(page, "starts_at"), "schedule",
                     values, await _training_context(page))
    try:
        await page.post("hr", "/training/sessions", body)
    except Problem as e:
        return again(page, "people/training.html", e, "schedule", values,
                     await _training_context(page))
    page.flash(page._("Training scheduled; the attendees are told."))
    return page.redirect("/people/training")


# --------------------------------------------------------------------------- rewards


async def _rewards_context(page: Visit) -> dict[str, Any]:
    (rewards, down), (proposals, proposals_down), (names, staff, _) = await asyncio.gather(
        page.main(page.get("hr", "/rewards")),
        page.part(page.get("hr", "/reward-proposals", status="proposed")), staff_names(page))
    return {"rewards": rewards or [], "rewards_down": down, "proposals": proposals or [],
            "proposals_down": proposals_down, "names": names,
            "proposals_options": [(str(p["proposal_id"]), "{} · {}".format(
                names.get(str(p["staff_id"]), str(p["staff_id"])[:8]), str(p["proposed_at"])[:10]))
                for p in proposals or []],
            "staff_options": staff_options(staff), "kinds": REWARD_KINDS,
            "reasons": REWARD_REASONS, "roles": ROLES, **labels()}


@router.get("/people/rewards")
async def rewards(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/rewards.html", **await _rewards_context(page))


@router.post("/people/rewards")
async def grant_reward(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id", "kind", "reason", "reason_code", "bonus",
                         "new_role", "proposal_id")
    body = {"staff_id": values["staff_id"], "kind": values["kind"], "reason": values["reason"],
            "reason_code": values["reason_code"] or None, "bonus": _money(values["bonus"]),
            "new_role": values["new_role"] or None, "proposal_id": values["proposal_id"] or None}
    try:
        await page.post("hr", "/rewards", body)
    except Problem as e:
        return again(page, "people/rewards.html", e, "grant", values,
                     await _rewards_context(page))
    page.flash(page._("Reward granted."))
    return page.redirect("/people/rewards")


# --------------------------------------------------------------------------- gifts


async def _gifts_context(page: Visit) -> dict[str, Any]:
    (gifts, down), (names, _staff, _) = await asyncio.gather(
        page.main(page.get("hr", "/gifts")), staff_names(page))
    return {"gifts": gifts or [], "gifts_down": down, "names": names, **labels()}


@router.get("/people/gifts")
async def gifts(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/gifts.html", **await _gifts_context(page))


@router.post("/people/gifts/{gift_id}/decision")
async def decide_gift(gift_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "approved", "note")
    try:
        await page.post("hr", f"/gifts/{gift_id}/decision",
                        {"approved": values["approved"] == "yes", "note": values["note"]},
                        idempotent=False)
    except Problem as e:
        return again(page, "people/gifts.html", e, f"gift-{gift_id}", values,
                     await _gifts_context(page))
    page.flash(page._("Decision recorded."))
    return page.redirect("/people/gifts")


# --------------------------------------------------------------------------- offboarding


async def _offboarding_context(page: Visit) -> dict[str, Any]:
    staff = await page.get("hr", "/staff")
    found = await asyncio.gather(*(optional(page, page.get(
        "hr", f"/staff/{s['staff_id']}/offboarding")) for s in staff))
    checklists = [{"member": s, "offboarding": o}
                  for s, (o, _down) in zip(staff, found, strict=True) if o is not None]
    return {"checklists": checklists, "staff_options": staff_options(staff),
            "reasons": OFFBOARDING_REASONS, "items": OFFBOARDING_ITEMS,
            "today": club_today(page).isoformat(), **labels()}


@router.get("/people/offboarding")
async def offboarding(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("people/offboarding.html", **await _offboarding_context(page))


@router.post("/people/offboarding")
async def start_offboarding(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "staff_id", "reason", "last_day")
    try:
        await page.post("hr", f"/staff/{values['staff_id']}/offboarding",
                        {"reason": values["reason"], "last_day": values["last_day"]})
    except Problem as e:
        return again(page, "people/offboarding.html", e, "start", values,
                     await _offboarding_context(page))
    page.flash(page._("Offboarding started."))
    return page.redirect("/people/offboarding")


@router.post("/people/offboarding/{staff_id}/items")
async def tick_item(staff_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "item", "evidence")
    try:
        await page.call("hr", "PUT", f"/staff/{staff_id}/offboarding/items/{values['item']}",
                        json={"evidence": values["evidence"]})
    except Problem as e:
        return again(page, "people/offboarding.html", e, f"item-{staff_id}", values,
                     await _offboarding_context(page))
    page.flash(page._("Checklist item done."))
    return page.redirect("/people/offboarding")


@router.post("/people/offboarding/{staff_id}/completion")
async def complete_offboarding(staff_id: str, page: Visit = Depends(visit)):
    await page.form()
    try:
        await page.post("hr", f"/staff/{staff_id}/offboarding/completion", {},
                        idempotent=False)
    except Problem as e:
        return again(page, "people/offboarding.html", e, f"complete-{staff_id}", {},
                     await _offboarding_context(page))
    page.flash(page._("Offboarding completed."))
    return page.redirect("/people/offboarding")
