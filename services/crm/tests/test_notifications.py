"""Notifications over the real SMTP server (Mailpit), Kafka and PostgreSQL: what a customer or
a staff member finds in their inbox after the events that call for it. The sender runs as the
service's job, driven by the time the test gives it (`runtime.run_job(NOTIFICATIONS, now)`),
never by sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import icalendar
import pytest
from club_contracts import (
    BookingCancelled,
    BookingCreated,
    BookingRescheduled,
    DisciplineOpened,
    ShiftChanged,
    StaffHired,
    TrainingAssigned,
)
from club_platform.auth import Role
from club_platform.envelope import envelope_for
from club_platform.testing import client, wait_for
from club_platform.testing.mailpit import unique_address

from club_crm.jobs import COMPLAINT_SLA, NOTIFICATIONS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _day(days: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the club's zone, `days` from today."""
    today = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return datetime(today.year, today.month, today.day, hour, minute, tzinfo=SHANGHAI)


async def _publish(publisher, event, at: datetime):
    """Publish as the producing service would at `at` (its clock stamps the envelope)."""
    return await publisher.publish(event, envelope=envelope_for(event, time=at))


async def _log(crm, **params) -> list[dict]:
    async with crm.as_(Role.HEAD) as http:
        response = await http.get("/notifications", params={k: str(v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    return response.json()


async def _logged(crm, recipient_id: UUID, kind: str, count: int = 1) -> list[dict]:
    """The log rows of `kind` for the recipient, once the consumer has written `count`."""
    async def found():
        rows = await _log(crm, recipient_id=recipient_id, kind=kind)
        return rows if len(rows) >= count else None
    return await wait_for(found, what=f"{count} {kind} for {recipient_id}")


async def _inbox(mailpit, runtime, address: str, count: int, now: datetime) -> list:
    """Run the sender at `now` until `count` messages reached `address`; the parsed messages,
    oldest first."""
    async def arrived():
        await runtime.run_job(NOTIFICATIONS, now)
        found = await mailpit.messages_to(address)
        return found if len(found) >= count else None
    found = await wait_for(arrived, what=f"{count} messages to {address}")
    return [await mailpit.raw(m["ID"]) for m in reversed(found)]


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _calendar(message) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def _booking(customer_id: UUID, starts_at: datetime, created_at: datetime,
             hours: float = 1) -> BookingCreated:
    return BookingCreated(
        booking_id=uuid4(), customer_id=customer_id, resource_id=uuid4(),
        service_code="massage", channel="online", starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours), party_size=1, created_by=customer_id,
        created_at=created_at)


async def test_a_booking_made_moved_and_cancelled_sends_three_messages_with_calendars(
        crm, runtime, mailpit, event_publisher):
    address = unique_address()
    customer_id = await crm.register(full_name="Zhou Min", email=address,
                                     preferences={"language": "zh"})
    now = _day(3, 10)
    made = _booking(customer_id, _day(6, 15), now)
    await _publish(event_publisher, made, now)
    await _logged(crm, customer_id, "booking_confirmed")
    moved = BookingRescheduled(
        booking_id=made.booking_id, customer_id=customer_id, resource_id=made.resource_id,
        previous_starts_at=made.starts_at, previous_ends_at=made.ends_at,
        starts_at=_day(7, 18, 30), ends_at=_day(7, 19, 30), rescheduled_by=customer_id,
        rescheduled_at=now)
    await _publish(event_publisher, moved, now + timedelta(minutes=5))
    await _logged(crm, customer_id, "booking_moved")
    await _publish(event_publisher, BookingCancelled(
        booking_id=made.booking_id, customer_id=customer_id, reason="plans changed",
        late=False, cancelled_by=customer_id, cancelled_at=now + timedelta(minutes=10)),
        now + timedelta(minutes=10))
    await _logged(crm, customer_id, "booking_cancelled")

    confirmed, rescheduled, cancelled = await _inbox(mailpit, runtime, address, 3,
                                                     now + timedelta(minutes=11))
    # In the customer's language, with the club's name and its local times.
    assert confirmed["Subject"] == "Harbour Club：预约已确认 " + made.starts_at.strftime(
        "%Y年%m月%d日 15:00")
    assert "预约已改期" in rescheduled["Subject"] and "18:30" in _text(rescheduled)
    assert "预约已取消" in cancelled["Subject"]
    assert "Asia/Shanghai" in _text(confirmed) and "Harbour Club" in _text(confirmed)
    assert "Zhou Min" not in _text(confirmed) + _text(rescheduled) + _text(cancelled)
    # One calendar entry, updated, then cancelled: what a calendar program reads.
    calendars = [_calendar(m) for m in (confirmed, rescheduled, cancelled)]
    events = [c.walk("VEVENT")[0] for c in calendars]
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    assert len({str(e["UID"]) for e in events}) == 1
    assert events[0].decoded("DTSTART") == made.starts_at
    assert events[0].decoded("DTEND") == made.ends_at
    assert events[1].decoded("DTSTART") == moved.starts_at
    assert [int(e["SEQUENCE"]) for e in events] == sorted({int(e["SEQUENCE"]) for e in events})
    assert str(events[2]["STATUS"]) == "CANCELLED"
    # The cancelled booking's reminders are withdrawn: none arrives later.
    await runtime.run_job(NOTIFICATIONS, _day(8, 12))
    assert len(await mailpit.messages_to(address)) == 3
    reminders = await _log(crm, recipient_id=customer_id, kind="booking_reminder")
    assert reminders and {r["state"] for r in reminders} == {"withdrawn"}


async def test_reminders_go_at_their_time_and_not_in_quiet_hours(crm, runtime, mailpit,
                                                                 event_publisher):
    address = unique_address()
    customer_id = await crm.register(full_name="Amy Lee", email=address,
                                     preferences={"language": "en"})
    booked_at = _day(10, 12)
    booking = _booking(customer_id, _day(12, 9), booked_at)   # 09:00, two days later
    await _publish(event_publisher, booking, booked_at)
    await _logged(crm, customer_id, "booking_reminder", count=2)
    [confirmed] = await _inbox(mailpit, runtime, address, 1, booked_at)
    assert confirmed["Subject"].startswith("Harbour Club: booking confirmed")

    async def reminders_at(moment: datetime) -> int:
        await runtime.run_job(NOTIFICATIONS, moment)
        return len([m for m in await mailpit.messages_to(address)
                    if "reminder" in m["Subject"]])

    # 24 h before: the day before at 09:00.
    assert await reminders_at(_day(11, 8, 59)) == 0
    assert await reminders_at(_day(11, 9)) == 1
    # 2 h before is 07:00, inside the quiet hours (22:00–08:00): it waits until 08:00.
    assert await reminders_at(_day(12, 7)) == 1
    assert await reminders_at(_day(12, 7, 59)) == 1
    assert await reminders_at(_day(12, 8)) == 2
    assert await reminders_at(_day(12, 8, 30)) == 2   # and only once
    messages = await _inbox(mailpit, runtime, address, 3, _day(12, 8, 30))
    reminder = messages[-1]
    assert "starts at" in _text(reminder) and "09:00" in _text(reminder)
    # Non-essential: it carries the way out.
    assert "/notifications/unsubscribe/" in _text(reminder)
    assert reminder["List-Unsubscribe"]
    sent = await _log(crm, recipient_id=customer_id, kind="booking_reminder")
    assert sorted(datetime.fromisoformat(r["due_at"]) for r in sent) == [_day(11, 9),
                                                                          _day(12, 8)]
    assert {r["state"] for r in sent} == {"sent"}


async def test_an_unsubscribed_customer_gets_no_reminders_but_still_confirmations(
        crm, crm_url, runtime, mailpit, event_publisher):
    address = unique_address()
    customer_id = await crm.register(full_name="Bo Chen", email=address,
                                     preferences={"language": "en"})
    first_at = _day(20, 12)
    await _publish(event_publisher, _booking(customer_id, _day(21, 15), first_at), first_at)
    await _logged(crm, customer_id, "booking_reminder", count=2)
    _confirmed, reminder = await _inbox(mailpit, runtime, address, 2, _day(20, 15))
    link = next(line for line in _text(reminder).splitlines() if "/unsubscribe/" in line)
    path = urlsplit(link.split("Unsubscribe: ", 1)[1]).path
    async with client(crm_url) as anyone:      # the link needs no sign-in
        page = await anyone.get(path)
        done = await anyone.post(path)
        forged = await anyone.post(path[:-3] + "AAA")
    assert page.status_code == 200 and page.json()["unsubscribed"] is False
    assert done.status_code == 200 and done.json() == {"unsubscribed": True}
    assert forged.status_code == 404

    second_at = _day(20, 16)
    await _publish(event_publisher, _booking(customer_id, _day(22, 15), second_at), second_at)
    await _logged(crm, customer_id, "booking_confirmed", count=2)
    await _inbox(mailpit, runtime, address, 3, second_at)         # the new confirmation
    # Each reminder's time comes, before its booking begins: none is sent.
    for moment in (_day(21, 14), _day(21, 15), _day(22, 14)):
        await runtime.run_job(NOTIFICATIONS, moment)
    subjects = [m["Subject"] for m in await mailpit.messages_to(address)]
    assert len(subjects) == 3 and sum("reminder" in s for s in subjects) == 1
    withheld = [r for r in await _log(crm, recipient_id=customer_id, kind="booking_reminder")
                if r["state"] == "suppressed"]
    assert len(withheld) == 3    # the first booking's 2 h one and both of the second's
    assert all("unsubscribed" in r["last_error"] for r in withheld)


async def test_a_completed_visit_sends_one_survey_invitation_that_opens_the_survey(
        crm, crm_url, runtime, mailpit, event_publisher):
    address = unique_address()
    customer_id = await crm.register(full_name="Hu Jing", email=address,
                                     preferences={"language": "en"})
    visit = await crm.complete_visit(customer_id)
    await crm.wait_for_visit(visit.visit_id)
    await event_publisher.publish(visit)    # the same visit again, under a new event id
    await _logged(crm, customer_id, "followup_scheduled")
    now = crm.clock.now() + timedelta(minutes=1)
    messages = await _inbox(mailpit, runtime, address, 2, now)
    await runtime.run_job(NOTIFICATIONS, now)
    [survey] = [m for m in messages if "how was your visit" in m["Subject"]]
    assert len(await mailpit.messages_to(address)) == 2   # the survey once, the call notice
    link = next(w for w in _text(survey).split() if "/surveys/respond/" in w)
    async with client(crm_url) as anyone:
        form = await anyone.get(urlsplit(link).path)
    assert form.status_code == 200, form.text
    assert datetime.fromisoformat(form.json()["visit_completed_at"]) == visit.completed_at
    assert form.json()["status"] == "pending"


async def _hire(crm, role: str, address: str, language: str = "en") -> UUID:
    staff_id = uuid4()
    await crm.publisher.publish(StaffHired(
        staff_id=staff_id, display_name=f"{role} {str(staff_id)[:4]}", role=role,
        department="service", hired_at=crm.clock.now() - timedelta(days=30)))
    async with crm.as_(Role.HR_ADMIN) as http:
        response = await http.put(f"/notifications/staff/{staff_id}/contact",
                                  json={"email": address, "language": language})
    assert response.status_code == 200, response.text
    return staff_id


async def _open_complaint(crm, customer_id: UUID, severity: str = "medium") -> str:
    async with crm.as_(Role.ATTENDANT) as http:
        response = await http.post("/complaints", json={
            "customer_id": str(customer_id), "category": "service", "severity": severity,
            "channel": "in_person", "description": "Nobody brought the towels.",
            "subject_staff_ids": []})
    assert response.status_code == 201, response.text
    return response.json()["complaint_id"]


async def test_an_upheld_complaint_is_acknowledged_then_answered_with_compensation(
        crm, runtime, mailpit):
    address = unique_address()
    customer_id = await crm.register(full_name="Ma Li", email=address,
                                     preferences={"language": "en"})
    complaint_id = await _open_complaint(crm, customer_id)
    async with crm.as_(Role.HEAD) as http:
        assert (await http.post(f"/complaints/{complaint_id}/acknowledge")).status_code == 200
        resolved = await http.post(f"/complaints/{complaint_id}/resolve", json={
            "explanation": "The towels were 40 minutes late; we have retrained the team.",
            "compensation": {"kind": "voucher", "amount": "50.00"}, "upheld": True})
    assert resolved.status_code == 200, resolved.text
    await _logged(crm, customer_id, "complaint_resolved")
    messages = await _inbox(mailpit, runtime, address, 2,
                            crm.clock.now() + timedelta(minutes=1))
    # Two events on two topics: they may be handled, and so sent, in either order.
    [acknowledged] = [m for m in messages if "received" in m["Subject"]]
    [answered] = [m for m in messages if "answer to" in m["Subject"]]
    assert "received your complaint" in acknowledged["Subject"]
    assert complaint_id[:8] in _text(acknowledged)
    body = _text(answered)
    assert "answer to your complaint" in answered["Subject"]
    assert "we found you were right" in body
    assert "The towels were 40 minutes late; we have retrained the team." in body
    assert "a voucher 50.00 CNY" in body
    assert "unsubscribe" not in body.lower()     # essential: no way out offered, none needed


async def test_an_escalation_alerts_the_person_it_is_escalated_to(crm, runtime, mailpit, sql):
    deputy_address, head_address = unique_address("deputy"), unique_address("head")
    deputy = await _hire(crm, "deputy", deputy_address, language="zh-CN")
    head = await _hire(crm, "head", head_address)
    await crm.staff_known(sql, deputy, "active")
    await crm.staff_known(sql, head, "active")
    customer_id = await crm.register(full_name="Song Hui", email=unique_address())
    complaint_id = await _open_complaint(crm, customer_id)     # first answer due in 4 h
    start = crm.clock.now()
    await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=5))
    # The SLA job escalates every breached complaint in the service (other tests' too), and
    # every active deputy hears of each: look at this complaint's alerts.
    ref = complaint_id[:8]

    async def alerts(address: str) -> list[dict]:
        await runtime.run_job(NOTIFICATIONS, start + timedelta(hours=5))
        return [m for m in await mailpit.messages_to(address) if ref in m["Subject"]]

    [alert] = await wait_for(lambda: alerts(deputy_address), what="the deputy's alert")
    assert alert["Subject"] == f"Harbour Club：投诉 {ref} 已升级至您"
    assert "第 1 级" in _text(await mailpit.raw(alert["ID"]))
    assert await alerts(deputy_address) == [alert]             # once
    assert await alerts(head_address) == []                    # not the head's yet


