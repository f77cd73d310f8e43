"""Discipline (R1 §7.2, R2 §8): the cases, opening one, and one case with what it is about (a
complaint upheld, an attendance violation and its shift), its decision, dismissal, an appeal
filed for the staff member and the decision on it. Staff appeal their own cases on /me."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from club_console.i18n import N_
from club_console.pages._common import again, datetime_local, text_values
from club_console.pages.people import (
    ACTIONS,
    bad_time,
    labels,
    money,
    staff_names,
    staff_options,
)
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()

CASE_STATUSES = (("open", N_("open")), ("decided", N_("decided")),
                 ("dismissed", N_("dismissed")), ("withdrawn", N_("withdrawn")),
                 ("appealed", N_("appealed")), ("overturned", N_("overturned")))
APPEAL_OUTCOMES = (("upheld", N_("upheld: the decision stands")),
                   ("reduced", N_("reduced: a lighter action")),
                   ("overturned", N_("overturned: no action")))


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
        occurred = datetime_local(page, values["occurred_at"])
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


@router.post("/people/cases/{case_id}/decision")
async def decide_case(case_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "action", "fine", "suspension_days", "reason")
    body = {"action": values["action"], "fine": money(values["fine"]),
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
            "fine": money(values["fine"]), "suspension_days": values["suspension_days"] or None,
            "reason": values["reason"]}
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/appeal/decision", body,
                        idempotent=False)
    except Problem as e:
        return again(page, "people/case.html", e, "appeal-decision", values,
                     await _case_context(page, case_id))
    page.flash(page._("Appeal decided."))
    return page.redirect(f"/people/cases/{case_id}")
