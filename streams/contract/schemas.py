"""JSON Schemas of the contract, generated from the models and checked in under
docs/schemas/ so non-Python producers can validate before sending.

`python -m streams.contract.schemas` rewrites them; a test fails when they drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from streams.contract.envelope import CITY_PATTERN, SPECVERSION
from streams.contract.events import DATA_MODELS
from streams.contract.records import (
    CheckRecord,
    ClockMark,
    DeadLetter,
    LedgerEntry,
    Notification,
    Outcome,
    ValidityRecord,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
RECORD_MODELS = {
    "notification": Notification,
    "ledger-entry": LedgerEntry,
    "validity-record": ValidityRecord,
    "clock-mark": ClockMark,
    "outcome": Outcome,
    "dead-letter": DeadLetter,
    "check-record": CheckRecord,
}


def event_schema(event_type: str) -> dict[str, Any]:
    """The whole CloudEvent for one type: envelope attributes plus its `data` schema."""
    data_schema = DATA_MODELS[event_type].model_json_schema()
    defs = data_schema.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:platform:schema:event:{event_type}",
        "title": f"CloudEvent {event_type}",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "city", "data"],
        "properties": {
            "specversion": {"const": SPECVERSION},
            "id": {"type": "string", "minLength": 1, "maxLength": 256},
            "source": {"type": "string", "minLength": 1, "maxLength": 512},
            "type": {"const": event_type},
            "time": {"type": "string", "format": "date-time"},
            "city": {"type": "string", "pattern": CITY_PATTERN},
            "datacontenttype": {"const": "application/json"},
            "subject": {"type": "string", "maxLength": 256},
            "data": data_schema,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def record_schema(name: str) -> dict[str, Any]:
    schema = RECORD_MODELS[name].model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:platform:schema:record:{name}"
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """Relative path under docs/schemas -> schema."""
    out = {f"events/{t}.json": event_schema(t) for t in DATA_MODELS}
    out.update({f"records/{n}.json": record_schema(n) for n in RECORD_MODELS})
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for rel, schema in all_schemas().items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    sys.exit(0)
