"""People through the console, in Chinese (R2 §5.1, R1 §7.2, R2 §8.2): the HR administrator
reads an attendant's scorecard down to the events each KPI counted, and every number on the
page is the one HR's evidence holds; the head decides a discipline case; the attendant finds
the published scorecard on their own page.

HR assesses whole club days that are over, never today (services/hr/README.md, "Assessments";
`POST /assessments` answers 422 "the period has not ended yet"). So the test does both days:
- today, at reception, the attendant hosts two walk-ins (a shift today, services recorded,
  visits completed through reception's API) and HR's KPI facts for those visits appear; the HR
  administrator's attempt to assess today in the console shows HR's refusal beside the form;
- yesterday, the day HR can assess, is put there by the interfaces that take past times, as in
  tests/e2e/test_journey.py: the roster (a shift scheduled after the fact), the supervisor's
  clockings with their times, and reception's `visit.completed` for two visits of yesterday on
  the bus (reception itself completes visits only now). HR assesses it from its own records.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import uuid4

import pytest
from club_contracts import VisitCompleted
from club_contracts.catalogue import ServiceDelivered
from club_platform.testing import wait_for

from tests.browser import screenshot
from tests.e2e.support import CLUB_ZONE, club_today, now

pytestmark = pytest.mark.slow
PATIENCE = 60.0


async def _visits_today_at_reception(club) -> list[str]:
    """A shift today and two walk-ins the attendant hosts and serves, completed at reception."""
    attendant = str(club.staff["attendant"])
    starts = now().astimezone(CLUB_ZONE).replace(second=0, microsecond=0) - timedelta(minutes=30)
    async with club.api("hr", "hradmin") as hr:
        answer = await hr.post("/shifts", json={
            "staff_id": attendant, "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=7)).isoformat()})
        assert answer.status_code == 201, answer.text
    visits = []
    for name in ("Lin Walkin", "Zhou Walkin"):
        async with club.api("crm", "attendant") as crm:
            answer = await crm.post("/customers", json={"full_name": name})
            assert answer.status_code == 201, answer.text
            customer_id = answer.json()["customer_id"]
        async with club.api("reception", "attendant") as reception:
            answer = await reception.post("/visits/walk-in", json={
                "customer_id": customer_id, "party_size": 1,
                "location_id": club.location_id, "host_staff_id": attendant})
            assert answer.status_code == 201, answer.text
            visit = answer.json()
            started = datetime.fromisoformat(visit["checked_in_at"])
            answer = await reception.post(f"/visits/{visit['visit_id']}/services", json={
                "service_code": club.service_codes["tea"], "staff_id": attendant,
                "started_at": started.isoformat(),
                "ended_at": (started + timedelta(minutes=2)).isoformat()})
            assert answer.status_code == 201, answer.text
            answer = await reception.post(f"/visits/{visit['visit_id']}/complete")
            assert answer.status_code == 200, answer.text
            visits.append(visit["visit_id"])

    async def hr_has_the_facts() -> bool:
        async with club.api("hr", "hradmin") as hr:
            facts = (await hr.get("/kpi-facts", params={
                "staff_id": attendant, "kind": "visit_served"})).json()
        return set(visits) <= {f["subject_id"] for f in facts}

    await wait_for(hr_has_the_facts, timeout=PATIENCE, interval=0.5,
                   what="HR's KPI facts for today's visits")
    return visits


async def _yesterday(club, event_publisher) -> tuple[list[str], list[str]]:
    """Yesterday's shift, kept, and two visits the attendant hosted: (visit ids, event ids)."""
    attendant = club.staff["attendant"]
    yesterday = club_today() - timedelta(days=1)
    start = datetime.combine(yesterday, time(9), CLUB_ZONE)
    end = datetime.combine(yesterday, time(17), CLUB_ZONE)
    async with club.api("hr", "hradmin") as hr:
        # the clockings first, so the absence check never sees the shift without them
        for direction, at in (("in", start - timedelta(minutes=3)),
                              ("out", end + timedelta(minutes=4))):
            answer = await hr.post("/attendance/clockings", json={
                "staff_id": str(attendant), "direction": direction, "at": at.isoformat()})
            assert answer.status_code == 201, answer.text
        answer = await hr.post("/shifts", json={"staff_id": str(attendant),
                                                "starts_at": start.isoformat(),
                                                "ends_at": end.isoformat()})
        assert answer.status_code == 201, answer.text
    visits, events = [], []
    for hour in (10, 14):
        visit_id, checked_in = uuid4(), datetime.combine(yesterday, time(hour), CLUB_ZONE)
        sent = await event_publisher.publish(VisitCompleted(
            visit_id=visit_id, customer_id=club.member_id, location_id=club.location_id,
            host_staff_id=attendant, staff_ids=[attendant],
            services=[ServiceDelivered(service_code=club.service_codes["massage"],
                                       staff_id=attendant,
                                       started_at=checked_in + timedelta(minutes=5),
                                       ended_at=checked_in + timedelta(minutes=65))],
            checked_in_at=checked_in, completed_at=checked_in + timedelta(minutes=70)))
        visits.append(str(visit_id))
        events.append(str(sent.id))

    async def hr_has_them() -> bool:
        async with club.api("hr", "hradmin") as hr:
            facts = (await hr.get("/kpi-facts", params={
                "staff_id": str(attendant), "kind": "visit_served",
                "since": start.isoformat(), "until": end.isoformat()})).json()
        return set(visits) <= {f["subject_id"] for f in facts}

    await wait_for(hr_has_them, timeout=PATIENCE, interval=0.5,
                   what="HR's KPI facts for yesterday's visits")
    return visits, events


