"""Charts in the console, in Chinese (R2 §3.5, §5.1): the surveys screen draws satisfaction and
the complaints week by week, a scorecard draws each KPI against its target. Each chart is an
SVG image of its own (the pages' Content-Security-Policy allows no inline script or style):
the browser shows it, it is `image/svg+xml`, titled in Chinese, holds the figures the services
hold, names nothing outside this machine, and the service still decides who may see it.

The figures asserted are read from the services' APIs after seeding (other tests of the
package add surveys and complaints of their own to the same weeks)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta
from xml.etree import ElementTree

import pytest
from babel import dates, numbers
from club_contracts import VisitCompleted
from club_contracts.catalogue import ServiceDelivered
from club_platform.testing import wait_for

from tests.browser import screenshot
from tests.console.test_crm import _complaint
from tests.e2e.support import CLUB_ZONE, club_today

pytestmark = pytest.mark.slow
PATIENCE = 60.0
SVG_NS = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def _week_label(monday) -> str:
    return dates.format_skeleton("MMMd", monday, locale="zh_CN")


def _number(value: float, digits: int) -> str:
    return numbers.format_decimal(round(value, digits), locale="zh_CN")


def _title(svg: str) -> str:
    root = ElementTree.fromstring(svg)
    return "".join(root.find(f"{SVG_NS}title").itertext())


def _points(svg: str) -> dict[str, dict[str, str]]:
    """Each series of a pygal chart by its legend: {x label: the value printed}."""
    root = ElementTree.fromstring(svg)
    legends = {}
    for g in root.iter(f"{SVG_NS}g"):
        if (g.get("id") or "").startswith("activate-serie-"):
            legends[g.get("id").rsplit("-", 1)[1]] = "".join(g.find(f"{SVG_NS}text").itertext())
    found: dict[str, dict[str, str]] = {}
    for g in root.iter(f"{SVG_NS}g"):
        classes = (g.get("class") or "").split()
        if "series" not in classes:
            continue
        index = next(c for c in classes if c.startswith("serie-")).split("-")[1]
        points = found.setdefault(legends[index], {})
        for point in g.iter(f"{SVG_NS}g"):
            descs = {d.get("class").split()[0]: (d.text or "")
                     for d in point.findall(f"{SVG_NS}desc")}
            if "value" in descs and "x_label" in descs:
                points[descs["x_label"]] = descs["value"]
    return found


async def _chart(page, selector: str) -> str:
    """The chart the page shows: loaded as an image, and its SVG fetched with the page's
    session, as the browser fetched it."""
    image = page.locator(selector)
    await image.wait_for()
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); "
        "return i && i.complete && i.naturalWidth > 0 }",
        arg=selector, timeout=30_000)
    assert await image.get_attribute("alt"), selector
    answer = await page.request.get(await image.evaluate("i => i.src"))
    assert answer.status == 200, await answer.text()
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.headers["cache-control"] == "no-store"
    assert "content-security-policy" in answer.headers
    svg = await answer.text()
    assert set(re.findall(r"https?://[^\s\"'<>)]+", svg)) <= NAMESPACES, svg[:400]
    assert "<script" not in svg and "⟦" not in svg
    assert "Noto Sans CJK SC" in svg
    return svg


async def _answered_visits(club, event_publisher, completed_at: datetime,
                           scores: list[int]) -> list[str]:
    """Visits attendant2 hosted, completed then (visit.completed on the bus, as reception
    publishes it), each answered on its survey link with the given satisfaction."""
    attendant = club.staff["attendant2"]
    visits = []
    for n, _score in enumerate(scores):
        visit_id, done = uuid.uuid4(), completed_at + timedelta(minutes=n)
        await event_publisher.publish(VisitCompleted(
            visit_id=visit_id, customer_id=club.member_id, location_id=club.location_id,
            host_staff_id=attendant, staff_ids=[attendant],
            services=[ServiceDelivered(service_code=club.service_codes["tea"],
                                       staff_id=attendant, started_at=done - timedelta(minutes=20),
                                       ended_at=done - timedelta(minutes=5))],
            checked_in_at=done - timedelta(minutes=30), completed_at=done))
        visits.append(str(visit_id))
    async with club.api("crm", "head") as crm:
        for visit_id, score in zip(visits, scores, strict=True):
            async def invited(visit_id=visit_id) -> dict | None:
                found = (await crm.get("/surveys/invitations",
                                       params={"visit_id": visit_id})).json()
                return found[0] if found and found[0].get("token") else None

            invitation = await wait_for(invited, timeout=PATIENCE, interval=0.5,
                                        what="CRM's survey invitation for the visit")
            answer = await crm.post(f"/surveys/respond/{invitation['token']}",
                                    headers={"Idempotency-Key": str(uuid.uuid4())},
                                    json={"csat": score, "nps": 8})
            assert answer.status_code == 201, answer.text
    return visits


async def test_the_surveys_screen_draws_satisfaction_and_complaints_per_week(
        club_console, browser, event_publisher):
    club = club_console
    # Three answers (5, 4 and 2 out of 5) for visits nine days ago, and a complaint today.
    completed = datetime.combine(club_today() - timedelta(days=9), time(12), CLUB_ZONE)
    await _answered_visits(club, event_publisher, completed, [5, 4, 2])
    await _complaint(club)

    async with club.api("crm", "head") as crm:
        report = (await crm.get("/surveys/report", params={"by": "week"})).json()
        complaints = []
        for state in ("open", "acknowledged", "in_progress", "resolved", "closed"):
            answer = await crm.get("/complaints", params={"state": state, "limit": 1000})
            assert answer.status_code == 200, answer.text
            complaints += answer.json()
    # crm groups the answers by the week (from Monday, UTC) the visit was completed in.
    utc_day = completed.astimezone(UTC).date()
    survey_monday = utc_day - timedelta(days=utc_day.weekday())
    [row] = [r for r in report["rows"] if r["key"] == survey_monday.isoformat()]
    assert row["responses"] >= 3, row
    this_monday = club_today() - timedelta(days=club_today().weekday())
    opened_this_week = sum(
        1 for c in complaints
        if datetime.fromisoformat(c["opened_at"]).astimezone(CLUB_ZONE).date() >= this_monday)
    assert opened_this_week >= 1

    page = await club.sign_in(browser, "head", locale="zh-CN")
    await page.goto(f"{club.url}/crm/surveys")
    await page.get_by_role("heading", name="随时间变化").wait_for()

    svg = await _chart(page, "img.chart[src^='/charts/crm/csat.svg']")
    assert _title(svg) == "每周满意度"
    csat = _points(svg)["满意度（百分比）"]
    assert csat[_week_label(survey_monday)] == _number(row["csat_percent"], 1), csat

    svg = await _chart(page, "img.chart[src^='/charts/crm/complaints.svg']")
    assert _title(svg) == "每周投诉"
    opened = _points(svg)["新增投诉"]
    assert opened[_week_label(this_monday)] == str(opened_this_week), opened

    # The chart follows the screen's period: a week with no visits says there is no data yet.
    await page.goto(f"{club.url}/crm/surveys?since=2020-01-06&until=2020-01-12")
    svg = await _chart(page, "img.chart[src^='/charts/crm/csat.svg?since=2020-01-06']")
    assert _title(svg) == "每周满意度" and "暂无数据" in svg

    await page.goto(f"{club.url}/crm/surveys")
    await page.locator("img.chart").last.scroll_into_view_if_needed()
    await screenshot(page, "crm-surveys", full_page=True)
    assert "⟦" not in await page.content()
    assert page.context.blocked == []
    await page.context.close()


async def _a_day_at_work(club, event_publisher, day) -> str:
    """attendant2's kept shift on that day and a visit they hosted: HR has both."""
    attendant = str(club.staff["attendant2"])
    start = datetime.combine(day, time(9), CLUB_ZONE)
    end = datetime.combine(day, time(17), CLUB_ZONE)
    async with club.api("hr", "hradmin") as hr:
        for direction, at in (("in", start - timedelta(minutes=5)),
                              ("out", end + timedelta(minutes=5))):
            answer = await hr.post("/attendance/clockings", json={
                "staff_id": attendant, "direction": direction, "at": at.isoformat()})
            assert answer.status_code == 201, answer.text
        answer = await hr.post("/shifts", json={"staff_id": attendant,
                                                "starts_at": start.isoformat(),
                                                "ends_at": end.isoformat()})
        assert answer.status_code == 201, answer.text
    visit_id, checked_in = uuid.uuid4(), datetime.combine(day, time(11), CLUB_ZONE)
    await event_publisher.publish(VisitCompleted(
        visit_id=visit_id, customer_id=club.member_id, location_id=club.location_id,
        host_staff_id=attendant, staff_ids=[attendant],
        services=[ServiceDelivered(service_code=club.service_codes["massage"],
                                   staff_id=attendant, started_at=checked_in,
                                   ended_at=checked_in + timedelta(minutes=60))],
        checked_in_at=checked_in, completed_at=checked_in + timedelta(minutes=65)))

    async def hr_has_it() -> bool:
        async with club.api("hr", "hradmin") as hr:
            facts = (await hr.get("/kpi-facts", params={
                "staff_id": attendant, "kind": "visit_served",
                "since": start.isoformat(), "until": end.isoformat()})).json()
        return str(visit_id) in {f["subject_id"] for f in facts}

    await wait_for(hr_has_it, timeout=PATIENCE, interval=0.5, what="HR's KPI fact for the visit")
    async with club.api("hr", "hradmin") as hr:
        answer = await hr.post("/assessments", headers={"Idempotency-Key": str(uuid.uuid4())},
                               json={"staff_id": attendant, "period_start": day.isoformat(),
                                     "period_end": day.isoformat()})
        assert answer.status_code == 201, answer.text
        return answer.json()["assessment_id"]


