"""Each service stopped and started again on its own in the middle of a journey, while the
others keep working: when it is back, it has caught up with everything the others published
meanwhile, and nothing is lost or counted twice. The counts asserted are exact, read from the
services' public APIs (and each restarted process's own /metrics, for what it consumed); the
bus is only watched, to be sure the events were published while the service was away.

SIGTERM is a deploy or a scale-down: the service finishes its batch, commits its offsets and
leaves its group, so after the restart nothing comes twice. The restarts use the same process
definition again (`ServiceProcess.start()`: the same database, consumer group and port, as a
redeployed pod would). SIGKILL is a crash: no goodbye, no offset commit; a replacement made
with `spawn(database_url=..., group=...)` gets the records again, and the inbox must turn away
the ones already handled."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from club_contracts import BookingCreated, VisitCheckedIn, VisitCompleted
from club_platform.auth import Role
from club_platform.testing import wait_for

from club_hr.handlers import consumer as hr_consumer

from .support import (
    PATIENCE,
    Club,
    consumed,
    during,
    end_offsets,
    fact_counts,
    move_group,
    now,
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
async def all_four_running(club: Club):
    """Whatever a test did, the next one finds the four services up."""
    yield
    await club.ensure_running()


async def _settle(fetch, done, what: str, timeout: float = PATIENCE):
    """Poll `fetch()` until `done(value)`, and return the last value either way, so a test can
    count what is missing or doubled before it asserts."""
    last = {}

    async def check() -> bool:
        last["value"] = await fetch()
        return bool(done(last["value"]))
    try:
        await wait_for(check, timeout=timeout, interval=0.3, what=what)
    except AssertionError:
        pass
    return last["value"]


def _lost_and_doubled(counts: dict, expected: dict) -> tuple[int, int]:
    lost = sum(1 for key in expected if counts.get(key, 0) == 0)
    doubled = sum(max(0, n - 1) for n in counts.values())
    return lost, doubled


async def test_reception_away_while_bookings_are_made_expects_them_all_on_return(
        club: Club, kafka_tap, fault_report):
    await club.caught_up("reception")
    await club.stop("reception")  # before any of these bookings exists
    async with kafka_tap("booking.created", "booking.rescheduled", "booking.cancelled",
                         "staff.hired") as tap:
        made = await club.desk_bookings(5)
        ids = [b["id"] for b in made]
        async with club.as_("booking", Role.ATTENDANT, club.staff.host) as desk:
            last = datetime.fromisoformat(made[-1]["starts_at"])
            later = (last + timedelta(minutes=15)).isoformat()
            moved = await desk.post(f"/bookings/{ids[3]}/reschedule", json={"starts_at": later})
            cancelled = await desk.post(f"/bookings/{ids[4]}/cancel",
                                        json={"reason": "customer_request"})
        assert moved.status_code == 200, moved.text
        assert cancelled.status_code == 200, cancelled.text
        async with club.as_("hr", Role.HR_ADMIN, club.staff.hr_admin) as hr:
            hired = await hr.post("/staff", json={"display_name": "Dee Newcomer",
                                                  "role": "attendant"})
        assert hired.status_code == 201, hired.text
        newcomer = hired.json()["staff_id"]
        await tap.wait_for(lambda s: isinstance(s.event, BookingCreated) and s.key in ids,
                           count=5, timeout=PATIENCE)
        await tap.wait_for(lambda s: s.record.topic != "booking.created" and s.key in ids,
                           count=2, timeout=PATIENCE)
        await tap.wait_for(lambda s: s.key == newcomer, timeout=PATIENCE)
    assert not club.processes["reception"].running()
    await club.start("reception")

    expected = {i: "expected" for i in ids[:4]} | {ids[4]: "cancelled"}

    async def arrivals() -> dict[str, list[dict]]:
        days = {datetime.fromisoformat(b["starts_at"]).date() for b in made}
        days.add(datetime.fromisoformat(later).date())
        found: dict[str, list[dict]] = {}
        for row in await club.arrivals_on(days):
            if row["booking_id"] in ids:
                found.setdefault(row["booking_id"], []).append(row)
        return found

    found = await _settle(arrivals, lambda f: {b: r[0]["status"] for b, r in f.items()}
                          == expected, "every booking expected at the desk after the restart")
    lost = sum(1 for b in ids if b not in found)
    doubled = sum(len(rows) - 1 for rows in found.values())
    fault_report("Reception away while bookings are made",
                 "5 desk bookings, 1 moved, 1 cancelled; 1 attendant hired",
                 "reception stopped (SIGTERM) before, started after", lost=lost,
                 duplicated=doubled, server_errors=0,
                 note="expected arrivals read from GET /arrivals")
    assert {b: [r["status"] for r in rows] for b, rows in found.items()} == {
        b: [s] for b, s in expected.items()}
    # the move, too
    assert datetime.fromisoformat(found[ids[3]][0]["starts_at"]) == datetime.fromisoformat(later)
    # What the restarted process read: each of those events once, nothing else (the
    # cancellation's v2, published beside v1, is another major: read and ignored).
    reception = club.processes["reception"]
    assert [await consumed(reception, t) for t in (
        "booking.created", "booking.rescheduled", "booking.cancelled", "staff.hired")] == [
        {"handled": 5}, {"handled": 1}, {"handled": 1, "ignored_type": 1}, {"handled": 1}]
    # The desk works on as before, and the newcomer HR hired meanwhile hosts the first guest.
    async with club.as_("reception", Role.HEAD) as http:
        directory = (await http.get(f"/staff/{newcomer}")).json()
    assert (directory["display_name"], directory["status"]) == ("Dee Newcomer", "active")
    visit = await club.check_in(ids[0], host=UUID(newcomer))
    assert (visit["booking_id"], visit["host_staff_id"]) == (ids[0], newcomer)
    assert await club.dead_letters() == {}


async def test_booking_away_while_customers_check_in_fulfils_them_all_on_return(
        club: Club, kafka_tap, fault_report):
    made = await club.desk_bookings(4)
    ids = [b["id"] for b in made]
    await club.wait_expected(ids)
    await club.caught_up("booking")
    await club.stop("booking")
    async with kafka_tap("visit.checked_in") as tap:
        visits = {(await club.check_in(booking_id))["visit_id"]: booking_id
                  for booking_id in ids}
        await tap.wait_for(lambda s: isinstance(s.event, VisitCheckedIn)
                           and s.key in visits, count=4, timeout=PATIENCE)
    await club.start("booking")

    async def bookings() -> dict[str, dict]:
        return {b: await club.booking(b) for b in ids}

    found = await _settle(bookings, lambda f: all(b["status"] == "fulfilled"
                                                  for b in f.values()),
                          "every booking fulfilled after the restart")
    lost = sum(1 for b in found.values() if b["status"] != "fulfilled")
    fault_report("Booking away while customers check in", "4 booked customers checked in",
                 "booking stopped (SIGTERM) before, started after", lost=lost, duplicated=0,
                 server_errors=0, note="bookings read from GET /bookings/{id}")
    assert {b: (v["status"], v["visit_id"]) for b, v in found.items()} == {
        b: ("fulfilled", v) for v, b in visits.items()}
    async with club.as_("booking", Role.HEAD) as http:
        listed = (await http.get("/bookings", params={"resource_id": made[0]["resource_id"]}
                                 )).json()
    assert sorted(b["id"] for b in listed) == sorted(ids)
    assert {b["status"] for b in listed} == {"fulfilled"}
    assert await consumed(club.processes["booking"], "visit.checked_in") == {"handled": 4}
    assert await club.dead_letters() == {}


async def test_crm_stopped_while_visits_complete_schedules_one_call_and_survey_each(
        club: Club, kafka_tap, fault_report):
    count = 6
    visits: list[str] = []

    async def guests() -> None:
        for _ in range(count):
            [visit] = await club.served_visits(1)
            visits.append(visit["visit_id"])

    async def crm_at_work() -> bool:
        return any([await club.followups(visit_id=v) for v in list(visits)[:1]])

    await club.caught_up("crm")
    async with kafka_tap("visit.completed") as tap:
        # CRM goes down (SIGTERM) once it has scheduled the first visit's call; the desk
        # keeps completing visits.
        await during(guests(), crm_at_work, lambda: club.stop("crm"))
        await tap.wait_for(lambda s: isinstance(s.event, VisitCompleted) and s.key in visits,
                           count=count, timeout=PATIENCE)
    await club.start("crm")

    async def scheduled() -> dict[str, tuple[list, list]]:
        return {v: (await club.followups(visit_id=v), await club.invitations(v))
                for v in visits}

    found = await _settle(scheduled, lambda f: all(calls and surveys
                                                   for calls, surveys in f.values()),
                          "a call and a survey for every visit after the restart")
    lost = sum(1 for calls, surveys in found.values() if not calls or not surveys)
    doubled = sum(max(0, len(c) - 1) + max(0, len(s) - 1) for c, s in found.values())
    after = await consumed(club.processes["crm"], "visit.completed")
    fault_report("CRM stopped while visits complete", f"{count} walk-ins served by two staff",
                 "crm stopped (SIGTERM) after the first visit, started after the last",
                 lost=lost, duplicated=doubled, server_errors=0,
                 note=f"calls and survey invitations, one of each per visit; "
                      f"{int(after.get('handled', 0))} visits left for the restarted process")
    for visit_id, (calls, surveys) in found.items():
        assert [(c["reason"], c["assigned_to"]) for c in calls] == [
            ("post_visit", str(club.staff.specialist))], visit_id
        assert [s["status"] for s in surveys] == ["pending"], visit_id
    # The stopped process committed what it had handled (the first visit at least): the
    # restarted one got only the rest, nothing twice.
    assert set(after) <= {"handled"} and after.get("handled", 0) <= count - 1, after
    assert await club.dead_letters() == {}


def _visit_and_survey_facts(club: Club, visits: list[str], responses: list[str]) -> dict:
    host, colleague = str(club.staff.host), str(club.staff.colleague)
    expected = {}
    for visit_id in visits:
        expected |= {("visit", None, visit_id): 1, ("visit_served", host, visit_id): 1,
                     ("visit_served", colleague, visit_id): 1}
    for response_id in responses:
        expected |= {("survey", None, response_id): 1,
                     ("survey_rating", host, response_id): 1,
                     ("survey_rating", colleague, response_id): 1}
    return expected


async def test_hr_stopped_while_visits_complete_and_surveys_come_counts_each_once(
        club: Club, kafka_tap, fault_report):
    since = now()
    count = 4
    visits: list[str] = []
    responses: list[str] = []

    hr_away = asyncio.Event()

    async def guests() -> None:
        for _ in range(count):
            [visit] = await club.served_visits(1)
            visits.append(visit["visit_id"])
        invitations = await club.wait_invitations(visits)
        await hr_away.wait()
        for n, visit_id in enumerate(visits):
            answer = await club.answer_survey(invitations[visit_id]["token"], csat=3 + n % 3)
            responses.append(answer["response_id"])

    async def hr_at_work() -> bool:
        return bool(fact_counts(await club.facts(since), visits))

    async def stop_hr() -> None:
        await club.stop("hr")
        hr_away.set()

    await club.caught_up("hr")
    async with kafka_tap("visit.completed", "survey.submitted") as tap:
        # HR goes down (SIGTERM) once it has counted the first visit; visits go on being
        # completed meanwhile, and every survey is answered once it is away.
        await during(guests(), hr_at_work, stop_hr)
        await tap.wait_for(lambda s: s.key in visits, count=count, timeout=PATIENCE)
        await tap.wait_for(lambda s: s.key in responses, count=count, timeout=PATIENCE)
    await club.start("hr")

    expected = _visit_and_survey_facts(club, visits, responses)
    facts = await _settle(lambda: club.facts(since),
                          lambda f: fact_counts(f, [*visits, *responses]) == expected,
                          "HR's facts of every visit and survey after the restart")
    counts = fact_counts(facts, [*visits, *responses])
    lost, doubled = _lost_and_doubled(counts, expected)
    hr = club.processes["hr"]
    after = {t: await consumed(hr, t) for t in ("visit.completed", "survey.submitted")}
    fault_report("HR stopped while visits complete and surveys come",
                 f"{count} visits by two staff, {count} surveys answered",
                 "hr stopped (SIGTERM) after the first visit, started after the last survey",
                 lost=lost, duplicated=doubled, server_errors=0,
                 note="KPI facts read from GET /kpi-facts")
    assert counts == expected
    ratings = {f["subject_id"]: f["value"] for f in facts if f["kind"] == "survey"}
    assert [ratings[r] for r in responses] == [3 + n % 3 for n in range(count)]
    # Every survey came while HR was away; the first visit (at least) was handled before the
    # stop and committed, so the restarted process got only the rest, nothing twice.
    assert after["survey.submitted"] == {"handled": count}, after
    assert set(after["visit.completed"]) <= {"handled"}, after
    assert after["visit.completed"].get("handled", 0) <= count - 1, after
    assert await club.dead_letters() == {}


async def test_hr_killed_mid_stream_counts_each_fact_once_after_redelivery(
        club: Club, spawn, kafka_connection, fault_report):
    """SIGKILL while HR consumes a stream of completed visits. A crash can come after HR's
    transaction committed and before the offset did, and then the records come again. To make
    that redelivery certain rather than lucky, the group's position is put back to where the
    stream began (what a kill before any offset commit leaves) before a replacement process
    takes over on the same database and group; the inbox must turn every repeat away."""
    hr = club.processes["hr"]
    since = now()
    await club.caught_up("hr")
    start = await end_offsets(kafka_connection, hr_consumer.topics)

    count = 10
    visits: list[str] = []
    host = str(club.staff.host)

    async def guests() -> None:
        for _ in range(count):  # guests who only asked something: host-only visits, quick
            visit = await club.walk_in()
            visits.append((await club.complete(visit["visit_id"]))["visit_id"])

    handled: set[str] = set()

    async def hr_at_work() -> bool:
        handled.update(f["subject_id"] for f in await club.facts(since)
                       if f["kind"] == "visit_served" and f["subject_id"] in visits)
        return bool(handled)

    async def crash() -> None:
        hr.kill()

    await during(guests(), hr_at_work, crash)

    replacement = await spawn("hr", database_url=hr.database_url, group=hr.group,
                              start=False, name="e2e-hr-replacement")
    # Kafka keeps the killed member until its session times out; move_group waits for that.
    await move_group(kafka_connection, hr.group, start)
    await replacement.start()
    club.processes["hr"] = replacement

    expected = {}
    for visit_id in visits:
        expected |= {("visit", None, visit_id): 1, ("visit_served", host, visit_id): 1}
    facts = await _settle(lambda: club.facts(since),
                          lambda f: fact_counts(f, visits) == expected,
                          "every visit's facts after the crash")
    counts = fact_counts(facts, visits)
    outcomes = await _settle(lambda: consumed(replacement, "visit.completed"),
                             lambda o: o.get("handled", 0) + o.get("duplicate", 0) >= count,
                             "the replacement reading the whole stream again")
    lost, doubled = _lost_and_doubled(counts, expected)
    fault_report("HR killed while consuming", f"{count} completed visits",
                 "hr SIGKILLed mid-stream; group put back to the stream's start; a "
                 "replacement on the same database and group", lost=lost, duplicated=doubled,
                 server_errors=0,
                 note=f"{len(handled)} seen handled before the kill; "
                      f"{int(outcomes.get('duplicate', 0))} redelivered records turned away "
                      "by the inbox")
    assert counts == expected
    # Every record of the stream came again to the replacement: the ones the killed process
    # had handled were turned away by the inbox, the rest handled once.
    assert set(outcomes) <= {"handled", "duplicate"}, outcomes
    assert outcomes.get("handled", 0) + outcomes.get("duplicate", 0) == count, outcomes
    assert outcomes.get("duplicate", 0) >= len(handled) >= 1, outcomes

    # The killed process held the lead of HR's outbox relay; the lock died with its
    # connection, so the replacement publishes: a hire reaches reception's directory.
    async with club.as_("hr", Role.HR_ADMIN, club.staff.hr_admin) as hr:
        hired = await hr.post("/staff", json={"display_name": "Eli Afterwards",
                                              "role": "attendant"})
    assert hired.status_code == 201, hired.text

    async def known_at_the_desk() -> bool:
        async with club.as_("reception", Role.HEAD) as http:
            answer = await http.get(f"/staff/{hired.json()['staff_id']}")
        return answer.status_code == 200 and answer.json()["status"] == "active"
    await wait_for(known_at_the_desk, timeout=PATIENCE, interval=0.3,
                   what="the replacement's relay publishing staff.hired")
    assert await club.dead_letters() == {}
