"""Assessments (the head, the deputy and HR administrators; R2 §5.1–5.2): the list, computing a
period's draft, and the scorecard with every KPI's arithmetic down to the events it counted,
its review, publication and the decision on an appeal. The scorecard is also the staff
member's own on /me (pages/me.py)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console.i18n import N_
from club_console.pages._common import again, club_today, local_midnight, text_values
from club_console.pages.people import is_manager, labels, staff_names, staff_options
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()

ASSESSMENT_STATUSES = (("draft", N_("draft")), ("reviewed", N_("reviewed")),
                       ("published", N_("published")))
ASSESSMENT_APPEAL_OUTCOMES = (("upheld", N_("upheld: back to review")),
                              ("rejected", N_("rejected: stays as published")))

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
    start = local_midnight(page, date.fromisoformat(str(found["period_start"])))
    end = local_midnight(page, date.fromisoformat(str(found["period_end"])) + timedelta(days=1))
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
