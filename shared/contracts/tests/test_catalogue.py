"""Catalogue v1 is the contract other club systems rely on (docs/events.md): these tests pin
every topic, its CloudEvents type, its key and its exact field names."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from club_contracts import (
    BookingCreated,
    Compensation,
    ComplaintResolved,
    Money,
    SurveySubmitted,
    event_type_for,
    event_types,
    topics,
)
from club_contracts.catalogue_v2 import DEPRECATED
from pydantic import ValidationError

# Copied by hand from the catalogue table of docs/events.md: a change here is a contract change.
CATALOGUE = {
    "booking.created": ("booking_id", "booking_id customer_id resource_id service_code channel "
                        "starts_at ends_at party_size staff_id created_by created_at"),
    "booking.rescheduled": ("booking_id", "booking_id customer_id resource_id previous_starts_at "
                            "previous_ends_at starts_at ends_at rescheduled_by rescheduled_at"),
    "booking.cancelled": ("booking_id", "booking_id customer_id reason late cancelled_by "
                          "cancelled_at"),
    "booking.no_show": ("booking_id", "booking_id customer_id resource_id starts_at marked_at"),
    "booking.fulfilled": ("booking_id", "booking_id customer_id resource_id visit_id starts_at "
                          "checked_in_at after_no_show"),
    "visit.checked_in": ("visit_id", "visit_id booking_id customer_id location_id host_staff_id "
                         "walk_in checked_in_at"),
    "visit.service_recorded": ("visit_id", "visit_id record_id service_code staff_id started_at "
                               "ended_at"),
    "visit.completed": ("visit_id", "visit_id booking_id customer_id location_id host_staff_id "
                        "staff_ids services checked_in_at completed_at"),
    "incident.reported": ("incident_id", "incident_id category severity location_id reported_by "
                          "visit_id occurred_at reported_at"),
    "customer.registered": ("customer_id", "customer_id tier registered_at"),
    "customer.erased": ("customer_id", "customer_id erased_at"),
    "complaint.opened": ("complaint_id", "complaint_id customer_id visit_id subject_staff_ids "
                         "category severity channel opened_at sla_due_at"),
    "complaint.escalated": ("complaint_id", "complaint_id level reason escalated_to_role "
                            "escalated_at breached due_at held_by"),
    "complaint.resolved": ("complaint_id", "complaint_id customer_id handled_by subject_staff_ids "
                           "upheld resolution compensation opened_at resolved_at within_sla "
                           "first_response_due_at first_responded_at first_response_by"),
    "followup.completed": ("followup_id", "followup_id customer_id reason visit_id complaint_id "
                           "staff_id due_at completed_at outcome"),
    "followup.cancelled": ("followup_id", "followup_id customer_id reason visit_id complaint_id "
                           "staff_id due_at cancelled_at cancel_reason"),
    "survey.submitted": ("response_id", "response_id customer_id visit_id staff_ids csat nps "
                         "submitted_at"),
    "staff.hired": ("staff_id", "staff_id display_name role department hired_at"),
    "staff.changed": ("staff_id", "staff_id role status effective_at"),
    "staff.offboarded": ("staff_id", "staff_id effective_at"),
    "assessment.published": ("assessment_id", "assessment_id staff_id role period_start "
                             "period_end kpis total_score rating published_at reviewed_by "
                             "adjustments computed_total_score"),
    "discipline.recorded": ("case_id", "case_id staff_id rule_ref violation action fine "
                            "suspension_days decided_by decided_at source_event_id"),
    "discipline.opened": ("case_id", "case_id staff_id rule_ref violation origin occurred_at "
                          "opened_by opened_at source_event_id"),
    "discipline.dismissed": ("case_id", "case_id staff_id rule_ref violation dismissed_by "
                             "dismissed_at source_event_id"),
    "discipline.appeal_decided": ("case_id", "case_id staff_id outcome action_appealed action "
                                  "decided_by decided_at"),
    "reward.granted": ("reward_id", "reward_id staff_id kind reason rule_ref granted_at"),
    "policy.revised": ("policy_id", "policy_id version title effective_at requires_training"),
    "training.assigned": ("session_id", "session_id staff_id clause starts_at ends_at policy_id "
                          "policy_version assigned_at"),
    "shift.changed": ("shift_id", "shift_id staff_id change starts_at ends_at changed_by "
                      "changed_at"),
    "attendance.clocked": ("staff_id", "staff_id direction at device_id"),
    "task.assigned": ("task_id", "task_id plan_id owner_id location_id routine due_at "
                      "assigned_by assigned_at"),
    "task.completed": ("task_id", "task_id owner_id completed_by due_at completed_at on_time"),
    "task.overdue": ("task_id", "task_id owner_id due_at escalated_to_role overdue_at"),
    "safety.round_completed": ("round_id", "round_id area conducted_by items_checked "
                               "items_failed completed_at"),
    "safety.finding_opened": ("finding_id", "finding_id round_id area item owner_id due_at "
                              "incident_id opened_at"),
    "safety.finding_overdue": ("finding_id", "finding_id owner_id due_at escalated_to_role "
                               "overdue_at"),
    "safety.finding_closed": ("finding_id", "finding_id owner_id closed_by due_at closed_at "
                              "on_time"),
    "meeting.held": ("meeting_id", "meeting_id chaired_by attendee_ids held_at"),
    "improvement.action_assigned": ("action_id", "action_id meeting_id owner_id due_at "
                                    "complaint_ids incident_ids assigned_at"),
    "improvement.action_completed": ("action_id", "action_id meeting_id owner_id due_at "
                                     "completed_at on_time"),
}


# The second majors: free text replaced by codes (docs/events.md, "Versions").
CATALOGUE_V2 = {
    "booking.cancelled": ("booking_id", "booking_id customer_id reason late cancelled_by "
                          "cancelled_at"),
    "complaint.resolved": ("complaint_id", "complaint_id customer_id handled_by "
                           "subject_staff_ids upheld resolution_code compensation opened_at "
                           "resolved_at within_sla first_response_due_at first_responded_at "
                           "first_response_by"),
    "reward.granted": ("reward_id", "reward_id staff_id kind reason_code rule_ref granted_at"),
}


def test_every_catalogue_topic_has_exactly_one_model_per_major():
    assert sorted(topics()) == sorted(CATALOGUE)
    assert sorted((t.topic, t.major) for t in event_types()) == sorted(
        [(topic, 1) for topic in CATALOGUE] + [(topic, 2) for topic in CATALOGUE_V2])
    # Every second major replaces a first one, which stays published until its window ends.
    assert sorted(DEPRECATED) == sorted(f"club.{topic}.v1" for topic in CATALOGUE_V2)


@pytest.mark.parametrize("major,topic", [(1, t) for t in sorted(CATALOGUE)]
                         + [(2, t) for t in sorted(CATALOGUE_V2)])
def test_fields_key_and_type_match_the_blueprint(major, topic):
    (model,) = [t for t in event_types() if t.topic == topic and t.major == major]
    key, fields = (CATALOGUE if major == 1 else CATALOGUE_V2)[topic]
    assert list(model.model_fields) == fields.split()
    assert model.key_field == key
    assert model.ce_type() == f"club.{topic}.v{major}"
    assert event_type_for(model.ce_type()) is model


def test_times_are_utc_and_naive_times_are_refused():
    shanghai = timezone(timedelta(hours=8))
    event = SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), staff_ids=[], csat=5,
                            submitted_at=datetime(2026, 11, 27, 18, 0, tzinfo=shanghai))
    assert event.submitted_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert json.loads(event.to_json())["submitted_at"] == "2026-11-27T10:00:00Z"
    with pytest.raises(ValidationError, match="timezone"):
        SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), staff_ids=[], csat=5,
                        submitted_at=datetime(2026, 11, 27, 18, 0))


def test_money_travels_as_a_decimal_string():
    event = ComplaintResolved(
        complaint_id=uuid4(), customer_id=uuid4(), handled_by=uuid4(), subject_staff_ids=[],
        upheld=True, resolution="apologised and refunded",
        compensation=Compensation(kind="refund", value=Money(amount=Decimal("12.5"))),
        opened_at=datetime.now(UTC), resolved_at=datetime.now(UTC), within_sla=True,
    )
    data = json.loads(event.to_json())
    assert data["compensation"] == {"kind": "refund",
                                    "value": {"amount": "12.50", "currency": "CNY"}}
    assert ComplaintResolved.from_json(event.to_json()) == event


def test_values_outside_the_contract_are_refused():
    now = datetime.now(UTC)
    with pytest.raises(ValidationError, match="csat"):
        SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), staff_ids=[], csat=6,
                        submitted_at=now)
    with pytest.raises(ValidationError, match="channel"):
        BookingCreated(booking_id=uuid4(), customer_id=uuid4(), resource_id=uuid4(),
                       service_code="spa", channel="fax", starts_at=now,
                       ends_at=now + timedelta(hours=1), party_size=1, created_by=uuid4(),
                       created_at=now)
    with pytest.raises(ValidationError, match="end after it starts"):
        BookingCreated(booking_id=uuid4(), customer_id=uuid4(), resource_id=uuid4(),
                       service_code="spa", channel="online", starts_at=now, ends_at=now,
                       party_size=1, created_by=uuid4(), created_at=now)


def test_consumers_ignore_fields_added_later():
    now = datetime.now(UTC).isoformat()
    data = {"customer_id": str(uuid4()), "erased_at": now, "added_in_v1_3": "whatever"}
    from club_contracts import CustomerErased

    assert CustomerErased.model_validate(data).customer_id is not None


# R1 §4.4, §6: nothing that identifies a customer as a person may be on the bus.
PERSONAL = {"name", "first_name", "last_name", "full_name", "phone", "mobile", "email",
            "e_mail", "address", "notes", "note", "comment", "birthday", "date_of_birth",
            "id_number", "passport"}


def test_no_event_has_a_personal_data_field():
    for model in event_types():
        assert not PERSONAL & set(model.model_fields), model.topic
