"""The API's read replica of the compacted validity topic (ENF-1 "within a second").

Each API process reads the whole validity topic from the beginning into memory and keeps
following it, so a lookup never waits on Kafka or a worker and any number of API
processes can run side by side, each with its own copy.

- `ValidityIndex` is the in-memory picture: per (city, kind, subject) the latest record
  of every owner (readers merge owners), tombstones remove an owner's record, and
  `as_of(city)` is the newest event time applied for the city (record `updated_at` or a
  worker's `ClockMark`), so every answer says how fresh it is.
- `KafkaReplica` feeds an index from Kafka in a background thread and is `ready` once it
  has read up to the end offsets the topic had when it started.

Records are kept as the bytes Kafka delivered and parsed on lookup: a million live plates
cost a few hundred MB instead of gigabytes of model objects. A lookup reads them as
`HeldEntitlement`s (orjson and `datetime.fromisoformat`, ~10x cheaper than validating the
pydantic `ValidityRecord`, which cost a check more than everything else it did); a record
that does not read cleanly that way goes through the full model, so a record the model
refuses is still counted as malformed and skipped.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

import orjson
from pydantic import ValidationError

from streams.contract import ClockMark, Entitlement, ValidityRecord
from streams.contract.records import Channel, EntitlementState

log = logging.getLogger(__name__)

SubjectKey = tuple[str, str, str]  # (city, subject_kind, subject)
# One owner (the usual case) is kept as an (owner, bytes) tuple, several as {owner: bytes}.
# Tuples of strings and bytes are not tracked by the garbage collector, so a million
# plates add nothing to its full collections (a dict per plate cost 100+ ms pauses).
Held = tuple[str, bytes] | dict[str, bytes]


def _owners(held: Held | None) -> dict[str, bytes]:
    if held is None:
        return {}
    if isinstance(held, tuple):
        return {held[0]: held[1]}
    return held


def _held(owners: dict[str, bytes]) -> Held | None:
    if not owners:
        return None
    if len(owners) == 1:
        ((owner, raw),) = owners.items()
        return (owner, raw)
    return owners


# One entitlement as a check reads it from the replica: the fields of
# `streams.contract.Entitlement`, by the same names and in the same order (taken from the
# model, so the two never drift apart), moments as aware UTC datetimes. A named tuple:
# built in well under a microsecond, where the model takes ~20 us to validate or construct.
HeldEntitlement = namedtuple("HeldEntitlement", tuple(Entitlement.model_fields))


def held_entitlement(e: Entitlement) -> HeldEntitlement:
    return HeldEntitlement._make(getattr(e, name) for name in HeldEntitlement._fields)


_STATES = frozenset(get_args(EntitlementState))
_CHANNELS = frozenset(get_args(Channel))


def _moment(text: Any) -> datetime:
    moment = datetime.fromisoformat(text)  # TypeError for a non-string
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        raise ValueError("a record's moment without an offset")
    return moment.astimezone(UTC)


def _exact(value: Any) -> bool:
    """No float inside: orjson reads an integer beyond 64 bits as a float (the model keeps
    it exact), so a record with any float in its details takes the model's way."""
    if type(value) is dict:
        return all(_exact(v) for v in value.values()) if value else True
    if type(value) is list:
        return all(_exact(v) for v in value)
    return type(value) is not float


