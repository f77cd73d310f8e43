"""No personal data on the bus or in the logs (R1 §4.4, §6.1; docs/events.md): a customer's
whole journey through the crm service, then every message on every topic this service
publishes to — headers, key and value — is scanned for their name, phone and e-mail."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from club_contracts import (
    ComplaintEscalated,
    ComplaintResolved,
    CustomerErased,
    CustomerRegistered,
    FollowupCancelled,
    FollowupCompleted,
    ImprovementActionAssigned,
    ImprovementActionCompleted,
    ServiceMeetingHeld,
    SurveySubmitted,
    event_types,
)
from club_contracts.catalogue_v2 import RESOLUTION_WORDING
from club_platform.auth import Role
from club_platform.testing import client

from club_crm.jobs import COMPLAINT_SLA

CRM_TOPICS = sorted({t.topic for t in event_types() if t.producer == "crm"})

NAME, EMAIL = "Ouyang Xiaoling", "ouyang.xiaoling@example.org"
PHONE, PHONE_DIGITS = "+86 158 7654 3210", "8615876543210"


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    found = [w for w in (NAME, "Ouyang", "Xiaoling", EMAIL, "ouyang.xiaoling") if w.lower()
             in lowered]
    if PHONE_DIGITS[-8:] in re.sub(r"\D", "", text):  # the phone however it is spaced
        found.append(PHONE)
    return found


async def test_no_message_or_log_line_carries_a_customers_identity(
        crm, sql, kafka_tap, runtime, crm_url, clock, caplog):
    assert CRM_TOPICS == ["complaint.escalated", "complaint.opened", "complaint.resolved",
                          "customer.erased", "customer.registered", "followup.cancelled",
                          "followup.completed", "improvement.action_assigned",
                          "improvement.action_completed", "meeting.held", "survey.submitted"]
    caplog.set_level(logging.DEBUG)
    async with kafka_tap(*CRM_TOPICS) as tap:
        customer_id = await crm.register(full_name=NAME, phone=PHONE, email=EMAIL,
                                         preferences={"nickname": "Xiaoling"})
        visit = await crm.complete_visit(customer_id,
                                         completed_at=clock.now() - timedelta(hours=1))
        followup = await crm.wait_for_visit(visit.visit_id)
        async with crm.as_(Role.HEAD) as http:  # the head may act on any complaint or call
            await http.post(f"/customers/{customer_id}/notes",
                            json={"text": f"{NAME} asked us to use {EMAIL} only"})
            complaint = (await http.post("/complaints", json={
                "customer_id": str(customer_id), "visit_id": str(visit.visit_id),
                "category": "service", "severity": "high", "channel": "email",
                "description": f"I am {NAME}, call me on {PHONE}"})).json()
            complaint_id = complaint["complaint_id"]
            await runtime.run_job(COMPLAINT_SLA, clock.now() + timedelta(hours=2))
            found = await http.post("/customers/search", json={"phone": PHONE},
                                    params={"purpose": "customer_request"})
            assert [c["full_name"] for c in found.json()] == [NAME]
            refused = await http.post("/customers", json={"full_name": NAME,
                                                          "email": f"{NAME} at home"})
            assert refused.status_code == 422 and _leaks(refused.text) == []
            await http.post(f"/complaints/{complaint_id}/acknowledge")
            resolved = await http.post(f"/complaints/{complaint_id}/resolve", json={
                "explanation": f"Dear {NAME}, we are sorry. We wrote to {EMAIL} and will ring "
                               "158-7654-3210.",
                "compensation": {"kind": "service_credit", "amount": "80.00"},
                "upheld": True})
            assert resolved.status_code == 200, resolved.text
            await http.post(f"/followups/{followup['followup_id']}/complete", json={
                "outcome": "neutral", "note": f"{NAME} says the phone {PHONE} is best"})
            [invitation] = (await http.get("/surveys/invitations",
                                           params={"visit_id": str(visit.visit_id)})).json()
        async with client(crm_url) as anonymous:
            await anonymous.post(f"/surveys/respond/{invitation['token']}", json={
                "csat": 4, "nps": 8, "comment": f"signed {NAME}, {EMAIL}, {PHONE}"})
        # A service meeting about it (R2 §9.1): minutes, an action and its note name the
        # customer, as people write them; only ids and times may travel.
        owner = await crm.hire_specialist()
        await crm.staff_known(sql, owner, "active")
        async with crm.as_(Role.HEAD) as http:
            meeting = (await http.post("/meetings", json={
                "period_from": (clock.now() - timedelta(days=7)).isoformat(),
                "period_until": clock.now().isoformat(),
                "scheduled_for": clock.now().isoformat(),
                "attendee_ids": [str(owner)]})).json()["meeting_id"]
            await http.put(f"/meetings/{meeting}/minutes", json={
                "minutes": f"{NAME} ({PHONE}) complained again", "attended_ids": [str(owner)]})
            assert (await http.post(f"/meetings/{meeting}/hold")).status_code == 200
            action = await http.post(f"/meetings/{meeting}/actions", json={
                "text": f"Call {NAME} on {PHONE}", "owner_id": str(owner),
                "due_at": (clock.now() + timedelta(days=1)).isoformat(),
                "complaint_ids": [complaint_id]})
            assert action.status_code == 201 and _leaks(action.text) == []
            action_id = action.json()["action_id"]
            await http.post(f"/actions/{action_id}/complete",
                            json={"note": f"Wrote to {EMAIL}"})
            await http.get(f"/customers/{customer_id}", params={"purpose": "quality_review"})
            await http.post(f"/customers/{customer_id}/erase")
        # Every kind of message this service sends, for this customer's journey.
        for event_type, key in ((CustomerRegistered, customer_id),
                                (ComplaintEscalated, complaint_id),
                                (ComplaintResolved, complaint_id),
                                (FollowupCompleted, followup["followup_id"]),
                                (SurveySubmitted, None), (CustomerErased, customer_id),
                                (FollowupCancelled, None), (ServiceMeetingHeld, meeting),
                                (ImprovementActionAssigned, action_id),
                                (ImprovementActionCompleted, action_id)):
            await tap.events(event_type, key=key)
        seen = await tap.settle(1.0)

    assert {s.record.topic for s in seen} == set(CRM_TOPICS)
    for record in (s.record for s in seen):
        text = " ".join([record.topic, (record.key or b"").decode(errors="replace"),
                         (record.value or b"").decode(errors="replace"),
                         *(f"{k}={v.decode(errors='replace')}" for k, v in record.headers)])
        assert _leaks(text) == [], (record.topic, text)
        # Nor what the specialist typed: v1 carries the code's standard wording, v2 the code.
        assert "we are sorry" not in text, (record.topic, text)
    resolution = next(s.event.resolution for s in seen if isinstance(s.event, ComplaintResolved))
    assert resolution == RESOLUTION_WORDING["compensated"]
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert _leaks(logged) == [], "personal data in the logs"