def _number(value: float | None) -> str:
    """A number as the console shows it in Chinese (Babel, 2 places at most)."""
    if value is None:
        return "—"
    text = f"{round(value, 2):,.2f}".rstrip("0").rstrip(".")
    return text


async def test_hr_reads_an_assessment_down_to_the_events_counted(club_console, browser,
                                                                  event_publisher):
    club = club_console
    attendant = str(club.staff["attendant"])
    todays_visits = await _visits_today_at_reception(club)
    visits, events = await _yesterday(club, event_publisher)
    yesterday = club_today() - timedelta(days=1)

    page = await club.sign_in(browser, "hradmin", locale="zh-CN")
    await page.goto(f"{club.url}/people/assessments")
    form = page.get_by_role("form", name="考核一个期间")

    # Today is not over: HR refuses, and the console says so beside the form.
    await form.get_by_label("员工").select_option(attendant)
    await form.get_by_label("第一天").fill(club_today().isoformat())
    await form.get_by_label("最后一天").fill(club_today().isoformat())
    await form.get_by_role("button", name="计算考核").click()
    await page.locator(".error.box").filter(has_text="not ended").wait_for()

    # Yesterday is: HR computes the draft and the console opens its scorecard.
    form = page.get_by_role("form", name="考核一个期间")
    await form.get_by_label("员工").select_option(attendant)
    await form.get_by_label("第一天").fill(yesterday.isoformat())
    await form.get_by_label("最后一天").fill(yesterday.isoformat())
    await form.get_by_role("button", name="计算考核").click()
    await page.wait_for_url("**/people/assessments/*")
    assessment_id = page.url.rsplit("/", 1)[1]
    await page.get_by_text("考核已计算:草稿待部门主管审核。").wait_for()

    async with club.api("hr", "hradmin") as hr:
        evidence = (await hr.get(f"/assessments/{assessment_id}/evidence")).json()
    assert evidence["staff_id"] == attendant and evidence["status"] == "draft"
    kpis = {k["code"]: k for k in evidence["kpis"]}
    assert set(kpis) == {"visits_served", "mean_csat", "upheld_complaints", "shifts_attended"}

    # Every KPI, its value, and as many counted events as HR's evidence lists.
    for code, kpi in kpis.items():
        card = page.locator(f"section[data-kpi='{code}']")
        assert await card.get_attribute("data-counted") == str(len(kpi["counted"])), code
        assert await card.locator("tr[data-event]").count() == len(kpi["counted"]), code
        value = await card.locator("dd[data-value]").inner_text()
        assert value.startswith(_number(kpi["value"])), (code, value, kpi["value"])
        assert kpi["explanation"] in await card.inner_text(), code
        assert f"计入 {len(kpi['counted'])} 个事件" in await card.inner_text()
    # Yesterday's two visits, by the events HR counted and the visits they were about; none of
    # today's (HR assessed only yesterday).
    served = page.locator("section[data-kpi='visits_served']")
    assert kpis["visits_served"]["value"] == 2
    assert sorted(e["source_id"] for e in kpis["visits_served"]["counted"]) == sorted(events)
    for visit_id, event_id in zip(visits, events, strict=True):
        row = served.locator(f"tr[data-event='{event_id}']")
        assert await row.get_attribute("data-subject") == visit_id
        text = await row.inner_text()
        assert event_id[:8] in text and visit_id[:8] in text and "visit.completed" in text
        assert "服务的到店" in text and "接待人: 是" in text
    html = await page.content()
    assert not any(v in html for v in todays_visits)
    # The shift counted for attendance is yesterday's, kept.
    [shift] = kpis["shifts_attended"]["counted"]
    assert kpis["shifts_attended"]["value"] == 100
    assert await page.locator(f"section[data-kpi='shifts_attended'] tr[data-event="
                              f"'{shift['source_id']}']").count() == 1
    # The scored KPIs, their scores and the total as HR holds them.
    table = page.locator("tr[data-kpi-row='visits_served']")
    assert _number(kpis["visits_served"]["score"]) in await table.inner_text()
    assert await page.locator("dd[data-total]").get_attribute("data-total") == str(
        evidence["total_score"])
    assert "⟦" not in html
    await screenshot(page, "people-assessment", full_page=True)
    await page.context.close()

    # The head publishes it (reviewed as computed) and the attendant reads it on their own page.
    async with club.api("hr", "head") as hr:
        assert (await hr.post(f"/assessments/{assessment_id}/review", json={})).status_code == 200
        assert (await hr.post(f"/assessments/{assessment_id}/publish")).status_code == 200
    me = await club.sign_in(browser, "attendant", locale="zh-CN")
    await me.goto(f"{club.url}/me")
    await me.locator(f"tr[data-assessment='{assessment_id}']").wait_for()
    assert await me.locator("tr[data-shift]").count() >= 1  # today's shift
    await screenshot(me, "me", full_page=True)
    await me.locator(f"tr[data-assessment='{assessment_id}'] a").click()
    await me.wait_for_url(f"**/me/assessments/{assessment_id}")
    mine = me.locator("section[data-kpi='visits_served']")
    assert await mine.locator("tr[data-event]").count() == 2
    assert "⟦" not in await me.content()
    await me.context.close()


