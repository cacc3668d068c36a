"""The pure stream engine: one raw Kafka message in, records to publish out.

For each message on `events.raw` the engine parses and validates the CloudEvent (a bad
one becomes a dead letter with its reason), checks the city serves the type, checks the
message is keyed by its state owner (if not, re-publishes it correctly keyed), skips an
event the owner has already applied (idempotency, see `_decide`), calls the system's rules and turns
their Step into records plus state writes. Clock ticks are broadcast to every partition
and fire the timers of the owners on that partition.

No Kafka, no Faust, no wall clock here: state comes from a `StateStore` (a Faust table
in the worker, a dict in tests) and `received_at` of dead letters from an injected clock.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from streams.contract import (
    SYSTEM_EVENT_TYPES,
    ClockMark,
    DeadLetter,
    Event,
    EventRejected,
    LedgerEntry,
    Notification,
    Outcome,
    Problem,
    Topics,
    ValidityRecord,
    clock_key,
    parse_event,
    routing_key,
)
from streams.contract.events import ClockTick
from streams.contract.routing import TICK_KEY
from streams.runtime.rules import Output, Step, SystemRules, ValidityRemoved

TIMERS_TABLE = "timers"
# Ticket numbers are `offset * MAX_PARTITIONS + partition` of the event in events.raw:
# unique as long as events.raw has at most this many partitions.
MAX_PARTITIONS = 64
SEEN_WINDOW = timedelta(days=2)
SEEN_MAX = 2000


@dataclass(frozen=True)
class Message:
    """A message read from `events.raw`."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None


@dataclass(frozen=True)
class Publish:
    """A record to produce. `partition` None lets the key choose."""

    topic: str
    key: str | None
    value: bytes | None
    partition: int | None = None


class StateStore(Protocol):
    """Owner state and timer index, one namespace ("table") per system."""

    def get(self, table: str, key: str) -> dict[str, Any] | list[Any] | None: ...

    def put(self, table: str, key: str, value: Any, partition: int) -> None: ...


@dataclass
class EngineCounters:
    processed: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    rerouted: int = 0
    ticks: int = 0
    timers_fired: int = 0
    by_system: dict[str, int] = field(default_factory=dict)


def tick_copy_key(partition: int) -> str:
    return f"{TICK_KEY}@{partition}"


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _minute(epoch: float) -> int:
    return math.floor(epoch / 60)


class MessageNumbers:
    """The ticket number of the event at `offset` of `partition` of `events.raw`.

    Derived from the message's position, never from stored state: a message processed
    again after a crash (even one whose state writes were partly lost) gets the same
    number, and two messages never share one. One number per event.
    """

    def __init__(self, partition: int, offset: int) -> None:
        if not 0 <= partition < MAX_PARTITIONS:
            raise ValueError(f"ticket numbers need partition < {MAX_PARTITIONS}, got {partition}")
        self.number: int | None = offset * MAX_PARTITIONS + partition

    def next(self) -> int:
        if self.number is None:
            raise RuntimeError("one ticket number per event")
        number, self.number = self.number, None
        return number


