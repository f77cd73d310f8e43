"""The members' own pages (R1 §3.1, R2 §3.3, R2 §3.5): booking online from the free slots,
their bookings (moved or cancelled while the booking service allows), their visits, their
complaints, and the public survey form a visit's invitation links to (no sign-in: the link's
token is the credential)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console import web
from club_console.i18n import N_
from club_console.pages._common import again, chosen_day, club_today, instant, label, text_values
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()

# Booking states as members and staff read them (booking's Status enum).
BOOKING_STATES = {"booked": N_("booked"), "fulfilled": N_("fulfilled"),
                  "cancelled": N_("cancelled"), "no_show": N_("no-show")}
# booking's CancelReason codes ("customer_erased" is the service's own).
CANCEL_REASONS = (("customer_request", N_("at the customer's request")),
                  ("illness", N_("illness")), ("schedule_change", N_("change of plans")),
                  ("club_closure", N_("club closure")),
                  ("resource_unavailable", N_("room unavailable")),
                  ("duplicate", N_("duplicate booking")), ("other", N_("other reason")))
MEMBER_CANCEL_REASONS = tuple(r for r in CANCEL_REASONS
                              if r[0] in ("customer_request", "illness", "schedule_change",
                                          "other"))
# crm's OpenComplaint enums.
COMPLAINT_CATEGORIES = (("service", N_("service")), ("staff_conduct", N_("staff conduct")),
                        ("facility", N_("facilities")), ("billing", N_("billing")),
                        ("safety", N_("safety")), ("other", N_("other")))
COMPLAINT_SEVERITIES = (("low", N_("low")), ("medium", N_("medium")), ("high", N_("high")))
NPS = tuple((str(n), str(n)) for n in range(11))


# --------------------------------------------------------------------------- free slots


def split_slot(text: str) -> tuple[str, str]:
    """A slot radio's value, `resource_id|starts_at`."""
    resource_id, _, starts_at = text.partition("|")
    return resource_id, starts_at


