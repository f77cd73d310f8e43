"""Customers (R1 §6, §3.5; CRM specialists, the head and the deputy): found by e-mail or phone
and read only for a stated purpose (the crm service audits every read of personal data with
it), the customer's record, complaints and notes, and writing a note. Part of the customer
relations screens (pages/crm.py holds their vocabulary)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends

from club_console.pages._common import again, text_values
from club_console.pages.crm import (
    LABELS,
    PURPOSE_CODES,
    PURPOSES,
    escalated,
    mark_named_fields,
    queue_order,
)
from club_console.services import Problem
from club_console.web import Visit, visit

router = APIRouter()


async def find_customers(page: Visit, purpose: str, *, email: str = "",
                         phone: str = "") -> list[dict]:
    """Customers by e-mail or phone, read for `purpose` (crm audits it). A POST with the
    purpose in the query, so that an e-mail or a phone never sits in a URL; for this page and
    for booking on a customer's behalf (pages/bookings.py)."""
    return await page.call("crm", "POST", "/customers/search", params={"purpose": purpose},
                           json={"email": email or None, "phone": phone or None})


@router.get("/crm/customers")
async def customers(page: Visit = Depends(visit)):
    page.require_person()
    return page.render("crm/customers.html", found=None, purposes=PURPOSES, **LABELS)


@router.post("/crm/customers")
async def search_customers(page: Visit = Depends(visit)):
    """A POST, so an e-mail or phone never sits in a URL; the answer is rendered, not
    redirected to, for the same reason."""
    form = await page.form()
    values = text_values(form, "email", "phone", "purpose")
    try:
        found = await find_customers(page, values["purpose"], email=values["email"],
                                     phone=values["phone"])
    except Problem as e:
        mark_named_fields(e, {})
        return again(page, "crm/customers.html", e, "search", values,
                     {"found": None, "purposes": PURPOSES, **LABELS})
    return page.render("crm/customers.html", found=found, purposes=PURPOSES,
                       purpose=values["purpose"], values={"search": values}, **LABELS)


async def _customer_context(page: Visit, customer_id: str, purpose: str) -> dict[str, Any]:
    reveal = purpose in PURPOSE_CODES
    parts = [page.get("crm", f"/customers/{customer_id}/summary"),
             page.part(page.get("crm", "/complaints", customer_id=customer_id))]
    if reveal:
        parts += [page.get("crm", f"/customers/{customer_id}", purpose=purpose),
                  page.part(page.get("crm", f"/customers/{customer_id}/notes",
                                     purpose=purpose))]
    answers = await asyncio.gather(*parts)
    summary, (complaints, complaints_down) = answers[0], answers[1]
    profile, (notes, notes_down) = (answers[2], answers[3]) if reveal else (None, (None, None))
    return {"summary": summary, "complaints": queue_order(complaints or []),
            "complaints_down": complaints_down, "profile": profile, "notes": notes or [],
            "notes_down": notes_down, "purpose": purpose if reveal else "",
            "purposes": PURPOSES, "escalated": escalated, **LABELS}


@router.get("/crm/customers/{customer_id}")
async def customer_page(customer_id: str, page: Visit = Depends(visit), purpose: str = ""):
    page.require_person()
    return page.render("crm/customer.html",
                       **await _customer_context(page, customer_id, purpose))


@router.post("/crm/customers/{customer_id}/notes")
async def write_note(customer_id: str, page: Visit = Depends(visit)):
    form = await page.form()
    values = text_values(form, "text", "purpose")
    back = f"/crm/customers/{customer_id}" + (
        f"?purpose={values['purpose']}" if values["purpose"] in PURPOSE_CODES else "")
    try:
        await page.post("crm", f"/customers/{customer_id}/notes", {"text": values["text"]})
    except Problem as e:
        return again(page, "crm/customer.html", e, "note", values,
                     await _customer_context(page, customer_id, values["purpose"]))
    page.flash(page._("Note written."))
    return page.redirect(back)
