"""What several page modules share (not a router: pages/__init__.py skips modules named `_…`):
the club's calendar (its zone, its today, a day or a time typed into a form as the RFC 3339
instant the services take), a form's text values, the label of an API value, and a page shown
again with the service's complaint beside the form it concerns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.responses import HTMLResponse

from club_console import web
from club_console.services import Problem
from club_console.web import Visit


def zone(page: Visit):
    return page.console.languages.zone


def club_today(page: Visit) -> date:
    return datetime.now(zone(page)).date()


def chosen_day(page: Visit, text: str | None) -> date:
    """A `YYYY-MM-DD` from the query, else the club's today."""
    try:
        return date.fromisoformat(text) if text else club_today(page)
    except ValueError:
        return club_today(page)


def local_midnight(page: Visit, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone(page))


def local_instant(page: Visit, day_text: str, clock: str) -> str:
    """A local date and `HH:MM` as the RFC 3339 instant the services take (ValueError if
    either is not valid)."""
    moment = datetime.combine(date.fromisoformat(day_text),
                              datetime.strptime(clock, "%H:%M").time(), zone(page))
    return moment.isoformat()


def datetime_local(page: Visit, value: str) -> str:
    """A `datetime-local` field (club time) as the RFC 3339 instant the services take;
    ValueError when it is not one."""
    return datetime.fromisoformat(value).replace(tzinfo=zone(page)).isoformat()


def instant(text: str) -> datetime:
    """An instant as the services write it (a trailing `Z` read as UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def text_values(form: Any, *names: str) -> dict[str, str]:
    """The named fields of a posted form as trimmed text ("" when absent): what the page
    sends on, and what it shows again in the form when the service refuses it."""
    return {name: str(form.get(name) or "").strip() for name in names}


def label(table: dict[str, str], value: str | None) -> str:
    """An API value as people read it: its label from `table` (declared with N_) in the
    reader's language, else the code itself with spaces for underscores."""
    if not value:
        return ""
    return web._gettext(table[value]) if value in table else value.replace("_", " ")


def again(page: Visit, template: str, problem: Problem, form_name: str,
          values: dict[str, Any], context: dict[str, Any]) -> HTMLResponse:
    """The page again, with the service's status, its sentence above the form `form_name`,
    its per-field messages beside the fields, and what the person typed still in them."""
    return page.render(template, status=problem.status, **context,
                       problem={form_name: problem.detail}, fields={form_name: problem.fields},
                       values={form_name: values})
