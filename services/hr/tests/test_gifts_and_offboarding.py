"""The gift register (R2 §6.3) and offboarding (R1 §6.3)."""

from datetime import timedelta
from uuid import UUID, uuid4

from club_contracts import CustomerErased, StaffChanged, StaffOffboarded


async def test_gifts_are_declared_and_keeping_one_needs_approval(hr, event_publisher):
    mei = UUID((await hr.hire("attendant"))["staff_id"])
    customer = uuid4()
    yesterday = (hr.clock.now() - timedelta(days=1)).isoformat()
    refused = await hr.call("attendant", "POST", "/gifts", subject=mei, expect=201, json={
        "description": "a red envelope", "received_at": yesterday, "disposition": "refused",
        "estimated_value": {"amount": "200.00"}, "customer_id": str(customer)})
    assert refused.json()["status"] == "recorded"
    kept = await hr.call("attendant", "POST", "/gifts", subject=mei, expect=201, json={
        "description": "a box of tea", "received_at": yesterday, "disposition": "accepted",
        "customer_id": str(customer)})
    gift = kept.json()
    assert gift["status"] == "pending_approval"
    await hr.call("attendant", "POST", f"/gifts/{gift['gift_id']}/decision", expect=403,
                  json={"approved": True, "note": "fine"})
    approved = await hr.call("deputy", "POST", f"/gifts/{gift['gift_id']}/decision",
                             expect=200, json={"approved": True, "note": "a token gift"})
    assert approved.json()["status"] == "approved"
    twice = await hr.call("head", "POST", f"/gifts/{gift['gift_id']}/decision", expect=409,
                          json={"approved": False, "note": "no"})
    assert "awaiting approval" in twice.json()["detail"]
    await hr.call("attendant", "GET", f"/gifts/{gift['gift_id']}", expect=403)
    await hr.call("attendant", "POST", "/gifts", expect=403, json={
        "description": "x", "received_at": yesterday, "disposition": "refused",
        "staff_id": str(mei)})

    # CRM erases the customer: HR forgets their id, and refuses it from then on.
    await event_publisher.publish(CustomerErased(customer_id=customer,
                                                 erased_at=hr.clock.now()))
    await hr.poll("head", "/gifts", lambda found: all(g["customer_id"] is None for g in found),
                  params={"staff_id": str(mei)})
    erased = await hr.call("attendant", "POST", "/gifts", subject=mei, expect=422, json={
        "description": "flowers", "received_at": yesterday, "disposition": "handed_over",
        "customer_id": str(customer)})
    assert "erased" in erased.json()["detail"]


async def test_offboarding_needs_evidence_for_every_item_and_ends_in_staff_offboarded(
        hr, kafka_tap):
    ivy = UUID((await hr.hire("crm_specialist"))["staff_id"])
    future = await hr.shift(ivy, hr.clock.now() + timedelta(days=20))
    started = await hr.call("hr_admin", "POST", f"/staff/{ivy}/offboarding", expect=201,
                            json={"reason": "resignation",
                                  "last_day": hr.today().isoformat()})
    assert [i["done"] for i in started.json()["checklist"]] == [False, False, False]
    early = await hr.call("hr_admin", "POST", f"/staff/{ivy}/offboarding/completion",
                          expect=409)
    assert "documents_returned_or_destroyed" in early.json()["detail"]
    await hr.call("hr_admin", "PUT",
                  f"/staff/{ivy}/offboarding/items/documents_returned_or_destroyed",
                  json={"evidence": ""}, expect=422)
    await hr.call("hr_admin", "PUT", f"/staff/{ivy}/offboarding/items/laptop_wiped",
                  json={"evidence": "done"}, expect=422)
    await hr.call("attendant", "PUT", f"/staff/{ivy}/offboarding/items/access_revoked",
                  json={"evidence": "done"}, expect=403)
    for item, evidence in (
            ("documents_returned_or_destroyed", "12 customer files shredded, witness: Zhao"),
            ("customer_data_access_revoked", "CRM account disabled, ticket 4411"),
            ("badge_and_keys_returned", "badge 0093 and locker key returned")):
        await hr.call("hr_admin", "PUT", f"/staff/{ivy}/offboarding/items/{item}",
                      json={"evidence": evidence}, expect=200)
    async with kafka_tap("staff.offboarded", "staff.changed") as tap:
        done = await hr.call("hr_admin", "POST", f"/staff/{ivy}/offboarding/completion",
                             expect=200)
        (offboarded,) = await tap.events(StaffOffboarded, key=ivy)
        (changed,) = await tap.events(StaffChanged, key=ivy)
    assert done.json()["completed_at"] is not None
    assert all(i["evidence"] for i in done.json()["checklist"])
    assert offboarded.event.staff_id == ivy
    assert changed.event.status == "offboarded"
    member = (await hr.call("head", "GET", f"/staff/{ivy}", expect=200)).json()
    assert member["status"] == "offboarded"
    shift = (await hr.call("head", "GET", f"/shifts/{future['shift_id']}", expect=200)).json()
    assert shift["status"] == "cancelled"
    closed = await hr.call("hr_admin", "POST", f"/staff/{ivy}/role", json={"role": "deputy"},
                           expect=409)
    assert "offboarded" in closed.json()["detail"]


async def test_a_termination_starts_the_offboarding_and_an_overturned_one_calls_it_off(hr):
    sam = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(sam), "violation": "confidentiality_breach",
        "occurred_at": hr.clock.now().isoformat(), "description": "photographed records"}
    )).json()
    await hr.call("head", "POST", f"/discipline/cases/{case['case_id']}/decision", expect=200,
                  json={"action": "termination", "reason": "a gross breach"})
    started = (await hr.call("hr_admin", "GET", f"/staff/{sam}/offboarding",
                             expect=200)).json()
    assert (started["reason"], started["case_id"]) == ("termination", case["case_id"])
    await hr.call("attendant", "POST", f"/discipline/cases/{case['case_id']}/appeal",
                  subject=sam, json={"grounds": "the photos were of my own notes"},
                  expect=200)
    await hr.call("head", "POST", f"/discipline/cases/{case['case_id']}/appeal/decision",
                  expect=200, json={"outcome": "overturned", "reason": "they were"})
    await hr.call("hr_admin", "GET", f"/staff/{sam}/offboarding", expect=404)
    member = (await hr.call("head", "GET", f"/staff/{sam}", expect=200)).json()
    assert member["status"] == "active"
