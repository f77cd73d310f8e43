"""The staff's bookings (R1 §3.1, R2 §3.5): a day's grid of the resources × the hours from
the booking service's day sheets, a week's counts, booking offline for a customer (by phone
or at the desk), moving, cancelling and marking no-shows. The booking service decides; its
refusal (a taken slot, a cut-off, a closure) is shown beside the form it concerns."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from club_console.i18n import N_
from club_console.pages._common import (
    again,
    chosen_day,
    club_today,
    instant,
    label,
    local_instant,
    local_midnight,
    text_values,
    zone,
)
from club_console.pages.customers import find_customers
from club_console.pages.member import BOOKING_STATES, CANCEL_REASONS
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()

CHANNELS = (("phone", N_("by phone")), ("desk", N_("at the desk")),
            ("walk_in", N_("walk-in")))
# Who may look a customer up by phone in CRM (its PII readers); attendants register instead.
SEARCHERS = ("head", "deputy", "crm_specialist")


def _hour_rows(page: Visit, day: date, sheets: list[dict]) -> list[datetime]:
    """The hours the grid shows: from the earliest opening to the latest closing of the day,
    widened to every booking on it; the whole day when nothing is open."""
    start_of_day = local_midnight(page, day)
    end_of_day = local_midnight(page, day + timedelta(days=1))
    moments: list[datetime] = []
    for sheet in sheets:
        for span in sheet.get("open", []):
            moments += [instant(span["starts_at"]), instant(span["ends_at"])]
        for b in sheet.get("bookings", []):
            moments += [instant(b["starts_at"]), instant(b["ends_at"])]
    first = max(min(moments), start_of_day) if moments else start_of_day
    last = min(max(moments), end_of_day) if moments else end_of_day
    first = first.astimezone(zone(page)).replace(minute=0, second=0, microsecond=0)
    hours = []
    moment = first
    while moment < last:
        hours.append(moment)
        moment += timedelta(hours=1)
    return hours or [start_of_day]


async def _day_context(page: Visit, day: date) -> dict[str, Any]:
    (resources, resources_down), (services, _) = await asyncio.gather(
        page.part(page.get("booking", "/resources")),
        page.part(page.get("booking", "/services")))
    active = [r for r in resources or [] if r.get("active", True)]
    answers = await asyncio.gather(*(page.main(page.get(
        "booking", f"/resources/{r['id']}/day-sheet", date=day.isoformat())) for r in active))
    sheets, columns = [], []
    for resource, (sheet, down) in zip(active, answers, strict=True):
        columns.append({"resource": resource, "sheet": sheet, "down": down})
        if sheet:
            for b in sheet["bookings"]:
                b["state_label"] = label(BOOKING_STATES, b["status"])
            sheets.append(sheet)
    hours = _hour_rows(page, day, sheets)
    # cells[i][j]: the bookings of column j starting in hour i (earlier ones land in the first).
    cells = []
    for i, hour in enumerate(hours):
        row = []
        following = hours[i + 1] if i + 1 < len(hours) else None
        for column in columns:
            found = []
            for b in (column["sheet"] or {}).get("bookings", []):
                starts = instant(b["starts_at"])
                if (i == 0 or starts >= hour) and (following is None or starts < following):
                    found.append(b)
            row.append(found)
        cells.append((hour, row))
    catalogue = [s for s in services or [] if s.get("active", True)]
    return {"chosen": day.isoformat(), "today": club_today(page).isoformat(), "week": False,
            "previous": (day - timedelta(days=1)).isoformat(),
            "next": (day + timedelta(days=1)).isoformat(),
            "columns": columns, "cells": cells, "resources_down": resources_down,
            "services": [(s["code"], s["name"]) for s in catalogue],
            "resources": [(r["id"], r["name"]) for r in active], "channels": CHANNELS,
            "may_search": page.person.role in SEARCHERS}


async def _week_context(page: Visit, day: date) -> dict[str, Any]:
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=n) for n in range(7)]
    (resources, resources_down), (found, found_down) = await asyncio.gather(
        page.part(page.get("booking", "/resources")),
        page.main(page.get("booking", "/bookings",
                           starts_from=local_midnight(page, monday).isoformat(),
                           starts_before=local_midnight(page, monday + timedelta(days=7))
                           .isoformat(), limit=500)))
    counts: Counter[tuple[str, str]] = Counter()
    for b in found or []:
        if b["status"] != "cancelled":
            counts[(instant(b["starts_at"]).astimezone(zone(page)).date().isoformat(),
                    str(b["resource_id"]))] += 1
    active = [r for r in resources or [] if r.get("active", True)]
    return {"chosen": day.isoformat(), "today": club_today(page).isoformat(), "week": True,
            "days": [d.isoformat() for d in days], "resources_list": active,
            "counts": counts, "resources_down": resources_down or found_down,
            "previous": (monday - timedelta(days=7)).isoformat(),
            "next": (monday + timedelta(days=7)).isoformat(),
            "truncated": len(found or []) >= 500}


@router.get("/bookings")
async def bookings_page(date: str | None = None, view: str = "day",
                        page: Visit = Depends(visit)):
    page.require_person()
    day = chosen_day(page, date)
    if view == "week":
        return page.render("bookings/week.html", **await _week_context(page, day))
    return page.render("bookings/day.html", **await _day_context(page, day))


# --------------------------------------------------------------------------- book for a customer


def _starts_at(page: Visit, values: dict[str, str]) -> str:
    """The form's day and time as the instant booking takes; a Problem beside the time field
    when they cannot be read."""
    try:
        return local_instant(page, values["date"], values["time"])
    except ValueError:
        raise Problem("booking", 422, page._("Give the day and the time as hours and minutes."),
                      fields={"time": page._("hours and minutes, e.g. 14:30")}) from None


async def _customer_of(page: Visit, values: dict[str, str]) -> str:
    """The customer the booking is for: the id given, else the one CRM finds by phone (for
    those who may search), else a newly registered one (name and phone)."""
    if values["customer_id"]:
        return values["customer_id"]
    if values["phone"] and page.person.role in SEARCHERS:
        found = await find_customers(page, "customer_request", phone=values["phone"])
        if len(found) == 1:
            return str(found[0]["customer_id"])
        if len(found) > 1:
            names = "; ".join(f"{c.get('full_name') or ''} ({c['customer_id']})" for c in found)
            raise Problem("crm", 409, page._("Several customers have this phone: {names}. "
                                             "Give the customer id.").format(names=names),
                          fields={"customer_id": page._("Give the customer id.")})
        if not values["full_name"]:
            raise Problem("crm", 404, page._("No customer has this phone. Give their name to "
                                             "register them."),
                          fields={"full_name": page._("The new customer's name.")})
    if not values["full_name"]:
        raise Problem("crm", 422, page._("Give the customer id, or a name (and phone) to "
                                         "register a new customer."),
                      fields={"full_name": page._("The new customer's name.")})
    created = await page.post("crm", "/customers", {"full_name": values["full_name"],
                                                    "phone": values["phone"] or None})
    return str(created["customer_id"])


@router.post("/bookings/new")
async def book_for_customer(page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "customer_id", "phone", "full_name", "service_code",
                         "resource_id", "date", "time", "party_size", "offline_channel")
    try:
        customer_id = await _customer_of(page, values)
        values["customer_id"] = customer_id  # a retry does not register them twice
        starts_at = _starts_at(page, values)
        booking = await page.post("booking", "/bookings", {
            "customer_id": customer_id, "service_code": values["service_code"],
            "resource_id": values["resource_id"], "starts_at": starts_at,
            "party_size": int(values["party_size"] or 1),
            "offline_channel": values["offline_channel"] or "phone"})
    except Problem as e:
        return again(page, "bookings/day.html", e, "new", values,
                     await _day_context(page, chosen_day(page, values["date"])))
    page.flash(page._("Booked."))
    return page.redirect(f"/bookings/{booking['id']}")


# --------------------------------------------------------------------------- one booking


async def _booking_context(page: Visit, booking_id: str) -> dict[str, Any]:
    booking = await page.get("booking", f"/bookings/{booking_id}")
    booking["state_label"] = label(BOOKING_STATES, booking["status"])
    calls = [page.part(page.get("booking", "/resources")),
             page.part(page.get("booking", "/services"))]
    if booking.get("customer_id"):
        calls.append(page.part(page.get("crm", f"/customers/{booking['customer_id']}/summary")))
    answers = await asyncio.gather(*calls)
    resources, services = answers[0][0] or [], answers[1][0] or []
    summary, summary_down = answers[2] if len(answers) > 2 else (None, None)
    starts = instant(booking["starts_at"]).astimezone(zone(page))
    return {"booking": booking, "summary": summary, "summary_down": summary_down,
            "resources": [(r["id"], r["name"]) for r in resources if r.get("active", True)],
            "resource_names": {str(r["id"]): r["name"] for r in resources},
            "service_names": {s["code"]: s["name"] for s in services},
            "reasons": CANCEL_REASONS,
            "start_day": starts.date().isoformat(), "start_time": starts.strftime("%H:%M"),
            "started": instant(booking["starts_at"]) <= datetime.now(UTC),
            "channel_names": dict(CHANNELS)}


@router.get("/bookings/{booking_id}")
async def booking_page(booking_id: str, page: Visit = Depends(visit)):
    page.require_person()
    return page.render("bookings/booking.html", **await _booking_context(page, booking_id))


@router.post("/bookings/{booking_id}/move")
async def move(booking_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "date", "time", "resource_id")
    try:
        starts_at = _starts_at(page, values)
        await page.post("booking", f"/bookings/{booking_id}/reschedule", {
            "starts_at": starts_at, "resource_id": values["resource_id"] or None})
    except Problem as e:
        return again(page, "bookings/booking.html", e, "move", values,
                     await _booking_context(page, booking_id))
    page.flash(page._("Booking moved."))
    return page.redirect(f"/bookings/{booking_id}")


@router.post("/bookings/{booking_id}/cancel")
async def cancel(booking_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "reason")
    try:
        await page.post("booking", f"/bookings/{booking_id}/cancel", values)
    except Problem as e:
        return again(page, "bookings/booking.html", e, "cancel", values,
                     await _booking_context(page, booking_id))
    page.flash(page._("Booking cancelled."))
    return page.redirect(f"/bookings/{booking_id}")


@router.post("/bookings/{booking_id}/no-show")
async def no_show(booking_id: str, page: Visit = Depends(visit)):
    await page.form()
    try:
        await page.post("booking", f"/bookings/{booking_id}/no-show", None, idempotent=False)
    except Problem as e:
        return again(page, "bookings/booking.html", e, "no-show", {},
                     await _booking_context(page, booking_id))
    page.flash(page._("Marked as a no-show."))
    return page.redirect(f"/bookings/{booking_id}")
