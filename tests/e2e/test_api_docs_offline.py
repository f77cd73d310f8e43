"""The API pages of the four services in a real browser, with no internet: /docs (Swagger UI)
and /redoc (ReDoc) of each service, as real processes, in Debian's chromium through
Playwright, in a context that aborts every request to a host other than this machine.

Each page must show every operation of the service's own /openapi.json, need nothing from
outside (`context.blocked == []`: the scripts and styles come from the service, through
fastapi_offline) and log no console error nor uncaught exception. A club's back office, like
this project's CI, may have no internet: a page that fetched its scripts from a CDN was blank
there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from club_platform.testing.processes import ServiceProcess, stop_all
from playwright.async_api import Browser, BrowserContext, Page, expect

from ..browser import console_errors, offline_context

pytestmark = pytest.mark.slow

# A path each service's pages must show (docs/openapi/<service>.json lists them all).
KNOWN_PATHS = {"booking": "/bookings", "reception": "/visits/check-in", "crm": "/complaints",
               "hr": "/assessments"}
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
RENDER_TIMEOUT_MS = 30_000


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(spawn) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The four services, started side by side, stopped when the module ends."""
    processes = {service: await spawn(service, name=f"docs-{service}", start=False)
                 for service in KNOWN_PATHS}
    try:
        await asyncio.gather(*(process.start() for process in processes.values()))
        yield processes
    finally:
        await stop_all(processes.values())


async def openapi(url: str) -> dict:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{url}/openapi.json")
    assert answer.status_code == 200, answer.text
    return answer.json()


def operations(spec: dict) -> dict[str, tuple[str, str]]:
    """operationId → (METHOD, path) of every operation in the document."""
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found[operation["operationId"]] = (method.upper(), path)
    return found


@asynccontextmanager
async def offline_page(browser: Browser) -> AsyncIterator[tuple[BrowserContext, Page, list]]:
    context = await offline_context(browser)
    try:
        page = await context.new_page()
        yield context, page, console_errors(page)
    finally:
        await context.close()


@pytest.mark.parametrize("service", KNOWN_PATHS)
async def test_swagger_ui_lists_every_operation_offline(browser, services, service) -> None:
    url = services[service].url
    spec = await openapi(url)
    expected = operations(spec)
    assert KNOWN_PATHS[service] in spec["paths"]
    async with offline_page(browser) as (context, page, errors):
        await page.goto(f"{url}/docs")
        blocks = page.locator(".opblock")
        await expect(blocks).to_have_count(len(expected), timeout=RENDER_TIMEOUT_MS)
        await page.wait_for_load_state("networkidle")  # a late request is seen too
        shown = await blocks.evaluate_all("""blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').dataset.path])""")
        title = (await page.locator(".info .title").inner_text()).strip()

    assert sorted(tuple(row) for row in shown) == sorted(expected.values())
    assert KNOWN_PATHS[service] in {path for _, path in shown}
    assert title.startswith(spec["info"]["title"]), title
    assert context.blocked == [], f"/docs of {service} needed the internet: {context.blocked}"
    assert errors == [], f"/docs of {service}: {errors}"


@pytest.mark.parametrize("service", KNOWN_PATHS)
async def test_redoc_renders_every_operation_offline(browser, services, service) -> None:
    url = services[service].url
    spec = await openapi(url)
    expected = operations(spec)
    summaries = {operation["operationId"]: operation.get("summary", "")
                 for item in spec["paths"].values()
                 for method, operation in item.items() if method in METHODS}
    async with offline_page(browser) as (context, page, errors):
        await page.goto(f"{url}/redoc")
        # ReDoc gives each operation a section `operation/<operationId>` (inside one
        # `tag/<tag>/operation/<operationId>`): its heading (h2) is the summary, and its
        # endpoint box a `.http-verb` span followed by the path.
        sections = page.locator('[data-section-id^="operation/"]')
        await expect(sections).to_have_count(len(expected), timeout=RENDER_TIMEOUT_MS)
        await page.wait_for_load_state("networkidle")
        shown = await sections.evaluate_all("""sections => sections.map(section => {
            const verb = section.querySelector('.http-verb');
            return {id: section.dataset.sectionId.slice('operation/'.length),
                    heading: section.querySelector('h2').textContent.trim(),
                    method: verb.textContent.trim().toUpperCase(),
                    path: verb.nextElementSibling.textContent.trim()};
        })""")
        title = (await page.locator("h1").first.inner_text()).strip()

    assert {row["id"]: (row["method"], row["path"]) for row in shown} == expected
    assert {row["id"]: row["heading"] for row in shown} == summaries
    assert KNOWN_PATHS[service] in {row["path"] for row in shown}
    assert title.startswith(spec["info"]["title"]), title
    assert context.blocked == [], f"/redoc of {service} needed the internet: {context.blocked}"
    assert errors == [], f"/redoc of {service}: {errors}"
