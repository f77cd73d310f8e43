"""Helpers of the browser tests, which drive a real browser (Debian's chromium, the `browser`
fixture of tests/conftest.py) through Playwright.

- `offline_context(browser)`: a browser context that may reach this machine only. Every request
  to another host is aborted and its URL kept in `context.blocked`, so a test asserts
  `context.blocked == []`: the page needed nothing from outside (no CDN, no web font).
- `screenshot(page, name)`: a PNG in .local/screenshots/ (docs/screenshots/ with `make
  screenshots`, where the README's pictures come from).
- `console_errors(page)`: the page's console errors and uncaught exceptions, as they happen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Route,
    WebSocketRoute,
)

ROOT = Path(__file__).resolve().parents[1]
# Where the browser tests leave their pictures: .local/screenshots, so that a test run does
# not rewrite the repository; `make screenshots` runs them into docs/screenshots, the README's.
SCREENSHOTS = ROOT / os.environ.get("CLUB_SCREENSHOTS", ".local/screenshots")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# URLs that name no host: nothing leaves the page for them.
HOSTLESS_SCHEMES = frozenset({"data", "blob", "about"})


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in HOSTLESS_SCHEMES or parts.hostname in LOCAL_HOSTS


async def offline_context(browser: Browser, *, locale: str = "zh-CN",
                          **kw: Any) -> BrowserContext:
    """A new context (1280×900, Asia/Shanghai, Chinese by default; `kw` goes to
    `browser.new_context` and wins) whose requests to any host but this machine are aborted
    and recorded in `context.blocked`. Service workers are blocked, so that none can fetch
    past the guard; WebSockets are guarded as well. Close it when done."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900},
                               "timezone_id": "Asia/Shanghai", "service_workers": "block", **kw}
    context = await browser.new_context(locale=locale, **options)
    blocked: list[str] = []
    context.blocked = blocked  # type: ignore[attr-defined]

    async def guard(route: Route) -> None:
        url = route.request.url
        if is_local(url):
            await route.fallback()  # on to the network, or to a test's own later route
        else:
            blocked.append(url)
            await route.abort("blockedbyclient")

    async def guard_socket(socket: WebSocketRoute) -> None:
        if is_local(socket.url):
            socket.connect_to_server()
        else:
            blocked.append(socket.url)
            await socket.close(code=1008, reason="offline test: only this machine")

    await context.route("**/*", guard)
    await context.route_web_socket("**/*", guard_socket)
    return context


def console_errors(page: Page) -> list[str]:
    """A list that fills, from now on, with the page's console messages of type "error" and
    its uncaught exceptions (each with where it came from)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            errors.append(f"console: {message.text} ({where.get('url')}:{where.get('lineNumber')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"uncaught: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


async def screenshot(page: Page, name: str, **kw: Any) -> Path:
    """Saves the page as <CLUB_SCREENSHOTS>/<name>.png (`kw` goes to `page.screenshot`, e.g.
    full_page=True) and returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), **kw)
    return path
