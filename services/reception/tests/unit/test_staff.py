"""Who may be assigned: the standing read from staff facts, whatever their order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from club_reception.domain.errors import StaffNotAssignable
from club_reception.domain.staff import StandingFact, ensure_assignable, standing_at

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HIRED = StandingFact(T0, "active", "attendant")
SUSPENDED = StandingFact(T0 + timedelta(days=10), "suspended", "attendant")
BACK = StandingFact(T0 + timedelta(days=20), "active", "deputy")
OFFBOARDED = StandingFact(T0 + timedelta(days=30), "offboarded")
LATER_ACTIVE = StandingFact(T0 + timedelta(days=40), "active", "attendant")


def test_unknown_and_not_yet_started():
    assert standing_at([], T0).status == "unknown"
    assert standing_at([HIRED], T0 - timedelta(seconds=1)).status == "not_started"


@pytest.mark.parametrize(("day", "status", "role"), [
    (0, "active", "attendant"),
    (15, "suspended", "attendant"),
    (25, "active", "deputy"),
    (35, "offboarded", "deputy"),
    (45, "offboarded", "attendant"),  # offboarding is final: a later "active" cannot undo it
])
def test_the_standing_at_each_moment_is_the_same_in_every_order(day, status, role):
    facts = [HIRED, SUSPENDED, BACK, OFFBOARDED, LATER_ACTIVE]
    at = T0 + timedelta(days=day)
    seen = {standing_at(order, at) for order in itertools.permutations(facts)}
    assert len(seen) == 1
    (standing,) = seen
    assert (standing.status, standing.role) == (status, role)


def test_offboarded_since_its_earliest_effective_time():
    early = StandingFact(T0 + timedelta(days=5), "offboarded")
    standing = standing_at([HIRED, OFFBOARDED, early], T0 + timedelta(days=50))
    assert standing.since == early.effective_at


def test_at_the_same_moment_the_stricter_status_wins():
    same = [StandingFact(T0, "active", "attendant"), StandingFact(T0, "suspended", "attendant")]
    assert standing_at(same, T0).status == "suspended"
    assert standing_at(list(reversed(same)), T0).status == "suspended"


@pytest.mark.parametrize(("facts", "reason", "words"), [
    ([], "unknown", "is not in the staff directory"),
    ([HIRED, SUSPENDED], "suspended", "is suspended"),
    ([HIRED, OFFBOARDED], "offboarded", "has been offboarded"),
])
def test_only_active_staff_are_assignable(facts, reason, words):
    staff_id = uuid4()
    with pytest.raises(StaffNotAssignable) as refused:
        ensure_assignable(staff_id, standing_at(facts, T0 + timedelta(days=31)), "host the visit")
    assert refused.value.extra == {"staff_id": str(staff_id), "reason": reason}
    assert words in refused.value.detail and "host the visit" in refused.value.detail
    ensure_assignable(staff_id, standing_at([HIRED], T0), "host the visit")