async def test_a_case_a_training_and_a_rota_change_reach_the_staff_member_once_each(
        crm, runtime, mailpit, event_publisher):
    """HR's discipline.opened (R1 §7.2), training.assigned (R2 §4.2) and shift.changed, each
    delivered twice as Kafka may: one message apiece, in the staff member's language, times in
    the club's zone."""
    address = unique_address("rota")
    staff_id = await _hire(crm, "attendant", address, language="zh-CN")
    now = _day(50, 10)
    case_id, session_id, shift_id = uuid4(), uuid4(), uuid4()
    events = [
        DisciplineOpened(case_id=case_id, staff_id=staff_id, rule_ref="R2 §6.1",
                         violation="late_arrival", origin="attendance",
                         occurred_at=_day(49, 9, 30), opened_at=now),
        TrainingAssigned(session_id=session_id, staff_id=staff_id, clause="R2 §4.2",
                         starts_at=_day(53, 14), ends_at=_day(53, 16), assigned_at=now),
        ShiftChanged(shift_id=shift_id, staff_id=staff_id, change="cancelled",
                     starts_at=_day(52, 8), ends_at=_day(52, 16), changed_by=uuid4(),
                     changed_at=now),
    ]
    for event in events:
        envelope = await _publish(event_publisher, event, now)
        await event_publisher.publish(event, envelope=envelope)        # redelivered
    for kind in ("discipline_opened", "training_assigned", "shift_changed"):
        [row] = await _logged(crm, staff_id, kind)
        assert row["audience"] == "staff" and row["essential"]
    messages = await _inbox(mailpit, runtime, address, 3, now + timedelta(minutes=1))
    by_subject = {m["Subject"]: _text(m) for m in messages}
    assert len(by_subject) == 3
    case = by_subject["Harbour Club：您有一项纪律案件已立案"]
    assert f"就您 {_day(49, 9, 30):%Y年%m月%d日 %H:%M} 的“迟到”一事（依据 R2 §6.1）" in case
    assert str(case_id)[:8] in case and "尚未作出处理决定" in case
    training = by_subject[f"Harbour Club：培训通知 {_day(53, 14):%Y年%m月%d日 %H:%M}"]
    assert f"{_day(53, 16):%Y年%m月%d日 %H:%M}（Asia/Shanghai）" in training
    assert str(session_id)[:8] in training
    shift = by_subject[f"Harbour Club：排班变更 {_day(52, 8):%Y年%m月%d日 %H:%M}"]
    assert "的班次已取消" in shift and str(shift_id)[:8] in shift
    assert all("退订" not in text for text in by_subject.values())     # essential
    # Once each: the redeliveries wrote nothing, and a later run sends nothing more.
    await runtime.run_job(NOTIFICATIONS, now + timedelta(hours=1))
    assert len(await mailpit.messages_to(address)) == 3