def group_slots(slots: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """Free slots grouped by resource: [(resource_id, resource_name, slots)]."""
    grouped: dict[str, tuple[str, str, list[dict]]] = {}
    for slot in slots:
        key = str(slot["resource_id"])
        grouped.setdefault(key, (key, slot["resource_name"], []))[2].append(slot)
    return list(grouped.values())


async def catalogue(page: Visit) -> tuple[list[dict], str | None]:
    services, down = await page.part(page.get("booking", "/services"))
    return [s for s in services or [] if s.get("active", True)], down


# --------------------------------------------------------------------------- my bookings


async def _home_context(page: Visit, visits_day: date) -> dict[str, Any]:
    now = datetime.now(UTC)
    since = (now - timedelta(days=90)).isoformat()
    (bookings, bookings_down), (services, _), (resources, _), (visits, visits_down) = \
        await asyncio.gather(
            page.part(page.get("booking", "/bookings", starts_from=since, limit=300)),
            page.part(page.get("booking", "/services")),
            page.part(page.get("booking", "/resources")),
            page.part(page.get("reception", "/visits", date=visits_day.isoformat())))
    upcoming, past = [], []
    for b in bookings or []:
        b["state_label"] = label(BOOKING_STATES, b["status"])
        b["future"] = instant(b["starts_at"]) > now
        (upcoming if b["status"] == "booked" and instant(b["ends_at"]) > now
         else past).append(b)
    past.reverse()
    return {"upcoming": upcoming, "past": past, "bookings_down": bookings_down,
            "service_names": {s["code"]: s["name"] for s in services or []},
            "resource_names": {str(r["id"]): r["name"] for r in resources or []},
            "visits": visits or [], "visits_down": visits_down,
            "visits_day": visits_day.isoformat(), "reasons": MEMBER_CANCEL_REASONS}


@router.get("/member")
async def member_home(visits_date: str | None = None, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("member/home.html",
                       **await _home_context(page, chosen_day(page, visits_date)))


@router.post("/member/bookings/{booking_id}/cancel")
async def member_cancel(booking_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "reason")
    try:
        await page.post("booking", f"/bookings/{booking_id}/cancel", values)
    except Problem as e:
        return again(page, "member/home.html", e, f"cancel-{booking_id}", values,
                     await _home_context(page, club_today(page)))
    page.flash(page._("Your booking is cancelled."))
    return page.redirect("/member")


async def _move_context(page: Visit, booking_id: str, day: date) -> dict[str, Any]:
    booking = await page.get("booking", f"/bookings/{booking_id}")
    (services, _), (free, free_down) = await asyncio.gather(
        page.part(page.get("booking", "/services")),
        page.part(page.get("booking", "/availability", service_code=booking["service_code"],
                           date=day.isoformat(), party_size=booking["party_size"])))
    return {"booking": booking, "chosen": day.isoformat(), "today": club_today(page).isoformat(),
            "service_names": {s["code"]: s["name"] for s in services or []},
            "groups": group_slots((free or {}).get("slots", [])), "free_down": free_down}


@router.get("/member/bookings/{booking_id}/move")
async def member_move_page(booking_id: str, date: str | None = None,
                           page: Visit = Depends(visit)):
    page.require_person()
    return page.render("member/move.html",
                       **await _move_context(page, booking_id, chosen_day(page, date)))


@router.post("/member/bookings/{booking_id}/move")
async def member_move(booking_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    day = str(form.get("date") or "")
    resource_id, starts_at = split_slot(str(form.get("slot") or ""))
    try:
        if not starts_at:
            raise Problem("booking", 422, page._("Choose one of the free times."),
                          fields={"slot": page._("Choose a time.")})
        await page.post("booking", f"/bookings/{booking_id}/reschedule",
                        {"starts_at": starts_at, "resource_id": resource_id})
    except Problem as e:
        return again(page, "member/move.html", e, "move", {},
                     await _move_context(page, booking_id, chosen_day(page, day)))
    page.flash(page._("Your booking is moved."))
    return page.redirect("/member")


# --------------------------------------------------------------------------- book online


async def _book_context(page: Visit, service: str, day: date, party: int) -> dict[str, Any]:
    services, services_down = await catalogue(page)
    free, free_down = None, None
    if service:
        free, free_down = await page.part(page.get(
            "booking", "/availability", service_code=service, date=day.isoformat(),
            party_size=party))
    return {"services": [(s["code"], page._("{name} ({minutes} min)").format(
                name=s["name"], minutes=s["duration_minutes"])) for s in services],
            "services_down": services_down, "service": service, "chosen": day.isoformat(),
            "today": club_today(page).isoformat(), "party": party,
            "groups": group_slots((free or {}).get("slots", [])) if free else [],
            "asked": bool(service), "free_down": free_down}


def _party(text: Any) -> int:
    try:
        return max(1, min(1000, int(str(text or "1"))))
    except ValueError:
        return 1


@router.get("/member/book")
async def member_book_page(service: str = "", date: str | None = None, party: str = "1",
                           page: Visit = Depends(visit)):
    page.require_person()
    return page.render("member/book.html", **await _book_context(
        page, service, chosen_day(page, date), _party(party)))


@router.post("/member/book")
async def member_book(page: Visit = Depends(visit)):
    form = await page.form()
    service = str(form.get("service_code") or "")
    day = str(form.get("date") or "")
    party = _party(form.get("party_size"))
    resource_id, starts_at = split_slot(str(form.get("slot") or ""))
    try:
        if not starts_at:
            raise Problem("booking", 422, page._("Choose one of the free times."),
                          fields={"slot": page._("Choose a time.")})
        await page.post("booking", "/bookings", {
            "resource_id": resource_id, "service_code": service, "starts_at": starts_at,
            "party_size": party})
    except Problem as e:
        return again(page, "member/book.html", e, "book", {},
                     await _book_context(page, service, chosen_day(page, day), party))
    page.flash(page._("Booked. You will find it under My bookings."))
    return page.redirect("/member")


# --------------------------------------------------------------------------- my complaints


async def _complaints_context(page: Visit) -> dict[str, Any]:
    mine, down = await page.part(page.get("crm", "/complaints"))
    rows = sorted(mine or [], key=lambda c: c.get("opened_at") or "", reverse=True)
    for c in rows:
        c["state_label"] = web.status_name(c.get("state"))
        c["category_label"] = label(dict(COMPLAINT_CATEGORIES), c["category"])
        c["severity_label"] = label(dict(COMPLAINT_SEVERITIES), c["severity"])
    return {"complaints": rows, "complaints_down": down, "categories": COMPLAINT_CATEGORIES,
            "severities": COMPLAINT_SEVERITIES}


@router.get("/member/complaints")
async def member_complaints(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("member/complaints.html", **await _complaints_context(page))


@router.post("/member/complaints")
async def member_complain(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "category", "severity", "description")
    try:
        await page.post("crm", "/complaints", {**values, "channel": "online"})
    except Problem as e:
        return again(page, "member/complaints.html", e, "complaint", values,
                     await _complaints_context(page))
    page.flash(page._("Your complaint is filed. We will answer within the time shown."))
    return page.redirect("/member/complaints")


# --------------------------------------------------------------------------- the survey link


def _survey_gone(page: Visit, problem: Problem | None, status: str = ""):
    """The link cannot be answered: not ours, withdrawn, expired or already used."""
    if status == "answered" or (problem is not None and problem.status == 409):
        title = page._("This survey is already answered")
        message = page._("Each visit's survey is answered once. Thank you for your answer.")
        code = 409 if problem is not None else 200
    elif status == "expired" or (problem is not None and problem.status == 410):
        title = page._("This survey link has expired")
        message = page._("The link can be used for a limited time after the visit, and that "
                         "time has passed.")
        code = 410 if problem is not None else 200
    else:
        title = page._("This survey link is not valid")
        message = page._("The link may be incomplete or withdrawn. Check that it was copied "
                         "whole from the message.")
        code = problem.status if problem is not None else 404
    return page.render("member/survey_gone.html", status=code, title=title, message=message,
                       detail=problem.detail if problem is not None else "")


def _survey_path(token: str) -> str:
    return f"/surveys/respond/{token}"


@router.get("/survey/{token}")
async def survey_form(token: str, page: Visit = Depends(visit)):
    # Public: the link's token is the credential (no sign-in, no person's token).
    try:
        form = await page.services.get("crm", _survey_path(token), None)
    except Problem as e:
        return _survey_gone(page, e)
    if form.get("status") != "pending":
        return _survey_gone(page, None, form.get("status", ""))
    return page.render("member/survey.html", survey=form, token=token, nps_options=NPS)


@router.post("/survey/{token}")
async def survey_answer(token: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "csat", "nps", "comment")
    try:
        answer: dict[str, Any] = {"csat": int(values["csat"]) if values["csat"] else None,
                                  "nps": int(values["nps"]) if values["nps"] else None,
                                  "comment": values["comment"] or None}
    except ValueError:
        answer = {"csat": None}
    try:
        if answer.get("csat") is None:
            raise Problem("crm", 422, page._("Say how satisfied you were, from 1 to 5."),
                          fields={"csat": page._("Choose from 1 to 5.")})
        await page.services.post("crm", _survey_path(token), None, answer, idempotent=False)
    except Problem as e:
        if e.status in (404, 409, 410):
            return _survey_gone(page, e)
        try:
            survey = await page.services.get("crm", _survey_path(token), None)
        except Problem as gone:
            return _survey_gone(page, gone)
        return again(page, "member/survey.html", e, "survey", values,
                     {"survey": survey, "token": token, "nps_options": NPS})
    return page.redirect(f"/survey/{token}/thanks")


@router.get("/survey/{token}/thanks")
async def survey_thanks(token: str, page: Visit = Depends(visit)):
    return page.render("member/survey_thanks.html")
