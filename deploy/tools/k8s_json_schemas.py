#!/usr/bin/env python3
"""Kubernetes JSON Schemas for kubeconform, made from the Kubernetes OpenAPI document.

    python3 deploy/tools/k8s_json_schemas.py SWAGGER_JSON OUT_DIR

kubeconform normally downloads its schemas from a website this project cannot reach. The
same information ships in the `k8s.io/kubernetes` Go module (`api/openapi-spec/swagger.json`),
which install.sh takes from the Go module proxy; this turns it into kubeconform's layout:

    OUT_DIR/_definitions.json                 every definition, strict
    OUT_DIR/<kind>-<group>-<version>.json     one per kind, e.g. deployment-apps-v1.json

"Strict" is what `kubeconform -strict` expects of a schema: an object that lists its
properties allows no others (a misspelt field fails instead of being ignored), `kind` and
`apiVersion` are pinned, and int-or-string fields and quantities accept both forms, as the
API server does. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def strict(node: Any) -> Any:
    """A copy of an OpenAPI v2 schema fragment as a strict JSON Schema (draft 4) fragment."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string":
        return dict(INT_OR_STRING)
    out = {}
    for key, value in node.items():
        if key.startswith("x-"):
            continue  # vendor extensions: no meaning to a JSON Schema validator
        if key == "$ref":
            out[key] = value.replace("#/definitions/", "_definitions.json#/definitions/")
        elif key in ("properties", "definitions", "patternProperties"):
            out[key] = {name: strict(schema) for name, schema in value.items()}
        else:
            out[key] = strict(value)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def file_name(group: str, version: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`."""
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix.lower()}.json"


def convert(swagger: dict, out_dir: Path) -> int:
    definitions = swagger["definitions"]
    out_dir.mkdir(parents=True, exist_ok=True)
    shared = {name: strict(schema) for name, schema in definitions.items()}
    # A quantity is "1", "250m" or 1 in a manifest: the API server takes strings and numbers.
    shared[QUANTITY] = {"oneOf": [{"type": "string"}, {"type": "number"}],
                        "description": definitions[QUANTITY].get("description", "")}
    (out_dir / "_definitions.json").write_text(json.dumps({"definitions": shared}))
    written = 0
    for name, schema in definitions.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            group, version, kind = gvk.get("group", ""), gvk["version"], gvk["kind"]
            api_version = f"{group}/{version}" if group else version
            document = strict(schema)
            properties = document.setdefault("properties", {})
            properties["apiVersion"] = {"type": "string", "enum": [api_version]}
            properties["kind"] = {"type": "string", "enum": [kind]}
            document["additionalProperties"] = False
            document["$schema"] = "http://json-schema.org/draft-04/schema#"
            document["description"] = f"{name} ({api_version} {kind})"
            (out_dir / file_name(group, version, kind)).write_text(json.dumps(document))
            written += 1
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    swagger = json.loads(Path(argv[1]).read_text())
    count = convert(swagger, Path(argv[2]))
    print(f"{count} kind schemas in {argv[2]}")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
