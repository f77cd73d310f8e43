"""Generate the docs that come from code (docs/events.md), for `make docs`:

    docs/asyncapi/<service>.json   AsyncAPI 3.0 of each service (what it publishes, consumes)
    docs/openapi/<service>.json    OpenAPI of each service's HTTP API
    docs/events.md                 the event catalogue page, with links to the JSON Schemas
    docs/authorization.md          who may call each endpoint (read from the routes' checks)
    docs/regulations.md            the service-department regulations, clause by clause (from
                                   club_platform/regulations/clauses.json)

`uv run python docs/generate.py` writes them; `--check` exits 1 if any committed file differs
(tests/test_generated_docs.py runs the same comparison).

The AsyncAPI documents name the Kafka servers a deployment has: by default the production-like
cluster of deploy/helm/environments/example.yaml and the SASL listener `make up` starts. For
your own deployment, generate them with its servers instead (the committed ones stay as they
are):

    uv run python docs/generate.py --server prod=SASL_SSL://kafka.club.internal:9093 \
        --out /tmp/asyncapi
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, get_args

from club_contracts import event_types
from club_contracts.schemas import SNAPSHOT_DIR, snapshot_path
from club_platform import asyncapi, regulations
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


def default_servers() -> list[asyncapi.Server]:
    """The clusters this repository deploys to, read from its own deployment files."""
    import yaml

    example = yaml.safe_load((ROOT / "deploy/helm/environments/example.yaml").read_text())
    settings = example["settings"]
    return [
        asyncapi.Server("production", settings["KAFKA_BOOTSTRAP_SERVERS"],
                        settings["KAFKA_SECURITY_PROTOCOL"],
                        "A production cluster as deploy/helm/environments/example.yaml has it "
                        "(TLS and SCRAM); your deployment's address differs: regenerate with "
                        "--server."),
        asyncapi.Server("local", "127.0.0.1:19094", "SASL_PLAINTEXT",
                        "The SASL listener of `make up` (CLUB_KAFKA_SASL_PORT, 19094 by "
                        "default), where every principal is held to its ACLs."),
    ]


def parse_server(text: str) -> asyncapi.Server:
    """`name=PROTOCOL://host:port`, e.g. `prod=SASL_SSL://kafka.club.internal:9093`."""
    try:
        name, rest = text.split("=", 1)
        protocol, host = rest.split("://", 1)
    except ValueError:
        raise SystemExit(f"--server {text!r}: expected NAME=PROTOCOL://HOST:PORT") from None
    if protocol not in ("SASL_SSL", "SASL_PLAINTEXT", "SSL", "PLAINTEXT"):
        raise SystemExit(f"--server {text!r}: unknown security protocol {protocol}")
    return asyncapi.Server(name, host, protocol)


def asyncapi_document(name: str, servers: list[asyncapi.Server] | None = None) -> dict:
    consumer, _, _ = _service(name)
    return asyncapi.build(
        name, consumes=consumer.event_types, servers=servers or default_servers(),
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
    lines += _subscribing_section()
    return "\n".join(lines)


def _codes(values: Any) -> str:
    return ", ".join(f"`{v}`" for v in get_args(values))


def _subscribing_section() -> list[str]:
    """What a subscriber in another language must know, beyond the table above."""
    from club_contracts import catalogue_v2 as v2
    from club_contracts.schemas import ANNOTATIONS, SCHEMA_BASE

    deprecated = [f"| `{old}` | `{new}` | {v2.DEPRECATION_ENDS} |"
                  for old, new in sorted(v2.DEPRECATED.items())]
    return [
        "## Subscribing from another system",
        "",
        "Everything here holds for any language; `tests/outside_subscriber/` is a Node.js "
        "subscriber that uses nothing but this page and the schemas, and runs in the tests.",
        "",
        "### Access",
        "",
        "Ask the club's operator for a principal (`club kafka-outside grant`, "
        "[operations](operations.md#outside-subscribers)). You get a name, a password, the "
        "topics you may read and a consumer group of your own, `outside.<name>`. Connect with "
        "SASL/SCRAM-SHA-512 to the servers in `docs/asyncapi/*.json` (`servers`; TLS where "
        "the protocol is `kafka-secure`). The principal reads only the topics granted, "
        "commits offsets only in its own group and writes nothing; the dead-letter topics "
        "(`<group>.dlq`) are never granted. A revoked principal's reads stop at once.",
        "",
        "### Delivery, order and retention",
        "",
        "- **At least once.** An event may arrive more than once (a relay resending after a "
        "fault, a replay). Every event has a unique `ce_id` header: record the ids you have "
        "handled with the effects they caused, and skip an id you have seen.",
        "- **Order per key within a topic only.** The Kafka key is the aggregate id (the "
        "`key` column); one aggregate's events on one topic arrive in the order they "
        "happened. There is no order across topics or across keys: a `visit.completed` may "
        "arrive before the `booking.created` it follows. Compare `ce_time` or the event's "
        "own times when you need one.",
        "- **Kept forever.** Topics have no retention limit (`retention.ms=-1`), so a new "
        "subscriber, or one rebuilding its store, reads from offset 0 and sees every event "
        "ever published.",
        "",
        "### Versions",
        "",
        "`ce_type` is `club.<topic>.v<major>`. Within a major only optional fields are "
        "added: ignore fields you do not know (never validate with "
        "`additionalProperties: false` of your own). A change that would break a subscriber "
        "comes as a new major **on the same topic**, published beside the old one during a "
        "deprecation window: each change then arrives twice, once per major, with different "
        "`ce_id`s. Read one major per topic and skip, without failing, every `ce_type` you do "
        "not know (a later major, or one you have not moved to). After the window only the "
        "new major is published; the old one's events stay in the topic's history.",
        "",
        "| deprecated | replaced by | last published |",
        "|---|---|---|",
        *deprecated,
        "",
        "The second majors replace free text with codes: `booking.cancelled.v2` `reason` is "
        f"one of {_codes(v2.CancelReasonCode)}; `complaint.resolved.v2` `resolution_code` is "
        f"one of {_codes(v2.ResolutionCode)}; `reward.granted.v2` `reason_code` is one of "
        f"{_codes(v2.RewardReasonCode)}. While v1 is still published, its "
        "`complaint.resolved.resolution` and `reward.granted.reason` carry the code's "
        "standard English wording, never what a person typed; the text itself stays in CRM "
        "(`GET /complaints/{id}`) and HR (`GET /rewards`).",
        "",
        "### Values",
        "",
        "- Optional fields (`?` above) arrive as `null` from the club's services; the "
        "schemas also allow them to be absent (another producer, an older event): treat "
        "absent as `null`.",
        "- Times are RFC 3339 in UTC (`2026-11-27T10:00:00Z`); dates are `YYYY-MM-DD`.",
        "- Money is `{\"amount\": \"12.50\", \"currency\": \"CNY\"}`: the amount a "
        "decimal string with two places (never a binary float), the currency ISO 4217; "
        "when `currency` is absent it is `CNY`.",
        "- Ids are UUIDs. A `customer_id` is opaque: the customer's details stay in CRM.",
        "",
        "### `customer.erased`",
        "",
        "CRM publishes it when a customer's personal data is erased (their privacy, "
        "R1 §4.4). Erase or anonymise whatever you hold about that `customer_id` and keep "
        "no link back to the person. Events already in the topics keep the id, which then "
        "names no one; when you rebuild from offset 0, apply the erasure again as you meet "
        "it.",
        "",
        "### Personal data",
        "",
        "No customer's personal data travels on the bus, ever: customers appear only as "
        "`customer_id`. Staff do appear by name: `staff.hired` carries the staff member's "
        "`display_name` (the name shown to customers) and `department`, so the other "
        "services can show who served; treat them as staff personal data. No field holds "
        "free text a person typed about a customer or a colleague: every string is a code "
        "(an enum, or a code of HR's configuration: `violation`, `rule_ref`, a training's "
        "`clause`, a KPI `code`), an id, a time, a policy's title or the staff names above "
        "(`shared/contracts/tests/test_schema_compatibility.py` keeps it so). So "
        "`discipline.opened` carries the case's rule and violation codes but not what the "
        "manager wrote about the case, and `training.assigned` the clause a session is held "
        "under but not its title; both stay in HR (`GET /discipline/cases/{id}`, "
        "`GET /training/sessions/{id}`).",
        "",
        "### Validating with the schemas",
        "",
        "The schemas are JSON Schema **Draft 2020-12**, one file per `ce_type`, named "
        "`<topic>.v<major>.json`. Each `$id` is absolute, "
        f"`{SCHEMA_BASE}<topic>.v<major>.json`: its last segment is the file's name in "
        f"`{SNAPSHOT_DIR.relative_to(ROOT)}/`. The base is a name, not a server: load the "
        "files (or your copy of them) into your validator and it resolves every `$id` "
        "without the network. Pick the schema by the `ce_type` header (`x-ce-type`).",
        "",
        "Each schema carries four annotations of the club's, which say where the event "
        "travels and validate nothing:",
        "",
        "| keyword | means |",
        "|---|---|",
        "| `x-topic` | the Kafka topic |",
        "| `x-ce-type` | the `ce_type` header, `club.<topic>.v<major>` |",
        "| `x-key` | the field whose value is the Kafka key and `ce_subject` |",
        "| `x-producer` | the service (or outside system) that publishes it; `ce_source` is "
        "`club/<producer>` |",
        "",
        "A strict validator refuses unknown keywords until told of these: declare them "
        f"({', '.join(f'`{a}`' for a in ANNOTATIONS)}) as a vocabulary of annotations, and "
        "turn format checking on, for the formats `uuid`, `date-time` and `date`. With Ajv "
        "(JavaScript): `new Ajv2020({strict: true})`, `addFormats(ajv)` from `ajv-formats`, "
        "`ajv.addVocabulary([\"x-topic\", \"x-ce-type\", \"x-key\", \"x-producer\"])`. "
        "With Python's `jsonschema`: `Draft202012Validator(schema, "
        "format_checker=Draft202012Validator.FORMAT_CHECKER)` (it ignores unknown keywords).",
        "",
    ]


def render_json(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def documents() -> dict[Path, str]:
    files = {DOCS / "events.md": events_page(), DOCS / "authorization.md": authorization_page()}
    files[DOCS / "regulations.md"] = regulations.render_markdown()
    for name in SERVICES:
        files[DOCS / "asyncapi" / f"{name}.json"] = render_json(asyncapi_document(name))
        files[DOCS / "openapi" / f"{name}.json"] = render_json(openapi_document(name))
    return files


def main(argv: list[str]) -> int:
    servers = [parse_server(argv[i + 1]) for i, a in enumerate(argv) if a == "--server"]
    if servers:
        out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else None
        if out is None:
            raise SystemExit("with --server, pass --out DIR: the committed documents keep "
                             "the repository's own servers")
        out.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            (out / f"{name}.json").write_text(render_json(asyncapi_document(name, servers)))
            print(out / f"{name}.json")
        return 0
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
