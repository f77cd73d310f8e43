"""Who may see what, as people meet it: a screen that is not someone's says so (and the
service behind it refuses them too, since the console decides nothing itself); a form without
its CSRF token is refused, whichever form it is; a session that ends sends the person to sign
in and back to the page they were on."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from fastapi.routing import iter_route_contexts

from club_console.app import build_app
from club_console.settings import ConsoleSettings

pytestmark = pytest.mark.slow

# (who, a screen that is not theirs, the call behind it the service refuses them)
REFUSALS = (
    ("attendant", "/people", ("hr", "/staff")),
    ("attendant", "/crm", ("crm", "/complaints")),
    ("specialist", "/people", ("hr", "/staff")),
    ("specialist", "/bookings", ("booking", "/resources/{room}/day-sheet")),
    ("hradmin", "/crm", ("crm", "/complaints")),
    ("member", "/desk", ("reception", "/arrivals")),
    ("member", "/people", ("hr", "/staff")),
    ("member", "/crm/followups", ("crm", "/followups/queue")),
)


async def test_each_role_is_refused_the_screens_that_are_not_theirs(club_console, browser):
    club = club_console
    pages = {}
    for who, screen, (service, path) in REFUSALS:
        if who not in pages:
            pages[who] = await club.sign_in(browser, who, locale="zh-CN")
        page = pages[who]
        response = await page.goto(f"{club.url}{screen}")
        assert response.status == 403, (who, screen, response.status)
        assert await page.locator("h1").inner_text() == "您的岗位无权使用此页面", (who, screen)
        # The service's own sentence, naming the role and who may.
        assert "may not" in await page.locator(".problem p").first.inner_text()
        # The menu never offered it.
        assert await page.locator(f"nav a[href='{screen}']").count() == 0, (who, screen)
        async with club.api(service, who) as api:
            answer = await api.get(path.format(room=club.rooms[0]))
            assert answer.status_code == 403, (who, service, path)
    for page in pages.values():
        await page.context.close()


def _post_routes() -> list[str]:
    settings = ConsoleSettings(oidc_issuer="http://127.0.0.1:9/realms/club",
                               booking_url="http://127.0.0.1:9", reception_url="http://127.0.0.1:9",
                               crm_url="http://127.0.0.1:9", hr_url="http://127.0.0.1:9")
    paths = []
    for route in iter_route_contexts(build_app(settings).routes):  # with included routers'
        if "POST" in (route.methods or ()):
            ints = {p.name for p in route.dependant.path_params if p.field_info.annotation is int}
            paths.append(re.sub(r"\{([^}]+)\}",
                                lambda m, ints=ints: "1" if m[1] in ints else str(uuid4()),
                                route.path))
    return paths


async def test_no_form_is_accepted_without_its_csrf_token(club_console, browser):
    """Every form the console has (every POST route, found in the app itself), sent with the
    person's session but without the token, or with another one, is refused; nothing reaches
    a service."""
    club = club_console
    page = await club.sign_in(browser, "head", locale="en")
    routes = _post_routes()
    assert len(routes) > 30, routes  # the console's forms, all of them
    for path in routes:
        for data in ({"full_name": "Forged"}, {"csrf_token": "forged", "full_name": "Forged"}):
            answer = await page.request.post(f"{club.url}{path}", form=data, max_redirects=0,
                                             headers={"Accept-Language": "en"})
            assert answer.status == 403, (path, answer.status)
            assert "Form refused" in await answer.text(), path
    # The same walk-in with the page's own token goes through: the refusal was the token's.
    await page.goto(f"{club.url}/desk")
    token = await page.locator("form[action='/desk/walk-in'] input[name=csrf_token]").input_value()
    answer = await page.request.post(f"{club.url}/desk/walk-in", max_redirects=0, form={
        "csrf_token": token, "full_name": "Real Guest", "party_size": "1",
        "location_id": club.location_id, "host_staff_id": str(club.staff["attendant"])})
    assert answer.status == 303, await answer.text()
    await page.context.close()


async def test_an_ended_session_signs_in_again_and_returns_to_the_page(club_console, browser):
    club = club_console
    page = await club.sign_in(browser, "specialist", locale="en")
    await page.goto(f"{club.url}/crm/followups")
    # The console forgets the session (a restart, an idle timeout): the browser's cookie is
    # no longer known to it. The provider's own session is still there, so no password.
    session = [c for c in await page.context.cookies() if c["name"] == "club_console_session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"
    await page.context.clear_cookies(name="club_console_session")
    await page.context.add_cookies([{**session[0], "value": "forgotten"}])
    await page.goto(f"{club.url}/crm/followups?mine=1")
    await page.wait_for_url(f"{club.url}/crm/followups?mine=1")
    current = page.locator("header nav a[aria-current=page]")
    assert await current.inner_text() == "Customer relations"
    await page.context.close()


async def test_pages_carry_a_strict_content_security_policy(club_console, browser):
    club = club_console
    page = await club.sign_in(browser, "attendant", locale="en")
    answer = await page.request.get(f"{club.url}/desk")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert page.context.blocked == []
    await page.context.close()
