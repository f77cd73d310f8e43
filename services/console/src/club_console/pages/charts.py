"""Charts, where people would rather look than read (R2 §3.5, §5.1): satisfaction and the
complaints week by week on the surveys screen, and a staff member's indicators against their
targets on a scorecard.

Drawn on the server by pygal as SVG and served as images of their own (`image/svg+xml`),
which the pages show with `<img class="chart">`: an SVG loaded as an image runs no script and
its styles are its own, so the pages' strict Content-Security-Policy stays as it is. No
JavaScript is sent at all (pygal's tooltip script is switched off, and its inline config
script and its comments, which name its web site, are taken out), nothing is fetched from
elsewhere, and the text is in the reader's language, drawn with Noto Sans CJK SC.

Each chart calls the same API as the page with the person's own token, so the service decides
who may see it. A service that is down draws a small chart saying so; a period with nothing
in it draws one saying there is no data yet; never an error page in place of an image."""

from __future__ import annotations

import asyncio
import math
import unicodedata
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID
from xml.etree import ElementTree

import pygal
from babel import dates
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pygal.style import Style

from club_console.pages.desk import club_today
from club_console.pages.people import KPI_NAMES
from club_console.services import Problem, ServiceDown
from club_console.web import SERVICE_NAMES, Visit, visit

router = APIRouter()
T = TypeVar("T")

SVG = "image/svg+xml"
WEEKS = 12  # the weeks the surveys screen shows when no period is chosen
COMPLAINT_STATES = ("open", "acknowledged", "in_progress", "resolved", "closed")
# GET /complaints answers at most 1000 per call (and has no date filter): one call per state.
COMPLAINTS_LIMIT = 1000
# A KPI's bar: 0 at its worst value, 100 at its target (HR scores linearly between the two,
# docs/assessments.md); drawn up to 150 (the printed value says how far beyond).
PROGRESS_CAP = 150.0

BLUE, AMBER, GREEN, GREY = "#1f6f8b", "#c77c12", "#2e8b57", "#8a8a8a"


def _style(*colors: str) -> Style:
    """Noto Sans CJK SC first: the reader's browser draws the text, and Chinese needs it."""
    return Style(
        font_family="'Noto Sans CJK SC', 'Noto Sans CJK', 'Noto Sans', 'DejaVu Sans', "
                    "sans-serif",
        background="#ffffff", plot_background="#ffffff", foreground="#333333",
        foreground_strong="#111111", foreground_subtle="#d0d0d0", opacity=".85",
        opacity_hover=".95", colors=colors or (BLUE, AMBER, GREEN, GREY),
        title_font_size=18, legend_font_size=14, label_font_size=13,
        major_label_font_size=13, value_font_size=13, value_label_font_size=12,
        tooltip_font_size=13, no_data_font_size=20)


def _plain(root: ElementTree.Element) -> ElementTree.Element:
    """No script and no comments in what is sent: pygal adds its config as an inline script
    even without its tooltip script, and comments with links to its web site."""
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag
            if tag is ElementTree.Comment or (isinstance(tag, str)
                                              and tag.rsplit("}", 1)[-1] == "script"):
                parent.remove(child)
    return root


def _config(page: Visit, title: str, **kw: Any) -> dict[str, Any]:
    return {"title": title, "style": _style(), "js": [],
            "no_data_text": page._("No data yet"), "explicit_size": True, "width": 800,
            "height": 400, "legend_at_bottom": True, "truncate_label": -1,
            "truncate_legend": -1, "print_values": True, "margin": 16, **kw}


def _svg(page: Visit, chart: Any, status: int = 200) -> Response:
    """The chart as an answer of its own. Not cached: the app's SecurityHeaders gives every
    answer outside /static `Cache-Control: no-store` (and its Content-Security-Policy), so it
    is not set twice here."""
    chart.add_xml_filter(_plain)
    return page.finish(Response(chart.render(), status_code=status, media_type=SVG))


def _wide(text: str) -> int:
    """Characters drawn a full em wide (CJK and full-width forms)."""
    return sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")


def _room_for(labels: list[str], font_size: int = 13) -> int:
    """pygal makes room for labels as if every character were 0.6 em wide: a Chinese one is
    a whole em, so the axis of Chinese labels needs this much more."""
    return 16 + int(max((_wide(label) for label in labels), default=0) * 0.4 * font_size) + 4


