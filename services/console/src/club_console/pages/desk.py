"""The front desk (attendants, the head and the deputy; R1 §3.2–3.4, R2 §1.2): today's
expected arrivals, check-in of booked customers and walk-ins, guiding to a place and a host,
the floor (pushed to the page as it changes), the services of a visit, its completion, and
reporting an incident (R2 §7.2)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from club_console.i18n import N_
from club_console.pages._common import again, club_today, text_values, zone
from club_console.services import Problem
from club_console.web import SignInNeeded, Visit, visit

router = APIRouter()

SEVERITIES = (("low", N_("low")), ("medium", N_("medium")), ("high", N_("high")),
              ("critical", N_("critical")))
CATEGORIES = (("safety", N_("safety")), ("facility", N_("facility")),
              ("security", N_("security")), ("other", N_("other")))


def at_today(page: Visit, clock: str) -> str:
    """`HH:MM` on the club's clock today, as the RFC 3339 instant the services take."""
    return datetime.combine(club_today(page), time.fromisoformat(clock), zone(page)).isoformat()


def _choices(staff: list[dict] | None, locations: list[dict] | None) -> dict[str, Any]:
    """Who may host a guest and the open places, as the forms' choices (reception's lists)."""
    hosts = [(s["staff_id"], s["display_name"]) for s in staff or []]
    return {"hosts": hosts, "host_names": dict(hosts),
            "locations": [(loc["location_id"], loc["name"]) for loc in locations or []
                          if loc["active"]]}


async def _desk_context(page: Visit, day: date | None = None) -> dict[str, Any]:
    today = (day or club_today(page)).isoformat()
    (arrivals, arrivals_down), (floor, floor_down), (locations, _), (staff, _) = \
        await asyncio.gather(
            page.main(page.get("reception", "/arrivals", date=today)),
            page.part(page.get("reception", "/floor")),
            page.part(page.get("reception", "/locations")),
            page.part(page.get("reception", "/staff", status="active")))
    return {"arrivals": arrivals or [], "arrivals_down": arrivals_down, "floor": floor,
            "floor_down": floor_down, "today": today,
            "is_today": today == club_today(page).isoformat(), **_choices(staff, locations),
            "severities": SEVERITIES, "categories": CATEGORIES}


@router.get("/desk")
async def desk(day: date | None = None, page: Visit = Depends(visit)):
    """Today's desk; `?day=YYYY-MM-DD` shows another day's arrivals (to look back at)."""
    page.require_person()
    return page.render("desk/desk.html", **await _desk_context(page, day))


@router.post("/desk/check-in")
async def check_in(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "booking_id", "location_id", "host_staff_id")
    try:
        visit_ = await page.post("reception", "/visits/check-in", values)
    except Problem as e:
        return again(page, "desk/desk.html", e, f"check-in-{values['booking_id']}", values,
                     await _desk_context(page))
    page.flash(page._("Checked in."))
    return page.redirect(f"/desk/visits/{visit_['visit_id']}")


@router.post("/desk/walk-in")
async def walk_in(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "full_name", "phone", "party_size", "location_id",
                         "host_staff_id")
    try:
        customer = await page.post("crm", "/customers", {
            "full_name": values["full_name"], "phone": values["phone"] or None})
        visit_ = await page.post("reception", "/visits/walk-in", {
            "customer_id": customer["customer_id"], "party_size": values["party_size"] or 1,
            "location_id": values["location_id"], "host_staff_id": values["host_staff_id"]})
    except Problem as e:
        return again(page, "desk/desk.html", e, "walk-in", values, await _desk_context(page))
    page.flash(page._("Walk-in checked in."))
    return page.redirect(f"/desk/visits/{visit_['visit_id']}")


@router.post("/desk/incidents")
async def report_incident(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "category", "severity", "location_id", "visit_id",
                         "description")
    try:
        await page.post("reception", "/incidents", {**values,
                                                    "visit_id": values["visit_id"] or None})
    except Problem as e:
        return again(page, "desk/desk.html", e, "incident", values, await _desk_context(page))
    page.flash(page._("Incident reported."))
    return page.redirect("/desk")


# --- one visit