@pytest.mark.mailpit_outage
async def test_messages_during_an_smtp_outage_all_arrive_once_it_returns(
        crm, runtime, mailpit, event_publisher):
    people = [(unique_address("burst"), None) for _ in range(6)]
    people = [(address, await crm.register(full_name="Burst Member", email=address,
                                           preferences={"language": "en"}))
              for address, _ in people]
    now = _day(30, 11)
    mailpit.stop()
    try:
        for _address, customer_id in people:       # 6 customers × 3 bookings = 18 messages
            for hours in (2, 3, 4):
                await _publish(event_publisher, _booking(customer_id, _day(31, 10 + hours),
                                                         now), now)
        for _, customer_id in people:
            await _logged(crm, customer_id, "booking_confirmed", count=3)
        for minutes in range(0, 4):
            await runtime.run_job(NOTIFICATIONS, now + timedelta(minutes=minutes))
        waiting = [r for _, c in people for r in await _log(
            crm, recipient_id=c, kind="booking_confirmed")]
        assert {r["state"] for r in waiting} == {"pending"}
        tried = [r for r in waiting if r["attempts"]]
        assert tried and all("unreachable" in r["last_error"] for r in tried)
    finally:
        mailpit.start()
    later = now + timedelta(hours=1)    # past every back-off
    for address, _ in people:
        await _inbox(mailpit, runtime, address, 3, later)
    await runtime.run_job(NOTIFICATIONS, later + timedelta(hours=1))
    for address, customer_id in people:
        confirmations = [m for m in await mailpit.messages_to(address)
                         if "booking confirmed" in m["Subject"]]
        assert len(confirmations) == 3, address          # every one, exactly once
        logged = await _log(crm, recipient_id=customer_id, kind="booking_confirmed")
        assert {r["state"] for r in logged} == {"sent"}


