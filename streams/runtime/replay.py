"""Run the engine over a list of events in memory: a list in, published records out.

What tests and replays use instead of Kafka: the same engine and rules the worker runs,
with state in dicts and Kafka's partitioning imitated (murmur2 of the key, like the
Java and kafka-python default partitioners), so a replay also exercises re-keying and
the broadcast of clock ticks.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka.partitioner.default import murmur2

from streams.contract import (
    ClockMark,
    DeadLetter,
    Event,
    LedgerEntry,
    Notification,
    Outcome,
    Topics,
    ValidityRecord,
    routing_key,
)
from streams.runtime.engine import Engine, Message, Publish
from streams.runtime.rules import SystemRules


class MemoryStore:
    """Tables as dicts; `partition` is recorded so tests can check co-partitioning."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}
        self.partition_of: dict[tuple[str, str], int] = {}

    def get(self, table: str, key: str) -> Any:
        value = self.tables.get(table, {}).get(key)
        # Faust tables hand out decoded copies; so do we, so rules can't alias stored state.
        return json.loads(json.dumps(value)) if value is not None else None

    def put(self, table: str, key: str, value: Any, partition: int) -> None:
        if value is None:
            self.tables.get(table, {}).pop(key, None)
        else:
            self.tables.setdefault(table, {})[key] = json.loads(json.dumps(value))
        self.partition_of[(table, key)] = partition


def partition_for(key: str | None, partitions: int) -> int:
    if key is None:
        return 0
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class Published:
    """Everything the engine published, decoded, in order."""

    notifications: list[Notification] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    validity: dict[str, ValidityRecord | None] = field(default_factory=dict)
    clock_marks: dict[str, ClockMark] = field(default_factory=dict)

    def outcome_of(self, event_id: str) -> Outcome:
        (found,) = [o for o in self.outcomes if o.id == event_id]
        return found


class Replay:
    """Feed events (or raw bytes) through an Engine as Kafka would deliver them."""

    def __init__(
        self,
        city_systems: Mapping[str, str],
        rules: Mapping[str, SystemRules],
        partitions: int = 1,
        topics: Topics | None = None,
        clock_now: datetime | None = None,
    ) -> None:
        self.topics = topics or Topics()
        fixed = clock_now or datetime(2000, 1, 1, tzinfo=UTC)
        self.engine = Engine(self.topics, city_systems, rules, partitions, clock=lambda: fixed)
        self.partitions = partitions
        self.store = MemoryStore()
        self.out = Published()
        self._offsets = [0] * partitions

    def feed(self, *events: Event | bytes, key: str | None = None) -> Published:
        """Produce each event to events.raw (keyed by its routing key unless `key` given,
        or unkeyed for raw bytes) and run until no message is left. Returns only what
        these events caused."""
        before = Published()
        queue: deque[Publish] = deque()
        for item in events:
            if isinstance(item, Event):
                system = self.engine.city_systems.get(item.city, "")
                k = key if key is not None else routing_key(item, system) if system else None
                queue.append(Publish(self.topics.raw, k, item.to_json()))
            else:
                queue.append(Publish(self.topics.raw, key, item))
        while queue:
            pub = queue.popleft()
            if pub.topic == self.topics.raw:
                partition = (
                    pub.partition
                    if pub.partition is not None
                    else partition_for(pub.key, self.partitions)
                )
                msg = Message(pub.topic, partition, self._offsets[partition], pub.key, pub.value)
                self._offsets[partition] += 1
                queue.extend(self.engine.handle(msg, self.store))
            else:
                self._collect(pub, before)
                self._collect(pub, self.out)
        return before

    def feed_all(self, events: Iterable[Event]) -> Published:
        return self.feed(*events)

    def _collect(self, pub: Publish, into: Published) -> None:
        t = self.topics
        if pub.topic == t.notifications:
            into.notifications.append(Notification.from_json(pub.value))
        elif pub.topic == t.ledger:
            into.ledger.append(LedgerEntry.from_json(pub.value))
        elif pub.topic == t.outcomes:
            into.outcomes.append(Outcome.from_json(pub.value))
        elif pub.topic == t.deadletter:
            into.dead_letters.append(DeadLetter.from_json(pub.value))
        elif pub.topic == t.validity:
            assert pub.key is not None
            if "|clock|" in pub.key:
                into.clock_marks[pub.key] = ClockMark.from_json(pub.value)
            else:
                into.validity[pub.key] = (
                    ValidityRecord.from_json(pub.value) if pub.value is not None else None
                )
        else:
            raise AssertionError(f"engine published to unexpected topic {pub.topic}")