async def _visit_context(page: Visit, visit_id: str) -> dict[str, Any]:
    the_visit = await page.get("reception", f"/visits/{visit_id}")
    (catalogue, catalogue_down), (staff, _), (locations, _) = await asyncio.gather(
        page.part(page.get("booking", "/services")),
        page.part(page.get("reception", "/staff", status="active")),
        page.part(page.get("reception", "/locations")))
    services = [(s["code"], s["name"]) for s in catalogue or [] if s.get("active", True)]
    here = zone(page)
    records = the_visit.get("services") or []
    since = max([r["ended_at"] for r in records] or [the_visit["checked_in_at"]])
    return {"visit": the_visit, "services": services,
            # The form starts where the last service ended (or at the check-in) and now.
            "default_from": datetime.fromisoformat(since).astimezone(here).strftime("%H:%M"),
            "default_to": datetime.now(here).strftime("%H:%M"), "service_names": dict(services),
            "catalogue_down": catalogue_down, **_choices(staff, locations)}


@router.get("/desk/visits/{visit_id}")
async def visit_page(visit_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("desk/visit.html", **await _visit_context(page, visit_id))


@router.post("/desk/visits/{visit_id}/services")
async def record_service(visit_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "service_code", "staff_id", "started_at", "ended_at", "notes")
    try:
        await page.post("reception", f"/visits/{visit_id}/services", {
            "service_code": values["service_code"], "staff_id": values["staff_id"],
            "started_at": at_today(page, values["started_at"]),
            "ended_at": at_today(page, values["ended_at"]), "notes": values["notes"] or None})
    except ValueError:
        problem = Problem("reception", 422, page._("Give the times as hours and minutes."),
                          fields={"started_at": page._("hours and minutes, e.g. 14:30")})
        return again(page, "desk/visit.html", problem, "service", values,
                     await _visit_context(page, visit_id))
    except Problem as e:
        return again(page, "desk/visit.html", e, "service", values,
                     await _visit_context(page, visit_id))
    page.flash(page._("Service recorded."))
    return page.redirect(f"/desk/visits/{visit_id}")


@router.post("/desk/visits/{visit_id}/guide")
async def guide(visit_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "location_id", "host_staff_id")
    try:
        await page.post("reception", f"/visits/{visit_id}/guide",
                        {k: v for k, v in values.items() if v}, idempotent=False)
    except Problem as e:
        return again(page, "desk/visit.html", e, "guide", values,
                     await _visit_context(page, visit_id))
    page.flash(page._("Guest guided."))
    return page.redirect(f"/desk/visits/{visit_id}")


@router.post("/desk/visits/{visit_id}/complete")
async def complete(visit_id: str, page: Visit = Depends(visit)):
    await page.form()
    try:
        await page.post("reception", f"/visits/{visit_id}/complete", {}, idempotent=False)
    except Problem as e:
        return again(page, "desk/visit.html", e, "complete", {},
                     await _visit_context(page, visit_id))
    page.flash(page._("Visit completed."))
    return page.redirect(f"/desk/visits/{visit_id}")


# --- the floor, live


@router.get("/desk/floor")
async def floor_page(page: Visit = Depends(visit)):
    page.require_person()
    floor, down = await page.main(page.get("reception", "/floor"))
    return page.render("desk/floor.html", floor=floor, floor_down=down)


@router.get("/desk/floor/fragment")
async def floor_fragment(page: Visit = Depends(visit)):
    page.require_person()
    floor, down = await page.part(page.get("reception", "/floor"))
    return page.render("desk/_floor.html", floor=floor, floor_down=down)


@router.get("/desk/floor/stream")
async def floor_stream(request: Request, page: Visit = Depends(visit)):
    """Server-sent events: the floor as rendered HTML, sent whenever it changes. The console
    asks reception (with the person's token, so reception decides who may watch) every
    CONSOLE_FLOOR_REFRESH_SECONDS and sends only what differs."""
    page.require_person()
    every = request.app.state.settings.floor_refresh_seconds
    template = page.console.templates.get_template("desk/_floor.html")
    language = page.language

    async def events() -> AsyncIterator[str]:
        last = None
        while not await request.is_disconnected():
            page.console.languages.use(language)
            try:
                floor, down = await page.part(page.get("reception", "/floor"))
            except SignInNeeded:
                yield "event: signed-out\ndata: {}\n\n"
                return
            key = json.dumps([floor and {**floor, "at": None}, down], sort_keys=True,
                             default=str)
            if key != last:
                last = key
                html = template.render(floor=floor, floor_down=down, language=language)
                yield "event: floor\n" + "".join(f"data: {line}\n"
                                                 for line in html.splitlines()) + "\n"
            else:
                yield ": still here\n\n"  # keeps proxies from closing an idle stream
            await asyncio.sleep(every)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