async def test_an_erased_customer_gets_nothing_and_the_log_keeps_no_address(
        crm, runtime, mailpit, event_publisher, sql):
    address = unique_address("erased")
    customer_id = await crm.register(full_name="Gu Yan", email=address,
                                     preferences={"language": "en"})
    now = _day(40, 11)
    await _publish(event_publisher, _booking(customer_id, _day(42, 15), now), now)
    await _logged(crm, customer_id, "booking_confirmed")
    await _inbox(mailpit, runtime, address, 1, now)
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        assert (await http.post(f"/customers/{customer_id}/erase")).status_code == 200
    later = now + timedelta(hours=1)
    await _publish(event_publisher, _booking(customer_id, _day(43, 15), later), later)
    await _logged(crm, customer_id, "booking_confirmed", count=2)
    await runtime.run_job(NOTIFICATIONS, _day(44, 12))
    assert len(await mailpit.messages_to(address)) == 1      # only the one before erasure
    rows = await _log(crm, recipient_id=customer_id)
    assert {r["state"] for r in rows if r["state"] != "sent"} == {"suppressed"}
    assert all("erased" in r["last_error"] for r in rows if r["state"] == "suppressed")
    stored = await sql.fetch("SELECT n::text AS row FROM notifications n "
                             "WHERE recipient_id = $1", customer_id)
    assert stored and not any(address in r["row"] or "Gu Yan" in r["row"] for r in stored)


