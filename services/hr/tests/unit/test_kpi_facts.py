"""KPI facts are a pure function of one event (so a replay gives the same facts)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from uuid import uuid4

from club_contracts import (
    ComplaintOpened,
    ComplaintResolved,
    FollowupCompleted,
    IncidentReported,
    ServiceDelivered,
    SurveySubmitted,
    VisitCompleted,
)

from club_hr.domain.facts import facts_from

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
ANNA, BO, CRM = uuid4(), uuid4(), uuid4()


def test_a_visit_counts_once_for_each_staff_member_who_served_it():
    visit = VisitCompleted(
        visit_id=uuid4(), customer_id=uuid4(), location_id=uuid4(), host_staff_id=ANNA,
        staff_ids=[ANNA, BO],
        services=[ServiceDelivered(service_code="massage", staff_id=BO, started_at=AT,
                                   ended_at=AT + timedelta(hours=1))],
        checked_in_at=AT - timedelta(minutes=5), completed_at=AT + timedelta(hours=1))
    facts = facts_from(visit)
    assert [(f.kind, f.staff_id) for f in facts] == [
        ("visit", None), ("visit_served", ANNA), ("visit_served", BO)]
    # the host gave no service time; Bo gave all 60 minutes of it
    assert facts[1].attrs == {"host": True, "service_minutes": "0",
                              "visit_service_minutes": "60"}
    assert facts[2].attrs == {"host": False, "service_minutes": "60",
                              "visit_service_minutes": "60"}
    assert all(f.subject_id == visit.visit_id for f in facts)
    assert facts_from(visit) == facts  # the same event, the same facts
    assert not any("customer" in str(f.attrs) for f in facts)


def test_a_survey_rates_the_staff_it_names_and_the_department():
    survey = SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), visit_id=None,
                             staff_ids=[ANNA, ANNA, BO], csat=4, submitted_at=AT)
    facts = facts_from(survey)
    assert [(f.kind, f.staff_id, f.value) for f in facts] == [
        ("survey", None, 4), ("survey_rating", ANNA, 4), ("survey_rating", BO, 4)]


def test_a_resolved_complaint_is_upheld_against_the_named_staff_and_timed_for_its_handler():
    opened = AT - timedelta(hours=30, minutes=15)
    resolved = ComplaintResolved(
        complaint_id=uuid4(), customer_id=uuid4(), handled_by=CRM, subject_staff_ids=[ANNA],
        upheld=True, resolution="apologised", opened_at=opened, resolved_at=AT,
        within_sla=False)
    facts = facts_from(resolved)
    assert [(f.kind, f.staff_id) for f in facts] == [
        ("upheld_complaint", ANNA), ("complaint_resolved", CRM)]
    assert facts[1].value == D("30.25")
    assert facts[1].attrs == {"within_sla": False, "upheld": True}
    dismissed = resolved.model_copy(update={"upheld": False})
    assert [f.kind for f in facts_from(dismissed)] == ["complaint_resolved"]


def test_complaints_follow_ups_and_incidents():
    complaint = ComplaintOpened(
        complaint_id=uuid4(), customer_id=uuid4(), subject_staff_ids=[ANNA],
        category="service", severity="low", channel="phone", opened_at=AT,
        sla_due_at=AT + timedelta(days=1))
    assert [(f.kind, f.staff_id) for f in facts_from(complaint)] == [("complaint", None)]
    late = FollowupCompleted(
        followup_id=uuid4(), customer_id=uuid4(), reason="post_complaint",
        complaint_id=uuid4(), staff_id=CRM, due_at=AT, completed_at=AT + timedelta(minutes=1),
        outcome="satisfied")
    (fact,) = facts_from(late)
    assert fact.attrs["on_time"] is False and fact.attrs["outcome"] == "satisfied"
    incident = IncidentReported(
        incident_id=uuid4(), category="safety", severity="high", location_id=uuid4(),
        reported_by=ANNA, occurred_at=AT - timedelta(minutes=4), reported_at=AT)
    (fact,) = facts_from(incident)
    assert (fact.kind, fact.staff_id, fact.value) == ("incident_reported", ANNA, 4)
