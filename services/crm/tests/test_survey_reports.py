"""Survey reports (R2 §3.5): CSAT as the share of 4s and 5s, response rate and NPS, by staff
member, service, week and overall, from answers given through real survey links."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from club_platform.auth import Role
from club_platform.testing import client


async def test_report_by_staff_service_week_and_overall(crm, crm_url, clock):
    customer_id = await crm.register(full_name="Report Person")
    a, b = uuid4(), uuid4()
    massage, sauna = f"massage-{uuid4().hex[:6]}", f"sauna-{uuid4().hex[:6]}"
    # A quiet stretch of time of this test's own, still inside the links' 14 days.
    base = clock.now() - timedelta(days=9, hours=7)
    plan = [  # staff, services, answer
        ([a], [(massage, a)], {"csat": 5, "nps": 10}),
        ([a, b], [(massage, a), (sauna, b)], {"csat": 3, "nps": 6}),
        ([b], [(sauna, b)], None),
        ([b], [], {"csat": 4}),
    ]
    visits = []
    for minute, (staff, services, _answer) in enumerate(plan):
        visits.append(await crm.complete_visit(customer_id, staff=staff, services=services,
                                               completed_at=base + timedelta(minutes=minute)))
    for visit in visits:
        await crm.wait_for_visit(visit.visit_id)
    async with crm.as_(Role.CRM_SPECIALIST) as http, client(crm_url) as anonymous:
        for visit, (_staff, _services, answer) in zip(visits, plan, strict=True):
            if answer:
                [invitation] = (await http.get("/surveys/invitations",
                                               params={"visit_id": str(visit.visit_id)})).json()
                sent = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                            json=answer)
                assert sent.status_code == 201, sent.text
        window = {"since": (base - timedelta(minutes=1)).isoformat(),
                  "until": (base + timedelta(minutes=10)).isoformat()}
        reports = {by: (await http.get("/surveys/report", params={**window, "by": by})).json()
                   for by in ("staff", "service", "week", "all")}

    def row(by: str, key: str) -> dict:
        [found] = [r for r in reports[by]["rows"] if r["key"] == key]
        return found

    assert row("staff", str(a)) | {"key": None} == {
        "key": None, "invitations": 2, "responses": 2, "response_rate": 100.0,
        "csat_mean": 4.0, "csat_percent": 50.0, "nps": 0.0, "nps_answers": 2}
    assert row("staff", str(b)) | {"key": None} == {
        "key": None, "invitations": 3, "responses": 2, "response_rate": 66.7,
        "csat_mean": 3.5, "csat_percent": 50.0, "nps": -100.0, "nps_answers": 1}
    assert row("service", massage)["csat_percent"] == 50.0
    assert row("service", sauna) | {"key": None} == {
        "key": None, "invitations": 2, "responses": 1, "response_rate": 50.0,
        "csat_mean": 3.0, "csat_percent": 0.0, "nps": -100.0, "nps_answers": 1}
    overall = row("all", "all")
    assert (overall["invitations"], overall["responses"], overall["response_rate"]) == (4, 3, 75.0)
    assert (overall["csat_percent"], overall["nps"]) == (66.7, 0.0)
    weeks = {(v.completed_at - timedelta(days=v.completed_at.weekday())).date().isoformat()
             for v in visits}
    assert {r["key"] for r in reports["week"]["rows"]} == weeks
    assert sum(r["invitations"] for r in reports["week"]["rows"]) == 4


async def test_report_roles_and_bad_windows(crm, clock):
    async with crm.as_(Role.ATTENDANT) as http:
        attendant = await http.get("/surveys/report")
    async with crm.as_(Role.HEAD) as http:
        backwards = await http.get("/surveys/report", params={
            "since": clock.now().isoformat(),
            "until": (clock.now() - timedelta(days=1)).isoformat()})
        bad_group = await http.get("/surveys/report", params={"by": "mood"})
        default = await http.get("/surveys/report")
    assert attendant.status_code == 403
    assert backwards.status_code == 422 and "before" in backwards.json()["detail"]
    assert bad_group.status_code == 422
    assert default.status_code == 200 and default.json()["by"] == "all"
