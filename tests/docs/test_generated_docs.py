"""The docs generated from code (docs/events.md) are committed and current: regenerating them
changes nothing. A change to an API, an event or a consumer shows up in review as a change to
docs/asyncapi, docs/openapi or docs/events.md."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from club_contracts import event_types

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATED = _generator().documents()


@pytest.mark.parametrize("path", sorted(GENERATED), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_committed_document_matches_the_code(path: Path):
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make docs`"
    assert path.read_text() == GENERATED[path], (
        f"{path.relative_to(ROOT)} is out of date: run `make docs` and commit the result")


@pytest.mark.parametrize("service", ["booking", "reception", "crm", "hr"])
def test_asyncapi_names_every_topic_the_service_publishes_and_consumes(service):
    document = json.loads((ROOT / "docs" / "asyncapi" / f"{service}.json").read_text())
    consumer = importlib.import_module(f"club_{service}.handlers").consumer
    published = {t.topic for t in event_types() if t.producer == service}
    sends = {op["channel"]["$ref"].rsplit("/", 1)[1]
             for op in document["operations"].values() if op["action"] == "send"}
    receives = {op["channel"]["$ref"].rsplit("/", 1)[1]
                for op in document["operations"].values() if op["action"] == "receive"}
    assert document["asyncapi"] == "3.0.0"
    assert sends == published
    assert receives == set(consumer.topics)
    for message in document["components"]["messages"].values():
        payload = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert payload in document["components"]["schemas"]
