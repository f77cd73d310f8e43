"""JSON Schemas of the event contracts, their committed snapshots, and the compatibility rule.

Within a major version only optional fields may be added (docs/events.md). `breaking_changes`
compares a committed snapshot with the schema the code generates now and names every change
that would break a subscriber: a field removed or retyped, a field made required, a required
field made optional, a value set (enum) changed.

    python -m club_contracts.schemas write   # refresh the snapshots after a compatible change
    python -m club_contracts.schemas check   # exit 1 and list what breaks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from club_contracts.base import Event, event_types

SNAPSHOT_DIR = Path(__file__).with_name("schemas")
_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Every schema's `$id` is this base plus its file name in SNAPSHOT_DIR (`<topic>.v<major>.json`),
# so an id names the file that holds it: a subscriber resolves an id by its last path segment
# against the schemas directory (or its own copy of it). The base is a name, not a server.
SCHEMA_BASE = "https://schemas.club.example/events/"

# Annotations the club adds to every schema (not validation keywords). A strict validator must
# be told of them: with Ajv, `ajv.addVocabulary(ANNOTATIONS)`; docs/events.md says what each means.
ANNOTATIONS = ("x-topic", "x-ce-type", "x-key", "x-producer")


def schema_for(event_type: type[Event]) -> dict[str, Any]:
    """The JSON Schema of the `data` of one event type, as it travels on the bus."""
    schema = event_type.model_json_schema(mode="serialization")
    schema = {
        "$schema": _SCHEMA_DIALECT,
        "$id": SCHEMA_BASE + snapshot_path(event_type).name,
        "title": event_type.ce_type(),
        "description": (event_type.__doc__ or "").strip() or f"The data of `{event_type.topic}`.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "x-topic": event_type.topic,
        "x-ce-type": event_type.ce_type(),
        "x-key": event_type.key_field,
        "x-producer": event_type.producer,
    }
    return schema


def snapshot_path(event_type: type[Event]) -> Path:
    return SNAPSHOT_DIR / f"{event_type.topic}.v{event_type.major}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_snapshots(directory: Path = SNAPSHOT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in event_types():
        path = directory / snapshot_path(event_type).name
        path.write_text(render(schema_for(event_type)))
        written.append(path)
    return written


def load_snapshot(event_type: type[Event]) -> dict[str, Any] | None:
    path = snapshot_path(event_type)
    return json.loads(path.read_text()) if path.exists() else None


# ------------------------------------------------------------------ compatibility


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root.get("$defs", {})[name]
    return node


def _shape(node: dict[str, Any], root: dict[str, Any]) -> Any:
    """A comparable description of a value's type, ignoring titles, docs and defaults."""
    node = _resolve(node, root)
    if "anyOf" in node:
        return ("anyOf", sorted(repr(_shape(n, root)) for n in node["anyOf"]))
    shape: dict[str, Any] = {}
    for word in ("type", "format", "const", "pattern"):
        if word in node:
            shape[word] = node[word]
    if "enum" in node:
        shape["enum"] = sorted(map(repr, node["enum"]))
    if "items" in node:
        shape["items"] = _shape(node["items"], root)
    if "properties" in node:
        shape["properties"] = {k: _shape(v, root) for k, v in sorted(node["properties"].items())}
        shape["required"] = sorted(node.get("required", []))
    return repr(shape)


def _object_changes(
    path: str, old: dict[str, Any], old_root: dict, new: dict[str, Any], new_root: dict
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    changes: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, old_field in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            changes.append(f"field `{where}` was removed")
            continue
        new_field = new_props[name]
        o, n = _resolve(old_field, old_root), _resolve(new_field, new_root)
        if "properties" in o and "properties" in n:
            changes += _object_changes(f"{where}.", o, old_root, n, new_root)
        elif _shape(old_field, old_root) != _shape(new_field, new_root):
            changes.append(f"field `{where}` changed type")
        if name not in old_required and name in new_required:
            changes.append(f"optional field `{where}` became required")
        if name in old_required and name not in new_required:
            changes.append(f"required field `{where}` became optional")
    for name in sorted(new_required - set(old_props)):
        changes.append(f"new field `{path}{name}` is required (only optional fields may be added)")
    return changes


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change from `old` to `new` that breaks a subscriber within a major version."""
    return _object_changes("", old, old, new, new)


def breaking_against_snapshots() -> list[str]:
    """Every breaking change between the committed snapshots and the code."""
    problems = []
    for event_type in event_types():
        snapshot = load_snapshot(event_type)
        if snapshot is not None:
            problems += [f"{event_type.ce_type()}: {change}"
                         for change in breaking_changes(snapshot, schema_for(event_type))]
    return problems


def missing_snapshots() -> list[str]:
    return [t.ce_type() for t in event_types() if load_snapshot(t) is None]


def stale_snapshots() -> list[str]:
    """Snapshots that differ from the code at all (a compatible change not yet written)."""
    return [t.ce_type() for t in event_types()
            if (snap := load_snapshot(t)) is not None and snap != schema_for(t)]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    if command == "write":
        breaking = breaking_against_snapshots()
        if breaking and "--force" not in args:
            print("refusing to overwrite snapshots with breaking changes; publish a new major:")
            print("\n".join(f"  {p}" for p in breaking))
            return 1
        for path in write_snapshots():
            print(path)
        return 0
    if command == "check":
        problems = breaking_against_snapshots()
        problems += [f"{t}: no committed snapshot (run `write`)" for t in missing_snapshots()]
        problems += [f"{t}: snapshot is out of date (run `write`)" for t in stale_snapshots()]
        print("\n".join(problems) or "all event schemas match their committed snapshots")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