async def test_a_bounce_marks_the_address_undeliverable(crm, runtime, mailpit,
                                                        event_publisher):
    address = unique_address("bounce")
    customer_id = await crm.register(full_name="Xu Tao", email=address,
                                     preferences={"language": "en"})
    now = _day(50, 11)
    first = _booking(customer_id, _day(52, 15), now)
    await _publish(event_publisher, first, now)
    [row] = await _logged(crm, customer_id, "booking_confirmed")
    await _inbox(mailpit, runtime, address, 1, now)
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        bounced = await http.post(f"/notifications/{row['notification_id']}/bounce",
                                  json={"reason": "550 mailbox unavailable"})
        unknown = await http.post(f"/notifications/{uuid4()}/bounce", json={"reason": "x"})
    assert bounced.status_code == 200 and bounced.json()["state"] == "bounced"
    assert unknown.status_code == 404
    await _publish(event_publisher, _booking(customer_id, _day(53, 15), now), now)
    await _logged(crm, customer_id, "booking_confirmed", count=2)
    await runtime.run_job(NOTIFICATIONS, now + timedelta(minutes=1))
    assert len(await mailpit.messages_to(address)) == 1
    states = sorted(r["state"] for r in await _log(crm, recipient_id=customer_id,
                                                   kind="booking_confirmed"))
    assert states == ["bounced", "suppressed"]