class Engine:
    def __init__(
        self,
        topics: Topics,
        city_systems: Mapping[str, str],
        rules: Mapping[str, SystemRules],
        partitions: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        missing = {s for s in city_systems.values() if s not in rules}
        if missing:
            raise ValueError(f"no rules for systems {sorted(missing)}")
        self.topics = topics
        self.city_systems = dict(city_systems)
        self.known_cities = frozenset(city_systems)
        self.rules = dict(rules)
        self.partitions = partitions
        self.clock = clock
        self.counters = EngineCounters()

    # -- entry point -------------------------------------------------------------------

    def handle(self, msg: Message, store: StateStore) -> list[Publish]:
        self.counters.processed += 1
        try:
            event = parse_event(msg.value or b"", self.known_cities)
        except EventRejected as rejected:
            return [self._dead_letter(msg, rejected)]
        system = self.city_systems[event.city]
        if event.type not in SYSTEM_EVENT_TYPES[system]:
            problem = Problem("type", f"{event.type} is not served in city {event.city!r}")
            return [self._dead_letter(msg, EventRejected([problem], event.id))]
        if isinstance(event.data, ClockTick):
            return self._tick(msg, event, system, store)
        key = routing_key(event, system)
        if msg.key != key:
            # Mis-keyed by its producer: state must live with the owner's partition.
            self.counters.rerouted += 1
            return [Publish(self.topics.raw, key, event.to_json())]
        return self._decide(msg, event, system, key.split("|", 1)[1], store)

    # -- one owner's event ----------------------------------------------------------------

    def _decide(
        self, msg: Message, event: Event, system: str, owner: str, store: StateStore
    ) -> list[Publish]:
        state_key = f"{event.city}|{owner}"
        envelope = store.get(system, state_key) or {"state": None, "seen": {}, "wake": None}
        seen: dict[str, float] = envelope["seen"]
        # Two ways an event comes back. Kafka redelivers it (a worker died before its offset
        # was committed) at its old offset: every owner lives in one partition, decided in
        # offset order, so an offset at or below the owner's last applied one was decided
        # already, however old the event (`seen` forgets ids two days of event time later,
        # and a backlog or compressed test time can redeliver older ones). Or a producer
        # sends it twice, at a new offset: its id is then in `seen`.
        applied = envelope.get("offset")
        if event.id in seen or (applied is not None and msg.offset <= applied):
            self.counters.duplicates += 1
            if envelope["wake"] is not None:
                # A crash can lose the timer index write of a batch while keeping the
                # owner's state; re-scheduling on redelivery repairs it (a no-op if present).
                self._schedule(store, event.city, owner, msg.partition, envelope["wake"])
            return []
        rules = self.rules[system]
        if getattr(rules, "uses_ticket_numbers", False):
            numbers = MessageNumbers(msg.partition, msg.offset)
            step = rules.decide(envelope["state"], event, owner, numbers=numbers)
        else:
            step = rules.decide(envelope["state"], event, owner)
        self.counters.by_system[system] = self.counters.by_system.get(system, 0) + 1
        outputs = list(step.outputs)
        if not any(isinstance(o, Outcome) and o.id == event.id for o in outputs):
            outputs.append(
                Outcome(
                    id=event.id,
                    city=event.city,
                    type=event.type,
                    owner=owner,
                    outcome="accepted",
                    time=event.time,
                )
            )
        seen[event.id] = _epoch(event.time)
        self._prune_seen(seen, event.time)
        self._store_step(store, system, event.city, owner, envelope, step, msg)
        return [self._publish(o, event.city) for o in outputs]

    @staticmethod
    def _prune_seen(seen: dict[str, float], now: datetime) -> None:
        horizon = _epoch(now - SEEN_WINDOW)
        for old in [k for k, t in seen.items() if t < horizon]:
            del seen[old]
        if len(seen) > SEEN_MAX:
            for old in sorted(seen, key=seen.__getitem__)[: len(seen) - SEEN_MAX]:
                del seen[old]

    def _store_step(
        self,
        store: StateStore,
        system: str,
        city: str,
        owner: str,
        envelope: dict[str, Any],
        step: Step,
        msg: Message,
    ) -> None:
        partition = msg.partition
        wake = _epoch(step.wake_at) if step.wake_at is not None else None
        # The envelope stays even when the rules drop their state: `seen` and the offset
        # of the last message applied (an event or a clock tick) must outlive it.
        envelope = {"state": step.state, "seen": envelope["seen"], "wake": wake}
        envelope["offset"] = msg.offset
        store.put(system, f"{city}|{owner}", envelope, partition)
        if wake is not None:
            self._schedule(store, city, owner, partition, wake)

    # -- the clock --------------------------------------------------------------------------

    def _schedule(
        self, store: StateStore, city: str, owner: str, partition: int, wake: float
    ) -> None:
        minute = _minute(wake)
        bucket_key = f"{city}|{partition}|{minute}"
        bucket = list(store.get(TIMERS_TABLE, bucket_key) or [])
        if owner not in bucket:
            bucket.append(owner)
            store.put(TIMERS_TABLE, bucket_key, bucket, partition)
        index_key = f"{city}|{partition}|index"
        index = list(store.get(TIMERS_TABLE, index_key) or [])
        pos = bisect.bisect_left(index, minute)
        if pos == len(index) or index[pos] != minute:
            index.insert(pos, minute)
            store.put(TIMERS_TABLE, index_key, index, partition)

    def _tick(self, msg: Message, event: Event, system: str, store: StateStore) -> list[Publish]:
        if msg.key != tick_copy_key(msg.partition):
            value = event.to_json()
            return [
                Publish(self.topics.raw, tick_copy_key(p), value, partition=p)
                for p in range(self.partitions)
            ]
        self.counters.ticks += 1
        city, partition, now = event.city, msg.partition, event.time
        index_key = f"{city}|{partition}|index"
        index = list(store.get(TIMERS_TABLE, index_key) or [])
        due = bisect.bisect_right(index, _minute(_epoch(now)))
        owners: list[str] = []
        for minute in index[:due]:
            bucket_key = f"{city}|{partition}|{minute}"
            for owner in store.get(TIMERS_TABLE, bucket_key) or []:
                if owner not in owners:
                    owners.append(owner)
            store.put(TIMERS_TABLE, bucket_key, None, partition)
        if due:
            store.put(TIMERS_TABLE, index_key, index[due:] or None, partition)
        publishes: list[Publish] = []
        rules = self.rules[system]
        for owner in owners:
            state_key = f"{city}|{owner}"
            envelope = store.get(system, state_key)
            if not envelope or envelope.get("wake") is None:
                continue
            if envelope["wake"] > _epoch(now):
                self._schedule(store, city, owner, partition, envelope["wake"])
                continue
            step = rules.on_clock(envelope["state"], now, city, owner)
            self.counters.timers_fired += 1
            self._store_step(store, system, city, owner, envelope, step, msg)
            publishes.extend(self._publish(o, city) for o in step.outputs)
        mark = ClockMark(city=city, partition=partition, reached=now)
        publishes.append(
            Publish(self.topics.validity, clock_key(city, "raw", partition), mark.to_json())
        )
        return publishes

    # -- records --------------------------------------------------------------------------

    def _publish(self, output: Output, city: str) -> Publish:
        t = self.topics
        if isinstance(output, Notification):
            return Publish(t.notifications, output.to, output.to_json())
        if isinstance(output, LedgerEntry):
            return Publish(t.ledger, f"{output.city}|{output.holder}", output.to_json())
        if isinstance(output, ValidityRecord):
            return Publish(t.validity, output.key, output.to_json())
        if isinstance(output, ValidityRemoved):
            return Publish(t.validity, output.key, None)
        if isinstance(output, Outcome):
            return Publish(t.outcomes, f"{output.city}|{output.owner}", output.to_json())
        raise TypeError(f"rules returned {type(output).__name__}, not an output record")

    def _dead_letter(self, msg: Message, rejected: EventRejected) -> Publish:
        self.counters.dead_letters += 1
        raw = (msg.value or b"").decode("utf-8", errors="replace")
        letter = DeadLetter(
            id=f"{msg.topic}:{msg.partition}:{msg.offset}",
            event_id=rejected.event_id,
            reason=rejected.reason,
            problems=[p.as_dict() for p in rejected.problems],
            raw=raw,
            source_topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            received_at=self.clock(),
        )
        return Publish(self.topics.deadletter, rejected.event_id or letter.id, letter.to_json())