def _message(page: Visit, title: str, text: str, status: int = 200) -> Response:
    """A small chart with only a sentence in it (a refusal, a service down, bad dates)."""
    chart = pygal.Bar(**_config(page, title, height=200, show_legend=False, no_data_text=text,
                                show_y_labels=False, show_y_guides=False,
                                show_x_labels=False))
    return _svg(page, chart, status)


async def _data(page: Visit, title: str, call: Awaitable[T]) -> tuple[T | None, Response | None]:
    """The data, or the image to send instead. A service down answers 200 with a chart that
    says so (the image is a part of a page, which itself answers 200 with that part saying it
    is unavailable; and every browser shows an image of a 200); a refusal answers the
    service's status with its sentence drawn."""
    try:
        return await call, None
    except ServiceDown as e:
        text = page._("The {service} service is not answering right now.").format(
            service=page._(SERVICE_NAMES[e.service]))
        return None, _message(page, title, text)
    except Problem as e:
        return None, _message(page, title, e.detail, status=e.status)


def _week_label(page: Visit, monday: date) -> str:
    return dates.format_skeleton("MMMd", monday, locale=page.language)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# ------------------------------------------------------------------ satisfaction per week


@router.get("/charts/crm/csat.svg")
async def csat_chart(page: Visit = Depends(visit), since: str = "", until: str = ""):
    """CSAT and the response rate per week (crm GET /surveys/report?by=week) for the surveys
    screen's period: its own dates when chosen (the last day included), else the last
    weeks. The crm service groups by the week of the visit's completion (weeks from Monday,
    UTC)."""
    page.require_person()
    title = page._("Satisfaction per week")
    zone = page.console.languages.zone
    try:
        last = date.fromisoformat(until) if until else club_today(page)
        first = date.fromisoformat(since) if since else _monday(last) - timedelta(
            weeks=WEEKS - 1)
    except ValueError:
        return _message(page, title, page._("Give the dates as year, month and day."), 422)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    report, failed = await _data(page, title, page.get(
        "crm", "/surveys/report", by="week", since=start.isoformat(), until=end.isoformat()))
    if failed is not None:
        return failed
    rows = {str(r["key"]): r for r in (report or {}).get("rows") or []}
    if not rows:
        return _message(page, title, page._("No data yet"))
    weeks = []
    monday = _monday(start.astimezone(UTC).date())
    while monday <= _monday((end - timedelta(microseconds=1)).astimezone(UTC).date()):
        weeks.append(monday)
        monday += timedelta(weeks=1)
    number = page.console.languages.number
    chart = pygal.Line(**_config(
        page, title, range=(0, 100), y_labels=[0, 20, 40, 60, 80, 100],
        x_title=page._("Week of"), y_title=page._("Per cent"), allow_interruptions=True,
        dots_size=4, value_formatter=lambda v: number(v, 1),
        x_label_rotation=330 if len(weeks) > 8 else 0,
        # A long period (the surveys screen allows up to 366 days): every few weeks named.
        x_labels_major_every=math.ceil(len(weeks) / 13) if len(weeks) > 20 else None,
        show_minor_x_labels=len(weeks) <= 20, print_values=len(weeks) <= 20))
    chart.x_labels = [_week_label(page, w) for w in weeks]
    found = [rows.get(w.isoformat()) for w in weeks]
    chart.add(page._("CSAT (per cent)"), [r.get("csat_percent") if r else None for r in found])
    chart.add(page._("Response rate (per cent)"),
              [r.get("response_rate") if r else None for r in found],
              formatter=lambda _v: "", stroke_style={"dasharray": "6, 4"})
    return _svg(page, chart)


# ------------------------------------------------------------------ complaints per week


