"""The console's screens, one module per area of the regulations, each with a `router`: desk
(the front desk), bookings, crm and customers (customer relations), people, assessments, cases
and records (HR and the head), me (every staff member's own page), member (the members' pages
and the survey link), charts (the SVG charts those pages show). Modules whose name starts with
`_` hold what several of them share."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{module.name}").router)
    return found
