"""Every page each person can reach, in both languages: walked from their start page by
following the console's own links (after the other tests of the package have filled the club
with a day's data). The console runs with CONSOLE_I18N_STRICT, so a message missing from the
catalogues shows as ⟦message⟧; none may be left, no link may lead to an error or a refusal,
and the page says which language it is in."""

from __future__ import annotations

import re
from collections import deque

import pytest

pytestmark = pytest.mark.slow

PEOPLE = ("head", "attendant", "specialist", "hradmin", "member")
LANGUAGES = (("zh-CN", "zh-CN"), ("en", "en"))
SKIP = re.compile(r"^/(sign-out|sign-in|language|static/|charts/)|/stream$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Pages of one kind (a complaint, a visit) are alike: two of each are enough.
PER_KIND = 2
LIMIT = 120


def _links(html: str) -> list[str]:
    found = []
    for href in re.findall(r'href="(/[^"#]*)"', html):
        href = href.replace("&amp;", "&")
        if not SKIP.search(href):
            found.append(href)
    return found


@pytest.mark.parametrize("locale,html_lang", LANGUAGES)
async def test_every_page_renders_in_both_languages(club_console, browser, locale, html_lang):
    club = club_console
    problems, walked = [], 0
    for who in PEOPLE:
        page = await club.sign_in(browser, who, locale=locale)
        start = page.url.removeprefix(club.url)
        queue, seen, kinds = deque([start]), {start}, {}
        while queue and walked < LIMIT * len(PEOPLE):
            path = queue.popleft()
            answer = await page.request.get(f"{club.url}{path}",
                                            headers={"Accept-Language": locale})
            walked += 1
            html = await answer.text()
            if answer.status != 200:
                problems.append(f"{who} {path}: {answer.status}")
                continue
            if "⟦" in html:
                missing = sorted(set(re.findall(r"⟦([^⟧]*)⟧", html)))
                problems.append(f"{who} {path}: untranslated {missing[:5]}")
            if f'<html lang="{html_lang}">' not in html:
                problems.append(f"{who} {path}: not marked {html_lang}")
            for link in _links(html):
                kind = UUID.sub("*", link.split("?")[0])
                if link in seen or kinds.get(kind, 0) >= PER_KIND:
                    continue
                seen.add(link)
                kinds[kind] = kinds.get(kind, 0) + 1
                queue.append(link)
        await page.context.close()
    assert walked > 40, walked  # the walk reached the screens, not only the start pages
    assert problems == [], "\n".join(problems)
