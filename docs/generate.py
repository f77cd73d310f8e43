"""Generate the docs that come from code (STYLE rule 4), for `make docs`:

    docs/asyncapi/<service>.json   AsyncAPI 3.0 of each service (what it publishes, consumes)
    docs/openapi/<service>.json    OpenAPI of each service's HTTP API
    docs/events.md                 the event catalogue page, with links to the JSON Schemas
    docs/authorization.md          who may call each endpoint (read from the routes' checks)

`uv run python docs/generate.py` writes them; `--check` exits 1 if any committed file differs
(tests/test_generated_docs.py runs the same comparison).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from club_contracts import event_types
from club_contracts.schemas import SNAPSHOT_DIR, snapshot_path
from club_platform import asyncapi
from club_platform.auth import Role, RouteAccess, route_access

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
SERVICES = ("booking", "reception", "crm", "hr")

# Settings good enough to build an app object (nothing connects while building).
PLACEHOLDERS = {
    "database_url": "postgresql+asyncpg://docs:docs@localhost:5432/docs",
    "kafka_bootstrap_servers": "localhost:9092",
    "jwt_secret": "docs-generation-only-not-a-secret",
    "environment": "test",
}


def _service(name: str) -> tuple[Any, Any, Any]:
    handlers = importlib.import_module(f"club_{name}.handlers")
    app_module = importlib.import_module(f"club_{name}.app")
    settings_module = importlib.import_module(f"club_{name}.settings")
    settings_class = next(v for k, v in vars(settings_module).items()
                          if k.endswith("Settings") and k != "ServiceSettings")
    return handlers.consumer, app_module.build_app, settings_class


def asyncapi_document(name: str) -> dict:
    consumer, _, _ = _service(name)
    return asyncapi.build(
        name, consumes=consumer.event_types,
        title=f"Club {name} service — events",
        description=f"What the {name} service publishes and consumes on Kafka. Envelope: "
                    "CloudEvents 1.0, binary mode; key: the aggregate id.",
    )


def service_app(name: str) -> Any:
    """The service's FastAPI app, built with placeholder settings (nothing connects)."""
    _, build_app, settings_class = _service(name)
    extra = getattr(settings_class, "docs_placeholders", dict)()
    return build_app(settings_class(**PLACEHOLDERS, **extra))


def openapi_document(name: str) -> dict:
    return service_app(name).openapi()


def endpoints(name: str) -> list[RouteAccess]:
    """Every endpoint of the service with the roles its checks admit (None: public)."""
    return route_access(service_app(name))


def authorization_page() -> str:
    roles = list(Role)
    lines = [
        "# Who may call what: the authorisation matrix",
        "",
        "Generated from the services' routes by `docs/generate.py` (each route's "
        "`require_roles` check, read by `club_platform.auth.route_access`); do not edit by "
        "hand. A change of who may do what shows up here in review. "
        "`tests/security/test_authorization.py` sends a request for every endpoint and role "
        "(and with no token, an expired one and a forged one) to the running services and "
        "checks each answer against this matrix: a role without ✓ gets 403, a request "
        "without a valid token 401.",
        "",
        "The matrix is the role check at the door. Inside, some endpoints narrow it further "
        "to the caller's own records — a member's own bookings, visits, complaints and "
        "survey invitations; a staff member's own HR records — as each service's README "
        "says; another member's booking or visit answers 404, another's complaint 404, and "
        "a staff member's request for a colleague's HR records 403.",
        "",
    ]
    for name in SERVICES:
        found = endpoints(name)
        public = [e for e in found if e.roles is None]
        lines += [f"## {name}", "",
                  "| endpoint | " + " | ".join(r.value for r in roles) + " |",
                  "|---|" + "---|" * len(roles)]
        for e in found:
            if e.roles is not None:
                marks = " | ".join("✓" if r in e.roles else "·" for r in roles)
                lines.append(f"| `{e.method} {e.path}` | {marks} |")
        lines += ["", "Public (no token): " + ", ".join(
            f"`{e.method} {e.path}`" for e in public) + ".", ""]
    return "\n".join(lines)


def events_page() -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated from `shared/contracts` by `docs/generate.py`; do not edit by hand.",
        "",
        "Every event travels on its own topic, keyed by its aggregate id, with a CloudEvents "
        "1.0 envelope in Kafka binary mode (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, "
        "`ce_time`, `ce_subject`, `content-type`, and `traceparent` when traced). The value is "
        "the JSON data. Subscribers in any language can validate it with the JSON Schema "
        "linked below; within a major version only optional fields are ever added.",
        "",
        "| topic | `ce_type` | key | producer | consumers | fields | schema |",
        "|---|---|---|---|---|---|---|",
    ]
    consumers: dict[str, list[str]] = {}
    for name in SERVICES:
        consumer, _, _ = _service(name)
        for topic in consumer.topics:
            consumers.setdefault(topic, []).append(name)
    for event_type in event_types():
        schema = snapshot_path(event_type).relative_to(ROOT)
        fields = ", ".join(
            f"`{n}`" + ("?" if not f.is_required() else "")
            for n, f in event_type.model_fields.items())
        lines.append(
            f"| `{event_type.topic}` | `{event_type.ce_type()}` | `{event_type.key_field}` | "
            f"{event_type.producer} | {', '.join(consumers.get(event_type.topic, [])) or '—'} | "
            f"{fields} | [{schema.name}](../{schema}) |")
    lines += ["", "`?` marks an optional (nullable) field. Schemas live in "
              f"`{SNAPSHOT_DIR.relative_to(ROOT)}/`.", ""]
    return "\n".join(lines)


def render_json(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def documents() -> dict[Path, str]:
    files = {DOCS / "events.md": events_page(), DOCS / "authorization.md": authorization_page()}
    for name in SERVICES:
        files[DOCS / "asyncapi" / f"{name}.json"] = render_json(asyncapi_document(name))
        files[DOCS / "openapi" / f"{name}.json"] = render_json(openapi_document(name))
    return files


def main(argv: list[str]) -> int:
    stale = []
    for path, text in documents().items():
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(path.relative_to(ROOT))
    if stale:
        print("out of date (run `make docs`):\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