async def test_a_reminder_the_sender_reaches_after_the_booking_began_is_not_sent(
        crm, runtime, mailpit, event_publisher):
    address = unique_address("late")
    customer_id = await crm.register(full_name="Lu Wen", email=address,
                                     preferences={"language": "en"})
    booked_at = _day(60, 12)
    await _publish(event_publisher, _booking(customer_id, _day(61, 15), booked_at), booked_at)
    await _logged(crm, customer_id, "booking_reminder", count=2)
    await _inbox(mailpit, runtime, address, 1, booked_at)      # the confirmation
    # The sender was down through both reminders' times and the booking's start.
    await runtime.run_job(NOTIFICATIONS, _day(61, 15, 5))
    assert len(await mailpit.messages_to(address)) == 1
    reminders = await _log(crm, recipient_id=customer_id, kind="booking_reminder")
    assert [r["state"] for r in reminders] == ["withdrawn", "withdrawn"]
    assert all("had begun" in r["last_error"] for r in reminders)


async def test_a_customer_not_known_yet_waits_without_holding_up_the_others(
        crm, runtime, mailpit, event_publisher):
    stranger = uuid4()       # booked before CRM has their record (events cross on the bus)
    address = unique_address("known")
    known = await crm.register(full_name="Qin Na", email=address, preferences={"language": "en"})
    now = _day(70, 11)
    await _publish(event_publisher, _booking(stranger, _day(72, 15), now - timedelta(hours=1)),
                   now - timedelta(hours=1))
    await _publish(event_publisher, _booking(known, _day(72, 16), now), now)
    await _logged(crm, stranger, "booking_confirmed")
    await _logged(crm, known, "booking_confirmed")
    await runtime.run_job(NOTIFICATIONS, now)     # one run: the stranger's first in line
    assert len(await mailpit.messages_to(address)) == 1
    [waiting] = await _log(crm, recipient_id=stranger, kind="booking_confirmed")
    assert waiting["state"] == "pending" and "not known" in waiting["last_error"]
