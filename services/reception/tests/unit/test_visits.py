"""Rules of a visit: what a service record may say, room at a place, what completion reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from club_platform.errors import Invalid

from club_reception.domain.errors import LocationClosed, LocationFull, VisitAlreadyCompleted
from club_reception.domain.visits import (
    ServiceDone,
    Visit,
    completion,
    ensure_in_progress,
    ensure_room,
    ensure_service_times,
)

T0 = datetime(2026, 11, 27, 10, tzinfo=UTC)
HOST, ANA, BO = uuid4(), uuid4(), uuid4()
VISIT = Visit(uuid4(), uuid4(), None, uuid4(), HOST, T0)


def test_completion_lists_every_service_and_every_staff_member_once_host_first():
    services = [
        ServiceDone("spa.massage", ANA, T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)),
        ServiceDone("spa.sauna", BO, T0 + timedelta(minutes=5), T0 + timedelta(minutes=25)),
        ServiceDone("spa.tea", HOST, T0 + timedelta(minutes=95), T0 + timedelta(minutes=100)),
        ServiceDone("spa.towel", ANA, T0 + timedelta(minutes=91), T0 + timedelta(minutes=92)),
    ]
    staff_ids, ordered = completion(VISIT, services)
    assert staff_ids == [HOST, BO, ANA]
    assert [s.service_code for s in ordered] == ["spa.sauna", "spa.massage", "spa.towel",
                                                 "spa.tea"]


def test_a_visit_without_services_reports_its_host():
    assert completion(VISIT, []) == ([HOST], [])


@pytest.mark.parametrize(("start", "end", "words"), [
    (T0 + timedelta(minutes=30), T0 + timedelta(minutes=10), "before or when it starts"),
    (T0 + timedelta(minutes=30), T0 + timedelta(minutes=30), "before or when it starts"),
    (T0 - timedelta(hours=1), T0 + timedelta(minutes=10), "before the customer checked in"),
    (T0 + timedelta(minutes=30), T0 + timedelta(hours=3), "in the future"),
])
def test_service_times_must_make_sense(start, end, words):
    with pytest.raises(Invalid, match=words):
        ensure_service_times(VISIT, start, end, now=T0 + timedelta(hours=1))


def test_service_times_allow_a_little_clock_skew():
    # Two minutes before the check-in and three after "now": the desk's and the tablet's
    # clocks differ that much, and the record stands ...
    ensure_service_times(VISIT, T0 - timedelta(minutes=2), T0 + timedelta(minutes=63),
                         now=T0 + timedelta(hours=1))
    # ... but not ten: that is a service given before the customer came, or not yet given.
    with pytest.raises(Invalid, match="before the customer checked in"):
        ensure_service_times(VISIT, T0 - timedelta(minutes=10), T0 + timedelta(minutes=30),
                             now=T0 + timedelta(hours=1))
    with pytest.raises(Invalid, match="in the future"):
        ensure_service_times(VISIT, T0, T0 + timedelta(minutes=70),
                             now=T0 + timedelta(hours=1))


def test_a_completed_visit_takes_no_more_services():
    with pytest.raises(VisitAlreadyCompleted, match="cannot record"):
        ensure_in_progress(Visit(**{**VISIT.__dict__, "completed_at": T0}), "record a service")


def test_guests_go_only_to_an_open_place_with_room():
    ensure_room("Garden", True, None, 40, 5)
    ensure_room("Suite 1", True, 4, 2, 2)
    with pytest.raises(LocationFull, match="holds 4 and has 3 guests"):
        ensure_room("Suite 1", True, 4, 3, 2)
    with pytest.raises(LocationClosed, match="is closed"):
        ensure_room("Suite 1", False, 4, 0, 1)