async def test_the_head_decides_a_discipline_case(club_console, browser):
    club = club_console
    subject = str(club.staff["attendant2"])
    async with club.api("hr", "hradmin") as hr:
        answer = await hr.post("/discipline/cases", json={
            "staff_id": subject, "violation": "dress_code",
            "occurred_at": (now() - timedelta(hours=2)).isoformat(),
            "description": "Came to the floor without the club's uniform."})
        assert answer.status_code == 201, answer.text
        case = answer.json()
    case_id = case["case_id"]
    assert case["status"] == "open" and case["proposed_action"]

    page = await club.sign_in(browser, "head", locale="zh-CN")
    await page.goto(f"{club.url}/people/cases")
    await page.locator(f"tr[data-case='{case_id}'] a").click()
    await page.wait_for_url(f"**/people/cases/{case_id}")
    assert "Came to the floor without the club's uniform." in await page.content()
    await page.get_by_role("button", name="决定", exact=True).click()
    await page.get_by_text("决定已记录。").wait_for()
    async with club.api("hr", "head") as hr:
        decided = (await hr.get(f"/discipline/cases/{case_id}")).json()
    assert decided["status"] == "decided"
    assert decided["action"] == case["proposed_action"]
    assert decided["decided_by"] == str(club.staff["head"])
    assert "⟦" not in await page.content()
    await page.context.close()
