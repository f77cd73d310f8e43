"""Me: every staff member's own page (R1 §5.3, §7, §9.2, R2 §4.2, §5.1, §6.1, §8.2): my shifts
for the next two weeks, my published assessments down to the events counted (the same
scorecard the head and HR read), my discipline cases and their appeals, the policy versions
waiting for my acknowledgement, and my training. Members have no such page."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console.pages._common import again, club_today, local_midnight, text_values
from club_console.pages.assessments import scorecard_context
from club_console.pages.people import labels
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()


def _staff_only(page: Visit):
    person = page.require_person()
    if person.role == "member":
        raise Problem("hr", 403, page._("This page is for the club's staff."))
    return person


async def _me_context(page: Visit) -> dict[str, Any]:
    person = _staff_only(page)
    me = str(person.id)
    today = club_today(page)
    since, until = local_midnight(page, today), local_midnight(page, today + timedelta(days=15))
    (shifts, shifts_down), (assessments, assessments_down), (cases, cases_down), \
        (policies, policies_down), (training, training_down) = await asyncio.gather(
            page.part(page.get("hr", "/shifts", staff_id=me,
                               since=since.isoformat(),
                               until=until.isoformat())),
            page.part(page.get("hr", "/assessments", staff_id=me, status="published")),
            page.part(page.get("hr", "/discipline/cases", staff_id=me)),
            page.part(page.get("hr", "/policies/acknowledgements/mine")),
            page.part(page.get("hr", "/training/sessions", staff_id=me)))
    waiting = [p for p in policies or [] if not p.get("acknowledged_at")]
    return {"shifts": shifts or [], "shifts_down": shifts_down,
            "assessments": (assessments or [])[:6], "assessments_down": assessments_down,
            "cases": cases or [], "cases_down": cases_down, "waiting": waiting,
            "acknowledged": [p for p in policies or [] if p.get("acknowledged_at")],
            "policies_down": policies_down, "training": training or [],
            "training_down": training_down, "me": me, "names": {me: person.name or ""},
            **labels()}


@router.get("/me")
async def me_page(page: Visit = Depends(visit)):
    return page.render("me/me.html", **await _me_context(page))


@router.post("/me/policies/{policy_id}/{version}/acknowledgement")
async def acknowledge_policy(policy_id: str, version: int, page: Visit = Depends(visit)):
    await page.form()
    try:
        await page.post("hr", f"/policies/{policy_id}/versions/{version}/acknowledgement", {},
                        idempotent=False)
    except Problem as e:
        return again(page, "me/me.html", e, f"policy-{policy_id}-{version}", {},
                     await _me_context(page))
    page.flash(page._("Acknowledged."))
    return page.redirect("/me")


@router.post("/me/cases/{case_id}/appeal")
async def appeal_case(case_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "grounds")
    try:
        await page.post("hr", f"/discipline/cases/{case_id}/appeal", values, idempotent=False)
    except Problem as e:
        return again(page, "me/me.html", e, f"appeal-{case_id}", values,
                     await _me_context(page))
    page.flash(page._("Appeal filed."))
    return page.redirect("/me")


@router.get("/me/assessments/{assessment_id}")
async def my_assessment(assessment_id: str, page: Visit = Depends(visit)):
    _staff_only(page)
    return page.render("me/assessment.html", **await scorecard_context(page, assessment_id))


@router.post("/me/assessments/{assessment_id}/acknowledge")
async def acknowledge_assessment(assessment_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "comment")
    try:
        await page.post("hr", f"/assessments/{assessment_id}/acknowledge",
                        {"comment": values["comment"] or None}, idempotent=False)
    except Problem as e:
        return again(page, "me/assessment.html", e, "acknowledge", values,
                     await scorecard_context(page, assessment_id))
    page.flash(page._("Acknowledged."))
    return page.redirect(f"/me/assessments/{assessment_id}")


@router.post("/me/assessments/{assessment_id}/appeal")
async def appeal_assessment(assessment_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "grounds")
    try:
        await page.post("hr", f"/assessments/{assessment_id}/appeal", values)
    except Problem as e:
        return again(page, "me/assessment.html", e, "appeal", values,
                     await scorecard_context(page, assessment_id))
    page.flash(page._("Appeal filed."))
    return page.redirect(f"/me/assessments/{assessment_id}")
