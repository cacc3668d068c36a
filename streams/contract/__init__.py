"""The event contract: inbound CloudEvents, outbound records, topic names, routing keys.

Everything that crosses Kafka is defined here; workers, the API, the sink and the load
generator import these models and nothing else of each other. See docs/events.md.
"""

from __future__ import annotations

from streams.contract.envelope import (
    Event,
    EventRejected,
    Problem,
    format_time,
    make_event,
    parse_event,
)
from streams.contract.events import DATA_MODELS, EVENT_TYPES
from streams.contract.plates import InvalidPlate, is_plate, normalise_plate
from streams.contract.records import (
    CheckRecord,
    ClockMark,
    DeadLetter,
    Entitlement,
    LedgerEntry,
    Notification,
    Outcome,
    ValidityRecord,
    clock_key,
    validity_key,
)
from streams.contract.routing import (
    BROADCAST,
    SYSTEM_EVENT_TYPES,
    SYSTEMS,
    TICK_KEY,
    owner_key,
    routing_key,
)
from streams.contract.topics import Topics, topics_from_env

__all__ = [
    "BROADCAST",
    "DATA_MODELS",
    "EVENT_TYPES",
    "SYSTEMS",
    "SYSTEM_EVENT_TYPES",
    "TICK_KEY",
    "CheckRecord",
    "ClockMark",
    "DeadLetter",
    "Entitlement",
    "Event",
    "EventRejected",
    "InvalidPlate",
    "LedgerEntry",
    "Notification",
    "Outcome",
    "Problem",
    "Topics",
    "ValidityRecord",
    "clock_key",
    "format_time",
    "is_plate",
    "make_event",
    "normalise_plate",
    "owner_key",
    "parse_event",
    "routing_key",
    "topics_from_env",
    "validity_key",
]
