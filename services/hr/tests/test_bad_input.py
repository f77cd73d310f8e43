"""Bad input is a 422 that names the problem, never a 500, and stores nothing. Each case here
was a 500 (or a silently stored nonsense value) found by the security tests
(tests/security/test_api_fuzz.py, test_hardening.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

import pytest

CALENDAR_ENDS = ["9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00"]


async def test_a_policy_version_beyond_int4_is_a_422(hr):
    response = await hr.call("attendant", "POST",
                             f"/policies/{uuid4()}/versions/191419068276362355192889344/"
                             "acknowledgement", expect=422)
    assert "version" in response.json()["detail"]


@pytest.mark.parametrize("moment", CALENDAR_ENDS)
async def test_times_at_the_ends_of_the_calendar_are_refused(hr, moment):
    """9999-12-31T23:59:59.999999Z came back from PostgreSQL as a naive `infinity`, after which
    every revision of that policy failed with a 500; year 1 overflowed the discipline window
    and the clocking arithmetic."""
    now = hr.clock.now()
    policy = (await hr.call("hr_admin", "POST", "/policies", expect=201, json={
        "title": "Lockers", "summary": "Empty them nightly",
        "effective_at": (now + timedelta(days=1)).isoformat()})).json()
    revised = await hr.call("hr_admin", "POST", f"/policies/{policy['policy_id']}/versions",
                            expect=422, json={"summary": "Weekly",
                                              "effective_at": moment})
    assert "effective_at" in revised.json()["detail"]
    assert "between 1900 and 2199" in revised.json()["detail"]
    # the policy still takes an ordinary revision
    await hr.call("hr_admin", "POST", f"/policies/{policy['policy_id']}/versions", expect=201,
                  json={"summary": "Weekly",
                        "effective_at": (now + timedelta(days=2)).isoformat()})
    staff = await hr.hire("attendant")
    await hr.call("head", "POST", "/discipline/cases", expect=422, json={
        "staff_id": staff["staff_id"], "violation": "dress_code", "occurred_at": moment,
        "description": "No badge"})
    await hr.call("head", "POST", "/attendance/clockings", expect=422, json={
        "direction": "in", "staff_id": staff["staff_id"], "at": moment})


async def test_a_time_sent_as_a_number_is_refused_not_read_as_1970(hr):
    response = await hr.call("hr_admin", "POST", "/staff", expect=422, json={
        "display_name": "Numbers", "role": "attendant", "hired_at": 12345})
    assert "RFC 3339" in response.json()["detail"]
    listed = (await hr.call("hr_admin", "GET", "/staff", expect=200)).json()
    assert "Numbers" not in [s["display_name"] for s in listed]


async def test_text_no_database_can_hold_is_refused(hr):
    for name in ("Ana\x00Lee", "Ana\ud800Lee"):
        # ASCII escapes, so the lone surrogate travels as "\ud800", as a client would send it
        body = json.dumps({"display_name": name, "role": "attendant"}).encode()
        response = await hr.call("hr_admin", "POST", "/staff", expect=422, content=body,
                                 headers={"content-type": "application/json"})
        assert response.json()["code"] == "invalid_text"
        assert "display_name" in response.json()["detail"]


@pytest.mark.parametrize("fine", ["1e30", "-5", "12.345"])
async def test_a_rules_fine_must_fit_its_column(hr, fine):
    response = await hr.call("hr_admin", "PUT", "/discipline/rules/uniform_drill", expect=422,
                             json={"title": "Drill", "rule_ref": "R1 §4.2",
                                   "severity": "minor", "window_days": 90,
                                   "ladder": ["verbal_warning", "fine"], "fine": fine})
    assert "fine" in response.json()["detail"]
    await hr.call("hr_admin", "GET", "/discipline/rules", expect=200)


@pytest.mark.parametrize(("field", "value"), [("target", "1e100"), ("worst", "-1")])
async def test_kpi_template_values_are_bounded(hr, field, value):
    later = (hr.clock.now() + timedelta(days=40)).date().isoformat()
    items = [{"code": "visits_served", "weight": 30, "target": "60", "worst": "0"},
             {"code": "mean_csat", "weight": 30, "target": "4.5", "worst": "2.5"},
             {"code": "upheld_complaints", "weight": 20, "target": "0", "worst": "3"},
             {"code": "punctuality", "weight": 20, "target": "100", "worst": "75"}]
    items[0][field] = value
    response = await hr.call("hr_admin", "PUT", f"/kpi-templates/attendant/{later}",
                             expect=422, json={"items": items})
    assert field in response.json()["detail"]
