"""The checked-in JSON Schemas match the models, and every docs/events.md example is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from streams.contract import EVENT_TYPES, parse_event
from streams.contract.schemas import SCHEMA_DIR, all_schemas, render

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def _doc_examples() -> dict[str, dict]:
    text = DOC.read_text(encoding="utf-8")
    found = {}
    for heading, body in re.findall(r"^### ([a-z_.]+)\n(?:.*\n)*?```json\n(.*?)\n```", text, re.M):
        found[heading] = json.loads(body)
    return found


def test_checked_in_schemas_match_the_models() -> None:
    for rel, schema in all_schemas().items():
        path = SCHEMA_DIR / rel
        assert path.exists(), f"{rel} missing: run python -m streams.contract.schemas"
        assert path.read_text(encoding="utf-8") == render(schema), (
            f"{rel} is stale: run python -m streams.contract.schemas"
        )


def test_docs_list_an_example_for_every_event_type() -> None:
    assert set(_doc_examples()) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_doc_example_is_valid_by_schema_and_by_parser(event_type: str) -> None:
    example = _doc_examples()[event_type]
    schema = json.loads((SCHEMA_DIR / "events" / f"{event_type}.json").read_text())
    jsonschema.validate(example, schema, format_checker=jsonschema.FormatChecker())
    event = parse_event(example)
    assert event.type == event_type == example["type"]


def test_schema_rejects_what_the_parser_rejects() -> None:
    example = _doc_examples()["wallet.topup"]
    example["data"]["amount"] = "20"
    schema = json.loads((SCHEMA_DIR / "events" / "wallet.topup.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, schema)