def read_entitlements(raw: bytes) -> list[HeldEntitlement]:
    """The entitlements of one stored validity record, read the cheap way.

    Raises ValueError, TypeError or KeyError for anything the cheap way cannot vouch
    for (a missing field, a value of the wrong type, an unknown state or channel); the
    caller then asks the full model, which either accepts the record (coercing as it
    does) or refuses it."""
    held = []
    for e in orjson.loads(raw)["entitlements"]:
        ticket_id, kind, product = e["ticket_id"], e["kind"], e["product"]
        channel, state, price, currency = e["channel"], e["state"], e["price"], e["currency"]
        get = e.get
        zone, pin, code, plate = get("zone"), get("pin"), get("code"), get("plate")
        revoked_at, details = get("revoked_at"), get("details")
        if details is None:
            details = {}
        if not (
            state in _STATES
            and channel in _CHANNELS
            and type(price) is int
            and type(ticket_id) is str
            and type(kind) is str
            and type(product) is str
            and type(currency) is str
            and (zone is None or type(zone) is str)
            and (pin is None or type(pin) is str)
            and (code is None or type(code) is str)
            and (plate is None or type(plate) is str)
            and type(details) is dict
            and (not details or _exact(details))
        ):
            raise ValueError("not a plain entitlement")
        held.append(
            HeldEntitlement(  # in the model's field order
                ticket_id,
                kind,
                product,
                channel,
                state,
                _moment(e["valid_from"]),
                _moment(e["valid_until"]),
                price,
                currency,
                zone,
                pin,
                code,
                plate,
                None if revoked_at is None else _moment(revoked_at),
                details,
            )
        )
    return held


class ValidityIndex:
    """Latest validity record of every (city, kind, subject, owner), from the topic.

    Written by one thread (the replica), read by request handlers: every write replaces
    whole objects, so a reader sees either the old or the new owner map, never half.
    """

    def __init__(self) -> None:
        self._subjects: dict[SubjectKey, Held] = {}
        self._as_of: dict[str, datetime] = {}
        self.applied = 0
        self.malformed = 0

    def __len__(self) -> int:
        return len(self._subjects)

    # -- writing ---------------------------------------------------------------------------

    def apply(self, key: bytes | str | None, value: bytes | None) -> None:
        """Apply one message of the validity topic (a record, a clock mark or a tombstone)."""
        self.applied += 1
        if key is None:
            self.malformed += 1
            return
        text = key.decode("utf-8", errors="replace") if isinstance(key, bytes) else key
        parts = text.split("|", 3)
        if len(parts) != 4:
            self.malformed += 1
            return
        city, kind, subject, owner = parts
        if kind == "clock":
            if value is not None:
                self._apply_clock(value)
            return
        subject_key = (city, kind, subject)
        held = self._subjects.get(subject_key)
        if value is None:
            owners = _owners(held)
            if owner in owners:
                remaining = _held({o: v for o, v in owners.items() if o != owner})
                if remaining is None:
                    del self._subjects[subject_key]
                else:
                    self._subjects[subject_key] = remaining
            return
        updated_at = _updated_at(value)
        if updated_at is None:
            self.malformed += 1
            return
        if held is None or (isinstance(held, tuple) and held[0] == owner):
            self._subjects[subject_key] = (owner, value)
        else:
            self._subjects[subject_key] = {**_owners(held), owner: value}
        self._advance(city, updated_at)

    def record(self, record: ValidityRecord) -> None:
        """Apply a record object (tests and the benchmark feed the index directly)."""
        self.apply(record.key, record.to_json())

    def remove(self, key: str) -> None:
        self.apply(key, None)

    def _apply_clock(self, value: bytes) -> None:
        try:
            mark = ClockMark.model_validate_json(value)
        except ValidationError:
            self.malformed += 1
            return
        self._advance(mark.city, mark.reached)

    def _advance(self, city: str, moment: datetime) -> None:
        current = self._as_of.get(city)
        if current is None or moment > current:
            self._as_of[city] = moment

    # -- reading ---------------------------------------------------------------------------

    def as_of(self, city: str) -> datetime | None:
        return self._as_of.get(city)

    def as_of_by_city(self) -> dict[str, datetime]:
        return dict(self._as_of)

    def has(self, city: str, kind: str, subject: str) -> bool:
        return (city, kind, subject) in self._subjects

    def records(self, city: str, kind: str, subject: str) -> list[ValidityRecord]:
        held = self._subjects.get((city, kind, subject))
        if held is None:
            return []
        found = []
        for raw in _owners(held).values():
            try:
                found.append(ValidityRecord.model_validate_json(raw))
            except ValidationError:
                # Counted, never logged whole: the record names a plate or phone.
                self.malformed += 1
        return found

    def entitlements(self, city: str, kind: str, subject: str) -> list[HeldEntitlement]:
        """Every owner's entitlements for the subject, de-duplicated by ticket id."""
        held = self._subjects.get((city, kind, subject))
        if held is None:
            return []
        if isinstance(held, tuple):
            found = self._read(held[1])
            if len(found) < 2:  # the usual plate: nothing to merge
                return found
        else:
            found = [ent for raw in held.values() for ent in self._read(raw)]
        return list({ent.ticket_id: ent for ent in found}.values())

    def _read(self, raw: bytes) -> list[HeldEntitlement]:
        try:
            return read_entitlements(raw)
        except (ValueError, TypeError, KeyError):
            pass
        try:
            record = ValidityRecord.model_validate_json(raw)
        except ValidationError:
            self.malformed += 1  # counted, never logged whole: it names a plate or phone
            return []
        return [held_entitlement(e) for e in record.entitlements]