@router.get("/charts/crm/complaints.svg")
async def complaints_chart(page: Visit = Depends(visit), weeks: int = WEEKS):
    """Complaints opened and resolved per week of the club's calendar (Monday to Sunday, club
    time) over the last weeks, counted from crm GET /complaints (every state)."""
    page.require_person()
    title = page._("Complaints per week")
    weeks = max(4, min(weeks, 26))
    zone = page.console.languages.zone
    first = _monday(club_today(page)) - timedelta(weeks=weeks - 1)
    answers, failed = await _data(page, title, asyncio.gather(*(
        page.get("crm", "/complaints", state=s, limit=COMPLAINTS_LIMIT)
        for s in COMPLAINT_STATES)))
    if failed is not None:
        return failed
    opened = [0] * weeks
    resolved = [0] * weeks

    def count(into: list[int], value: str | None) -> bool:
        if not value:
            return False
        day = datetime.fromisoformat(value).astimezone(zone).date()
        index = (_monday(day) - first).days // 7
        if 0 <= index < weeks:
            into[index] += 1
            return True
        return False

    anything = False
    for complaint in (c for answer in answers or [] for c in answer):
        anything |= count(opened, complaint.get("opened_at"))
        anything |= count(resolved, complaint.get("resolved_at"))
    if not anything:
        return _message(page, title, page._("No data yet"))
    number = page.console.languages.number
    top = max(opened + resolved + [1])
    step = max(1, math.ceil(top / 5))
    top = math.ceil(top / step) * step
    chart = pygal.Bar(**_config(
        page, title, x_title=page._("Week of"), y_title=page._("Number of complaints"),
        range=(0, top), y_labels=list(range(0, top + 1, step)),
        value_formatter=lambda v: number(v, 0), print_zeroes=False,
        x_label_rotation=330 if weeks > 8 else 0, style=_style(AMBER, GREEN)))
    chart.x_labels = [_week_label(page, first + timedelta(weeks=i)) for i in range(weeks)]
    chart.add(page._("Opened"), opened)
    chart.add(page._("Resolved"), resolved)
    return _svg(page, chart)


# ------------------------------------------------------------------ a scorecard's KPIs


def _progress(kpi: dict) -> float | None:
    """Where the value stands from the worst value (0) to the target (100), as HR scores it:
    linear between the two, whichever way is better."""
    value = kpi.get("value")
    target = kpi["target_for_period"] if kpi.get("target_for_period") is not None \
        else kpi.get("target")
    worst = kpi["worst_for_period"] if kpi.get("worst_for_period") is not None \
        else kpi.get("worst")
    if value is None or target is None or worst is None or target == worst:
        return None
    share = (value - worst) / (target - worst) * 100
    return max(0.0, min(share, PROGRESS_CAP))


@router.get("/charts/assessments/{assessment_id}.svg")
async def assessment_chart(assessment_id: UUID, page: Visit = Depends(visit)):
    """Each KPI of an assessment (hr GET /assessments/{id}): how far its value went from the
    worst value to the target, with the value and the target printed beside the bar. The hr
    service decides who sees it (managers; the staff member once it is published)."""
    page.require_person()
    title = page._("Indicators against target")
    found, failed = await _data(page, title, page.get("hr", f"/assessments/{assessment_id}"))
    if failed is not None:
        return failed
    kpis = (found or {}).get("kpis") or []
    number = page.console.languages.number
    labels, met, short, unscored = [], [], [], []
    for kpi in kpis:
        name = page._(KPI_NAMES.get(kpi["code"], kpi["code"]))
        progress = _progress(kpi)
        if progress is None:
            labels.append(page._("{name} (not measured)").format(name=name))
            for serie in (met, short, unscored):
                serie.append(None)
            continue
        labels.append(name)
        target = kpi["target_for_period"] if kpi.get("target_for_period") is not None \
            else kpi.get("target")
        text = page._("{value} (target {target})").format(value=number(kpi["value"]),
                                                          target=number(target))
        point = {"value": progress, "formatter": lambda _v, text=text: text}
        scored = kpi.get("status") == "scored"
        met.append(point if scored and progress >= 100 else None)
        short.append(point if scored and progress < 100 else None)
        unscored.append(None if scored else point)
    if all(v is None for serie in (met, short, unscored) for v in serie):
        return _message(page, title, page._("No data yet"))
    chart = pygal.HorizontalStackedBar(**_config(
        page, title, height=170 + 48 * max(len(kpis), 1), range=(0, PROGRESS_CAP),
        y_labels=[0, 25, 50, 75, 100, 125, 150], y_labels_major=[0, 100],
        x_title=page._("From the worst value (0) to the target (100)"),
        print_values_position="top", print_zeroes=False, margin_left=_room_for(labels),
        legend_at_bottom_columns=3,
        value_formatter=lambda v: number(v, 0), style=_style(GREEN, AMBER, GREY)))
    chart.x_labels = labels
    chart.add(page._("Target met"), met)
    chart.add(page._("Short of target"), short)
    chart.add(page._("Not scored"), unscored)
    return _svg(page, chart)
