"""Ingestion: turn posted CloudEvents into messages for `events.raw`, or say precisely why not.

Each event is validated with the contract's `parse_event` (known city, known type, typed
data), checked against the kinds of event the city's system takes, and keyed with
`routing_key(event, system)` so one owner's events stay in order from the first hop.
Nothing is produced unless every event of the request is valid: the caller fixes the
bad ones and resends, and the workers de-duplicate by event id, so a resend is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from enforcement_api.kafka_io import Message
from streams.contract import SYSTEM_EVENT_TYPES, EventRejected, Problem, parse_event, routing_key


@dataclass(frozen=True)
class Rejection:
    index: int
    id: str | None
    reason: str
    problems: list[dict[str, str]]


@dataclass
class IngestPlan:
    messages: list[Message] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)  # in order of first appearance
    rejected: list[Rejection] = field(default_factory=list)


def event_bodies(payload: Any) -> list[Any]:
    """One CloudEvent, or `{"events": [...]}` — the two shapes `POST /v1/events` takes."""
    if isinstance(payload, dict) and "events" in payload and "specversion" not in payload:
        events = payload["events"]
        if not isinstance(events, list):
            raise ValueError("`events` must be a list of CloudEvents")
        return events
    if isinstance(payload, list):
        raise ValueError('send one CloudEvent or {"events": [...]}, not a bare list')
    return [payload]


def plan_ingest(
    bodies: Sequence[Any],
    *,
    known_cities: frozenset[str],
    system_of: Callable[[str], str],
    raw_topic: str,
) -> IngestPlan:
    plan = IngestPlan()
    for index, body in enumerate(bodies):
        try:
            event = parse_event(body if isinstance(body, dict) else json.dumps(body), known_cities)
            system = system_of(event.city)
            if event.type not in SYSTEM_EVENT_TYPES.get(system, frozenset()):
                raise EventRejected(
                    [Problem("type", f"{event.type} is not taken by {event.city} ({system})")],
                    event.id,
                )
            try:
                key = routing_key(event, system)
            except ValueError as exc:
                raise EventRejected([Problem("type", str(exc))], event.id) from None
        except EventRejected as exc:
            plan.rejected.append(
                Rejection(
                    index=index,
                    id=exc.event_id,
                    reason=exc.reason,
                    problems=[p.as_dict() for p in exc.problems],
                )
            )
            continue
        plan.messages.append(Message(raw_topic, key.encode(), event.to_json()))
        plan.ids.append(event.id)
        if event.city not in plan.cities:
            plan.cities.append(event.city)
    return plan
