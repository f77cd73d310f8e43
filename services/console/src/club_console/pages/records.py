"""HR's registers (R1 §6.3, §7.1, §9, R2 §4.2, §5.2–5.3, §6.3): policy revisions and who has
acknowledged them, training sessions, rewards and the proposals outstanding assessments make,
the gift register, and offboarding checklists."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from club_console.pages._common import again, club_today, datetime_local, text_values
from club_console.pages.people import (
    OFFBOARDING_ITEMS,
    OFFBOARDING_REASONS,
    REWARD_KINDS,
    REWARD_REASONS,
    ROLES,
    bad_time,
    labels,
    money,
    optional,
    staff_names,
    staff_options,
)
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()


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
            "effective_at": datetime_local(page, values["effective_at"]),
            "requires_training": bool(values["requires_training"]),
            "training_at": datetime_local(page, values["training_at"])
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
                "starts_at": datetime_local(page, values["starts_at"]),
                "ends_at": datetime_local(page, values["ends_at"]),
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
            "reason_code": values["reason_code"] or None, "bonus": money(values["bonus"]),
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
