"""The documents generated from code (docs/generate.py: OpenAPI, AsyncAPI, the event
catalogue, the authorisation matrix) are the ones committed: a change to an API, an event or
who may call what fails here until `uv run python docs/generate.py` is run and committed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_generated_document_is_current():
    spec = importlib.util.spec_from_file_location("club_docs_generate",
                                                  ROOT / "docs" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    stale = [str(path.relative_to(ROOT)) for path, text in generate.documents().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"out of date, run `uv run python docs/generate.py`: {stale}"
