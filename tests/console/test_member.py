"""The members' pages and the staff's bookings through the console (R1 §3.1, R2 §3.5): a
member books online in Chinese from the free slots, is received at the desk, and answers the
survey CRM sends for the visit on the console's public form; the staff's day grid shows a
booking and a phone booking into a taken slot gets the booking service's explanation; a
member choosing a slot someone else has just taken is told why."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest
from club_platform.testing import wait_for

from tests.browser import offline_context, screenshot
from tests.e2e.support import CLUB_ZONE, now

pytestmark = pytest.mark.slow
PATIENCE = 60


def club_day(offset: int = 0) -> date:
    return (now().astimezone(CLUB_ZONE) + timedelta(days=offset)).date()


def slot_start(value: str) -> datetime:
    """A slot's value (an option of the free times) is `resource_id|starts_at`."""
    return datetime.fromisoformat(value.split("|", 1)[1].replace("Z", "+00:00"))


async def _show_slots(page, club, day: date) -> list[str]:
    """The booking page for the massage on that day; the free slots' radio values."""
    await page.goto(f"{club.url}/member/book")
    query = page.get_by_role("form", name="选择服务项目和日期")
    await query.get_by_label("服务项目").select_option(club.service_codes["massage"])
    await query.get_by_label("日期").fill(day.isoformat())
    await query.get_by_role("button", name="查看空闲时段").click()
    await page.get_by_role("heading", name="的空闲时段").wait_for()
    return await page.locator("select[name=slot] option").evaluate_all(
        "options => options.map(o => o.value).filter(v => v)")


async def _arrival_expected(club, booking_id: str) -> None:
    async def expected() -> bool:
        async with club.api("reception", "attendant") as reception:
            answer = await reception.get(f"/arrivals/{booking_id}")
            return answer.status_code == 200 and answer.json()["status"] == "expected"

    await wait_for(expected, timeout=PATIENCE, interval=0.3,
                   what="reception expecting the booking")


async def test_a_member_books_online_visits_and_answers_the_survey(club_console, browser):
    club = club_console
    page = await club.sign_in(browser, "member", locale="zh-CN")
    assert page.url.rstrip("/").endswith("/member"), page.url

    # The earliest free slot (online bookings need notice; check-in opens two hours before).
    values = await _show_slots(page, club, club_day())
    if not values:  # late in the club's evening: the first slots after midnight
        values = await _show_slots(page, club, club_day(1))
    assert values, "no free slot for the massage"
    chosen = min(values, key=slot_start)
    assert slot_start(chosen) - now() < timedelta(minutes=120)
    await page.get_by_label("空闲时段", exact=True).select_option(chosen)
    await screenshot(page, "member-book")
    await page.get_by_role("button", name="预约此时段").click()
    await page.wait_for_url("**/member")
    await page.get_by_text("预约成功,可在“我的预约”中查看。").wait_for()
    async with club.api("booking", "head") as booking:
        theirs = (await booking.get("/bookings", params={
            "customer_id": str(club.member_id), "status": "booked"})).json()
    held = [b for b in theirs if datetime.fromisoformat(b["starts_at"]) == slot_start(chosen)
            and b["resource_id"] == chosen.split("|", 1)[0]]
    assert len(held) == 1, theirs
    assert held[0]["channel"] == "online"
    assert held[0]["service_code"] == club.service_codes["massage"]
    booking_id = held[0]["id"]
    row = page.locator(f"tr.booking[data-booking='{booking_id}']")
    assert "Deep tissue massage" in await row.inner_text()
    assert "已预约" in await row.inner_text()

    # Received at the desk (through the API, as the attendant): a service, then completed.
    await _arrival_expected(club, booking_id)
    async with club.api("reception", "attendant") as reception:
        answer = await reception.post("/visits/check-in", json={
            "booking_id": booking_id, "location_id": club.location_id,
            "host_staff_id": str(club.staff["attendant"])})
        assert answer.status_code == 201, answer.text
        visit_id = answer.json()["visit_id"]
        moment = now()
        answer = await reception.post(f"/visits/{visit_id}/services", json={
            "service_code": club.service_codes["massage"],
            "staff_id": str(club.staff["attendant"]),
            "started_at": (moment - timedelta(minutes=1)).isoformat(),
            "ended_at": moment.isoformat()})
        assert answer.status_code == 201, answer.text
        answer = await reception.post(f"/visits/{visit_id}/complete")
        assert answer.status_code == 200, answer.text

    # The member sees the visit among theirs.
    await page.goto(f"{club.url}/member")
    await page.locator(f"tr.visit[data-visit='{visit_id}']").wait_for()

    # CRM invites to the survey once the visit is completed (visit.completed).
    async def invitation() -> dict | None:
        async with club.api("crm", "specialist") as crm:
            answer = await crm.get("/surveys/invitations", params={"visit_id": visit_id})
            assert answer.status_code == 200, answer.text
            found = answer.json()
        return found[0] if found and found[0]["token"] else None

    invited = await wait_for(invitation, timeout=PATIENCE, interval=0.5,
                             what="CRM's survey invitation for the visit")
    token = invited["token"]

    # The member, not signed in, answers on the console's form.
    context = await offline_context(browser, locale="zh-CN")
    survey = await context.new_page()
    await survey.goto(f"{club.url}/survey/{token}")
    await survey.get_by_role("heading", name="您这次到店体验如何?").wait_for()
    assert await survey.get_by_role("link", name="登录").count() == 1  # nobody signed in
    await survey.get_by_label("5 — 非常满意").check()
    await survey.get_by_label("您向朋友推荐本会所的可能性有多大").select_option("9")
    await survey.get_by_label("您想告诉我们的话").fill("按摩很好")
    await survey.get_by_role("button", name="提交我的回答").click()
    await survey.get_by_role("heading", name="感谢您的回答").wait_for()
    assert context.blocked == []

    async with club.api("crm", "specialist") as crm:
        answered = (await crm.get("/surveys/invitations",
                                  params={"visit_id": visit_id})).json()[0]
        report = (await crm.get("/surveys/report", params={"by": "service"})).json()
    assert answered["status"] == "answered" and answered["responded_at"]
    massage = [r for r in report["rows"] if r["key"] == club.service_codes["massage"]]
    assert massage and massage[0]["responses"] >= 1, report

    # The link is used: opening it again says so, plainly.
    await survey.goto(f"{club.url}/survey/{token}")
    await survey.get_by_role("heading", name="此问卷已填写").wait_for()
    await survey.goto(f"{club.url}/survey/not-a-token")
    await survey.get_by_role("heading", name="此问卷链接无效").wait_for()
    await context.close()
    await page.context.close()