def _updated_at(value: bytes) -> datetime | None:
    try:
        body = orjson.loads(value)  # ~4x json.loads: a million of these at catch-up
        return datetime.fromisoformat(body["updated_at"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class ReplicaStatus:
    ready: bool
    lag: int | None  # messages behind the end offsets last seen; None before connecting
    connected: bool


class KafkaReplica:
    """Follows the validity topic into a `ValidityIndex` in a daemon thread (kafka-python)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        index: ValidityIndex | None = None,
        *,
        fetch_max_wait_ms: int = 100,
        client_id: str = "enforcement-api-replica",
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.index = index if index is not None else ValidityIndex()
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.client_id = client_id
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[int, int] = {}
        self._latest_ends: dict[int, int] = {}
        self._connected = False
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def status(self) -> ReplicaStatus:
        lag = None
        if self._latest_ends:
            lag = sum(
                max(0, end - self._positions.get(p, 0)) for p, end in self._latest_ends.items()
            )
        return ReplicaStatus(ready=self.ready, lag=lag, connected=self._connected)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="validity-replica", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._follow()
                return
            except Exception as exc:  # broker gone, topic deleted, ...: reconnect
                self._connected = False
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("validity replica: %s; reconnecting in %.1f s", self.error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _follow(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            allow_auto_create_topics=False,
            bootstrap_timeout_ms=2000,  # so a stop request is seen while the broker is away
        )
        try:
            partitions = None
            while partitions is None and not self._stop.is_set():
                partitions = consumer.partitions_for_topic(self.topic)
                if partitions is None:
                    self._stop.wait(0.5)  # the workers or our own start-up create it
            if partitions is None:
                return
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            for tp in tps:
                if tp.partition in self._positions:  # reconnect: resume where we were
                    consumer.seek(tp, self._positions[tp.partition])
                else:
                    consumer.seek_to_beginning(tp)
            targets = {tp.partition: end for tp, end in consumer.end_offsets(tps).items()}
            self._latest_ends = dict(targets)
            self._connected = True
            last_ends_refresh = time.monotonic()
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=200, max_records=10_000)
                for tp, messages in batches.items():
                    for msg in messages:
                        self.index.apply(msg.key, msg.value)
                    self._positions[tp.partition] = messages[-1].offset + 1
                    if self._latest_ends.get(tp.partition, 0) < messages[-1].offset + 1:
                        self._latest_ends[tp.partition] = messages[-1].offset + 1
                if not self._ready.is_set():
                    for tp in tps:
                        self._positions[tp.partition] = consumer.position(tp)
                    if all(self._positions[p] >= end for p, end in targets.items()):
                        log.info("validity replica caught up: %d subjects", len(self.index))
                        # What was loaded lives as long as the process: keep the garbage
                        # collector from walking it again on every full collection.
                        gc.freeze()
                        self._ready.set()
                if time.monotonic() - last_ends_refresh > 5.0:
                    ends = consumer.end_offsets(tps)
                    self._latest_ends = {tp.partition: end for tp, end in ends.items()}
                    last_ends_refresh = time.monotonic()
        finally:
            self._connected = False
            consumer.close()
