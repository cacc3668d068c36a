"""The CloudEvents 1.0 envelope: parsing, validation with precise reasons, and building.

Every inbound event is a structured-mode CloudEvents JSON object with `specversion`,
`id` (the idempotency key), `source`, `type`, `time` (when it happened, with a UTC
offset), the extension attribute `city` and `data` (events.py). Inside the product an
`Event` carries `time` in UTC and `data` as the typed model of its type.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.contract.events import DATA_MODELS, AwareDatetime, EventData

SPECVERSION = "1.0"
CITY_PATTERN = r"^[a-z][a-z0-9]{0,19}$"
_EXTENSION_NAME = CITY_PATTERN  # CloudEvents: lower-case letters and digits, <= 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an event: the dotted path of the field and what is wrong."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


class EventRejected(ValueError):
    """An event failed validation; `problems` name each field and what is wrong with it."""

    def __init__(self, problems: list[Problem], event_id: str | None = None) -> None:
        self.problems = problems
        self.event_id = event_id
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return "; ".join(f"{p.field}: {p.problem}" for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "problems": [p.as_dict() for p in self.problems]}


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=512)
    type: str
    time: AwareDatetime
    city: str = Field(pattern=CITY_PATTERN)
    datacontenttype: str | None = None
    subject: str | None = Field(default=None, max_length=256)
    dataschema: str | None = None
    data: dict[str, Any]


@dataclass(frozen=True)
class Event:
    """A validated inbound event. `time` is UTC; `data` is the typed model of `type`."""

    id: str
    source: str
    type: str
    time: datetime
    city: str
    data: EventData
    subject: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    def to_cloudevent(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": format_time(self.time),
            "city": self.city,
            "datacontenttype": "application/json",
            "data": self.data.model_dump(mode="json", exclude_none=True),
        }
        if self.subject is not None:
            body["subject"] = self.subject
        body.update(self.extensions)
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_cloudevent(), ensure_ascii=False, separators=(",", ":")).encode()


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the form every record of the product carries."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"] if part != "__root__")
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(
            Problem(field=f"{prefix}{path}" if path else prefix.rstrip("."), problem=message)
        )
    return problems or [Problem(prefix.rstrip(".") or "event", "is invalid")]


def parse_event(
    raw: bytes | str | dict[str, Any], known_cities: frozenset[str] | None = None
) -> Event:
    """Validate one CloudEvent and return it typed, or raise EventRejected with reasons."""
    envelope = _valid_envelope(raw)
    event_id = envelope.id
    problems: list[Problem] = []
    if envelope.specversion != SPECVERSION:
        problems.append(Problem("specversion", f"must be {SPECVERSION!r}"))
    if envelope.datacontenttype not in (None, "application/json"):
        problems.append(Problem("datacontenttype", "must be application/json"))
    if known_cities is not None and envelope.city not in known_cities:
        problems.append(Problem("city", f"unknown city {envelope.city!r}"))
    extensions = dict(envelope.model_extra or {})
    for name in extensions:
        if not _valid_extension_name(name):
            problems.append(Problem(name, "is not a valid CloudEvents attribute name"))
    model = DATA_MODELS.get(envelope.type)
    if model is None:
        problems.append(Problem("type", f"unknown event type {envelope.type!r}"))
    if problems:
        raise EventRejected(problems, event_id)
    assert model is not None
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise EventRejected(_problems(exc, "data."), event_id) from None
    return Event(
        id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        time=envelope.time.astimezone(UTC),
        city=envelope.city,
        data=data,
        subject=envelope.subject,
        extensions=extensions,
    )


def _valid_envelope(raw: bytes | str | dict[str, Any]) -> _Envelope:
    """The envelope of a well-formed event, or EventRejected with the reasons."""
    if not isinstance(raw, dict):
        try:
            # The common case in one pass: pydantic-core parses and validates the JSON
            # (half the cost of json.loads + model_validate). Anything it refuses goes
            # the long way below, which words the reasons (is not JSON, the event id).
            return _Envelope.model_validate_json(raw)
        except ValidationError:
            pass
        try:
            raw = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EventRejected([Problem("event", f"is not JSON ({exc})")]) from None
    if not isinstance(raw, dict):
        raise EventRejected([Problem("event", "must be a JSON object")])
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    try:
        return _Envelope.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected(_problems(exc), event_id) from None


def _valid_extension_name(name: str) -> bool:
    return re.match(_EXTENSION_NAME, name) is not None


def make_event(
    type: str,
    city: str,
    data: EventData | dict[str, Any],
    time: datetime,
    *,
    id: str | None = None,
    source: str = "urn:platform:local",
    subject: str | None = None,
) -> Event:
    """Build a valid event (demo traffic, load tests, tests). Validates `data` like a parse."""
    model = DATA_MODELS.get(type)
    if model is None:
        raise EventRejected([Problem("type", f"unknown event type {type!r}")])
    if isinstance(data, dict):
        try:
            data = model.model_validate(data)
        except ValidationError as exc:
            raise EventRejected(_problems(exc, "data.")) from None
    elif not isinstance(data, model):
        raise EventRejected([Problem("data", f"must be {model.__name__} for {type}")])
    if time.tzinfo is None:
        raise EventRejected([Problem("time", "must carry a UTC offset")])
    return Event(
        id=id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=time.astimezone(UTC),
        city=city,
        data=data,
        subject=subject,
    )