async def test_a_scorecard_draws_each_indicator_against_its_target(club_console, browser,
                                                                   event_publisher):
    club = club_console
    assessment_id = await _a_day_at_work(club, event_publisher,
                                         club_today() - timedelta(days=3))
    async with club.api("hr", "head") as hr:
        assessment = (await hr.get(f"/assessments/{assessment_id}")).json()
    served = next(k for k in assessment["kpis"] if k["code"] == "visits_served")
    target = served["target_for_period"] if served["target_for_period"] is not None \
        else served["target"]
    assert served["value"] == 1, served

    page = await club.sign_in(browser, "head", locale="zh-CN")
    await page.goto(f"{club.url}/people/assessments/{assessment_id}")
    svg = await _chart(page, f"img.chart[src='/charts/assessments/{assessment_id}.svg']")
    assert _title(svg) == "各项考核指标与目标对比"
    bars = _points(svg)
    series = "达到目标" if served["score"] == 5 else "未达目标"
    expected = f"{_number(served['value'], 2)}（目标 {_number(target, 2)}）"
    assert bars[series]["服务到店次数"] == expected, bars
    await page.locator("img.chart").scroll_into_view_if_needed()
    await screenshot(page, "people-assessment-chart")
    assert page.context.blocked == []
    await page.context.close()

    # HR decides who sees it: the staff member does not, before it is published; the image
    # says so instead of the chart.
    mine = await club.sign_in(browser, "attendant2", locale="zh-CN")
    answer = await mine.request.get(f"{club.url}/charts/assessments/{assessment_id}.svg")
    assert answer.status in (403, 404), answer.status
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert "服务到店次数" not in await answer.text()
    await mine.context.close()
