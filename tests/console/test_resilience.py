"""The console as people meet it when things go wrong or the screen is small: a service that
is down leaves the rest of the console working and says so where it is needed; the front desk
works on a tablet and by keyboard, every control labelled."""

from __future__ import annotations

import pytest

from tests.browser import offline_context

pytestmark = pytest.mark.slow

TABLET = {"width": 768, "height": 1024}


async def test_a_service_down_is_said_where_it_is_needed(club_console, browser):
    club = club_console
    crm = club.processes["crm"]
    desk = await club.sign_in(browser, "attendant", locale="en")
    head = await club.sign_in(browser, "head", locale="en")
    await crm.stop()
    try:
        # The desk needs reception: it works. A walk-in needs CRM (the guest is registered
        # there first): the form says CRM is not answering, beside it.
        response = await desk.goto(f"{club.url}/desk")
        assert response.status == 200
        await desk.get_by_role("heading", name="The floor").wait_for()
        form = desk.get_by_role("form", name="Walk-in")
        await form.get_by_label("Guest's name").fill("Guest While CRM Is Down")
        await form.get_by_label("Place").select_option(club.location_id)
        await form.get_by_label("Host").select_option(str(club.staff["attendant"]))
        await form.get_by_role("button", name="Check in the walk-in").click()
        # Beside the form, with what was typed kept, to send again when CRM is back.
        form = desk.get_by_role("form", name="Walk-in")
        await form.locator(".error").first.wait_for()
        assert "customer relations service is not answering" in await form.locator(
            ".error").first.inner_text()
        assert await form.get_by_label("Guest's name").input_value() == "Guest While CRM Is Down"

        # The complaint queue is CRM's: the page says so, the header and menu still work.
        response = await head.goto(f"{club.url}/crm")
        assert response.status == 503
        assert await head.locator("h1").inner_text() == "Service unavailable"
        assert "customer relations" in await head.locator(".problem p").first.inner_text()
        await head.get_by_role("link", name="People").click()
        await head.wait_for_url(f"{club.url}/people")
        assert await head.locator("table").count() >= 1
    finally:
        await crm.start()
    response = await head.goto(f"{club.url}/crm")
    assert response.status == 200
    for page in (desk, head):
        assert "Traceback" not in await page.content()
        await page.context.close()


async def _labelled_and_fits(page) -> dict:
    return await page.evaluate("""() => {
        const controls = [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea, button')];
        const unlabelled = controls.filter(c => !(c.labels && c.labels.length)
            && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby')
            && !(c.tagName === 'BUTTON' && c.innerText.trim()))
            .map(c => c.outerHTML.slice(0, 120));
        return {unlabelled, overflow: document.documentElement.scrollWidth - window.innerWidth};
    }""")


async def test_the_front_desk_on_a_tablet_and_by_keyboard(club_console, browser):
    club = club_console
    context = await offline_context(browser, locale="zh-CN", viewport=TABLET, has_touch=True)
    page = await context.new_page()
    await page.goto(f"{club.url}/sign-in?next=/desk")
    await page.fill("#username", club.users["attendant"].username)
    await page.fill("#password", club.users["attendant"].password)
    await page.click("#kc-login")
    await page.wait_for_url(f"{club.url}/desk")
    for path in ("/desk", "/desk/floor", "/bookings", "/me"):
        await page.goto(f"{club.url}{path}")
        found = await _labelled_and_fits(page)
        assert found["unlabelled"] == [], (path, found["unlabelled"])
        assert found["overflow"] <= 0, (path, found["overflow"])

    # By keyboard alone: from the walk-in's name field, Tab reaches each control of the form
    # in order, and Enter on the button sends it.
    await page.goto(f"{club.url}/desk")
    await page.get_by_label("客人姓名").focus()
    await page.keyboard.type("Key Board")
    for _ in range(2):  # phone, party size
        await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.name") == "location_id"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.name") == "host_staff_id"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.innerText") == "办理散客到店"
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/desk/visits/*")
    await page.get_by_text("散客已办理到店。").wait_for()
    assert context.blocked == []
    await context.close()
