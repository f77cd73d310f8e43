"""The front desk's day through the console, in Chinese (R1 §3.2–3.4): an attendant checks in
a booked customer and a walk-in, records two services, completes the visit; the floor page,
open beside it, changes without a reload; HR's KPI facts for the visit appear."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from club_platform.testing import wait_for
from playwright.async_api import expect

from tests.browser import screenshot
from tests.e2e.support import CLUB_ZONE, now

pytestmark = pytest.mark.slow


async def _book_for_now(club) -> str:
    """A phone booking for the member, starting in five minutes (check-in is open)."""
    starts = (now() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    async with club.api("booking", "head") as booking:
        answer = await booking.post("/bookings", json={
            "resource_id": club.rooms[0], "service_code": club.service_codes["massage"],
            "starts_at": starts.isoformat(), "customer_id": str(club.member_id),
            "offline_channel": "phone"})
        assert answer.status_code == 201, answer.text
        booking_id = answer.json()["id"]

    async def expected() -> bool:
        async with club.api("reception", "attendant") as reception:
            answer = await reception.get(f"/arrivals/{booking_id}")
            return answer.status_code == 200 and answer.json()["status"] == "expected"

    await wait_for(expected, timeout=60, interval=0.3, what="reception expecting the booking")
    return booking_id


async def test_an_attendants_visit_from_check_in_to_completion(club_console, browser):
    club = club_console
    booking_id = await _book_for_now(club)
    desk = await club.sign_in(browser, "attendant", locale="zh-CN")
    assert desk.url.rstrip("/").endswith("/desk"), desk.url
    assert await desk.locator("h1").first.inner_text() == "前台 " + (
        await desk.locator("h1 small").inner_text())

    # The floor, open in a second tab of the same session, is never reloaded from here on.
    floor = await desk.context.new_page()
    await floor.goto(f"{club.url}/desk/floor")
    await floor.locator("#floor .summary").wait_for()
    loads = []
    floor.on("load", lambda _page: loads.append(1))

    # Check in the booked customer: place and host from the row's own form.
    row = desk.locator(f"tr[data-booking='{booking_id}']")
    await row.get_by_label("地点").select_option(club.location_id)
    await row.get_by_label("接待人").select_option(str(club.staff["attendant"]))
    await row.get_by_role("button", name="办理到店").click()
    await desk.wait_for_url("**/desk/visits/*")
    visit_id = desk.url.rsplit("/", 1)[1]
    await desk.get_by_text("已办理到店。").wait_for()

    # Two services recorded on the visit, on the club's clock, after the check-in.
    t0 = now().astimezone(CLUB_ZONE).replace(second=0, microsecond=0)
    clock = [(t0 + timedelta(minutes=m)).strftime("%H:%M") for m in (0, 2, 4)]
    for code, start, end in ((club.service_codes["massage"], clock[0], clock[1]),
                             (club.service_codes["tea"], clock[1], clock[2])):
        form = desk.get_by_role("form", name="记录服务")
        await form.get_by_label("服务项目").select_option(code)
        await form.get_by_label("服务人员").select_option(str(club.staff["attendant"]))
        await form.get_by_label("开始").fill(start)
        await form.get_by_label("结束").fill(end)
        await form.get_by_role("button", name="记录").click()
        await desk.get_by_text("服务已记录。").wait_for()
    assert await desk.locator("tr.service-record").count() == 2

    # The floor shows the guest, pushed to the open page.
    await expect(floor.locator(f"[data-visit='{visit_id}']")).to_contain_text(
        "2 项服务", timeout=15_000)

    # A walk-in, registered and checked in from the desk.
    await desk.goto(f"{club.url}/desk")
    walk_in = desk.get_by_role("form", name="散客到店")
    await walk_in.get_by_label("客人姓名").fill("Lin Walker")
    await walk_in.get_by_label("人数").fill("2")
    await walk_in.get_by_label("地点").select_option(club.location_id)
    await walk_in.get_by_label("接待人").select_option(str(club.staff["attendant2"]))
    await walk_in.get_by_role("button", name="办理散客到店").click()
    await desk.wait_for_url("**/desk/visits/*")
    walk_in_visit = desk.url.rsplit("/", 1)[1]
    await floor.locator(f"[data-visit='{walk_in_visit}']").wait_for(timeout=15_000)
    await screenshot(floor, "front-desk-floor")

    # The booked visit completed: it leaves the floor, and HR counts it.
    await desk.goto(f"{club.url}/desk/visits/{visit_id}")
    await desk.get_by_role("button", name="完成本次到访").click()
    await desk.get_by_text("到访已完成。").wait_for()
    assert "已完成" in await desk.locator("h1 .status").inner_text()
    await floor.locator(f"[data-visit='{visit_id}']").wait_for(state="detached", timeout=15_000)
    assert loads == [], "the floor page was reloaded"
    assert floor.context.blocked == []

    async def facts_of_the_visit() -> list[dict]:
        async with club.api("hr", "hradmin") as hr:
            answer = await hr.get("/kpi-facts", params={"staff_id": str(club.staff["attendant"])})
            assert answer.status_code == 200, answer.text
            return [f for f in answer.json() if visit_id in json.dumps(f)]

    await wait_for(facts_of_the_visit, timeout=60, interval=0.5,
                   what="HR's KPI facts for the completed visit")
    async with club.api("reception", "attendant") as reception:
        held = (await reception.get(f"/visits/{visit_id}")).json()
    assert held["status"] == "completed" and len(held["services"]) == 2
    await desk.goto(f"{club.url}/desk")
    await screenshot(desk, "front-desk")
    await desk.context.close()


async def test_a_refusal_appears_beside_the_form(club_console, browser):
    """A walk-in for a place that does not exist: reception's own sentence, on the desk."""
    club = club_console
    page = await club.sign_in(browser, "attendant", locale="en")
    form = page.get_by_role("form", name="Walk-in")
    await form.get_by_label("Guest's name").fill("Nobody")
    await form.get_by_label("Place").evaluate(
        "(select, value) => { select.add(new Option('gone', value)); select.value = value; }",
        "00000000-0000-4000-8000-00000000dead")
    await form.get_by_label("Host").select_option(str(club.staff["attendant"]))
    await form.get_by_role("button", name="Check in the walk-in").click()
    error = page.get_by_role("form", name="Walk-in").locator(".error")
    await error.first.wait_for()
    assert "location" in (await error.first.inner_text()).lower()
    await page.context.close()
