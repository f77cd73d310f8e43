"""How long the console's main pages take, beside the API calls they make, on the platform
`make up` started (its demo day's data): `uv run python -m tests.benchmarks.console_pages
[--loads 100]`.

Each demo user signs in at Keycloak as a browser does (the login form, the redirects), then
loads each of their main pages `--loads` times, one after another. For every load the
console's Server-Timing header says how long the page took on the server and how much of it
was spent waiting for the services (summed over its calls); the client's own time includes
the HTTP round trip. The figures: p50 and p95 of each, per page. A benchmark, not a test:
it reads the platform and changes nothing in it."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import statistics
from pathlib import Path

import httpx
from club_platform.testing.infrastructure import read_env_file

from tests.benchmarks.common import Figure, report
from tests.identity.provider import Browser

ROOT = Path(__file__).resolve().parents[2]
# The demo users (deploy/local/keycloak.py) and the screens of their day.
PAGES = {
    "attendant": ["/desk", "/desk/floor", "/bookings", "/me"],
    "specialist": ["/crm", "/crm/followups", "/crm/surveys"],
    "head": ["/people", "/people/assessments", "/people/cases", "{assessment}"],
    "hradmin": ["/people/policies", "/people/training"],
    "member": ["/member", "/member/complaints"],
}


async def _follow(browser: Browser, response: httpx.Response) -> httpx.Response:
    while response.is_redirect:
        response = await browser.get(str(response.url.join(response.headers["location"])))
    return response


async def sign_in(console: str, username: str, password: str) -> Browser:
    """The demo user through Keycloak's login form, redirects followed as a browser does."""
    browser = Browser()
    login = await _follow(browser, await browser.get(f"{console}/sign-in?next=/"))
    form = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login.text)
    assert form, f"no login form at {login.url}"
    answer = await _follow(browser, await browser.post(
        html.unescape(form.group(1)), data={"username": username, "password": password}))
    assert str(answer.url).startswith(console), f"sign-in of {username} ended at {answer.url}"
    return browser


def _timing(header: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r"(\w+);dur=([\d.]+)", header)}


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def measure(console: str, http: Browser, path: str, loads: int) -> dict:
    client, page, api = [], [], []
    await http.get(f"{console}{path}")  # warm: the first load fills the console's caches
    for _ in range(loads):
        started = asyncio.get_running_loop().time()
        answer = await http.get(f"{console}{path}")
        client.append((asyncio.get_running_loop().time() - started) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
        timing = _timing(answer.headers.get("server-timing", ""))
        page.append(timing["page"])
        api.append(timing["api"])
    return {"client": client, "page": page, "api": api}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=100)
    args = parser.parse_args()
    env = read_env_file(ROOT / ".env.local")
    console = env.get("CLUB_CONSOLE_URL", "http://127.0.0.1:8100")
    secrets = json.loads((ROOT / ".local" / "secrets.json").read_text())
    figures, rows = [], []
    for who, paths in PAGES.items():
        http = await sign_in(console, who, secrets[f"keycloak_user_{who}"])
        async with http:
            for path in paths:
                if path == "{assessment}":
                    listing = (await http.get(f"{console}/people/assessments")).text
                    found = re.search(r'href="(/people/assessments/[0-9a-f-]{36})"', listing)
                    if not found:
                        continue
                    path = found.group(1)
                times = await measure(console, http, path, args.loads)
                row = {k: (statistics.median(v), _quantile(v, 0.95)) for k, v in times.items()}
                rows.append((who, re.sub(r"[0-9a-f-]{36}", "{id}", path), row))
                for kind, (p50, p95) in row.items():
                    figures.append(Figure("console-pages", f"{path[:24]} {kind} p50", "ms", p50,
                                          runs=times[kind], note=f"p95 {p95:.1f} ms; {who}"))
    print("\n| page | as | p50 / p95 in the browser's HTTP (ms) | p50 / p95 on the server (ms) "
          "| p50 / p95 of that in the services (ms) |\n|---|---|---|---|---|")
    for who, path, row in rows:
        print(f"| `{path}` | {who} | {row['client'][0]:.1f} / {row['client'][1]:.1f} | "
              f"{row['page'][0]:.1f} / {row['page'][1]:.1f} | "
              f"{row['api'][0]:.1f} / {row['api'][1]:.1f} |")
    report(figures, "console-pages")


if __name__ == "__main__":
    asyncio.run(main())