async def test_the_day_grid_shows_a_booking_and_a_taken_slot_is_explained(club_console,
                                                                          browser):
    club = club_console
    day = club_day(2)
    starts = datetime.combine(day, datetime.min.time(), CLUB_ZONE).replace(hour=10)
    async with club.api("booking", "head") as booking:
        answer = await booking.post("/bookings", json={
            "resource_id": club.rooms[1], "service_code": club.service_codes["massage"],
            "starts_at": starts.isoformat(), "customer_id": str(club.member_id),
            "offline_channel": "phone"})
        assert answer.status_code == 201, answer.text
        booking_id = answer.json()["id"]

    page = await club.sign_in(browser, "attendant", locale="zh-CN")
    await page.goto(f"{club.url}/bookings?date={day.isoformat()}")
    cell = page.locator(f"table.day-grid [data-booking='{booking_id}']")
    await cell.wait_for()
    assert "Deep tissue massage" in await cell.inner_text()
    assert "已预约" in await cell.inner_text()
    await screenshot(page, "bookings-day")

    # A phone booking into the same time of the same room: the booking service's reason.
    form = page.get_by_role("form", name="为客户预约")
    await form.get_by_label("客户编号").fill(str(club.member_id))
    await form.get_by_label("服务项目").select_option(club.service_codes["tea"])
    await form.get_by_label("房间").select_option(club.rooms[1])
    await form.get_by_label("日期").fill(day.isoformat())
    await form.get_by_label("时间").fill("10:30")
    await form.get_by_role("button", name="确认预约").click()
    alert = page.get_by_role("form", name="为客户预约").locator(".error.box")
    await alert.wait_for()
    assert "already booked" in await alert.inner_text()

    # The week's counts hold it too.
    await page.goto(f"{club.url}/bookings?date={day.isoformat()}&view=week")
    week_row = page.locator("table.week-grid tbody tr").filter(
        has=page.locator(f"a[href='/bookings?date={day.isoformat()}']"))
    assert int(await week_row.locator("td").last.inner_text()) >= 1

    # The booking's page: moved an hour later by the desk.
    await page.goto(f"{club.url}/bookings/{booking_id}")
    move = page.get_by_role("form", name="改期")
    await move.get_by_label("时间").fill("11:00")
    await move.get_by_role("button", name="改期").click()
    await page.get_by_text("预约已改期。").wait_for()
    async with club.api("booking", "attendant") as booking:
        held = (await booking.get(f"/bookings/{booking_id}")).json()
    assert datetime.fromisoformat(held["starts_at"]) == starts + timedelta(hours=1)
    await page.context.close()


async def test_a_member_choosing_a_slot_just_taken_is_told_why(club_console, browser):
    club = club_console
    page = await club.sign_in(browser, "member", locale="zh-CN")
    values = await _show_slots(page, club, club_day(3))
    mine = sorted((v for v in values if v.startswith(club.rooms[0] + "|")), key=slot_start)
    assert mine, values
    chosen = mine[len(mine) // 2]

    # Someone books that time by phone while the member is still choosing.
    async with club.api("booking", "attendant") as booking:
        answer = await booking.post("/bookings", json={
            "resource_id": club.rooms[0], "service_code": club.service_codes["massage"],
            "starts_at": chosen.split("|", 1)[1], "customer_id": str(uuid4()),
            "offline_channel": "phone"})
        assert answer.status_code == 201, answer.text

    await page.get_by_label("空闲时段", exact=True).select_option(chosen)
    await page.get_by_role("button", name="预约此时段").click()
    alert = page.locator(".error.box")
    await alert.wait_for()
    text = await alert.inner_text()
    assert "already booked" in text, text
    assert page.url.endswith("/member/book")
    async with club.api("booking", "head") as booking:
        theirs = (await booking.get("/bookings", params={
            "customer_id": str(club.member_id), "resource_id": club.rooms[0],
            "starts_from": chosen.split("|", 1)[1]})).json()
    assert not [b for b in theirs if b["status"] == "booked"
                and datetime.fromisoformat(b["starts_at"]) == slot_start(chosen)], theirs
    await page.context.close()
