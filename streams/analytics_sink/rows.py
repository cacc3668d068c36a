"""Pure mapping of Kafka records to ClickHouse columns: record JSON -> one list per column.

No I/O here. The sink maps a fetched run of records of one partition at a time:
`mapper(records, partition, tables, pseudonyms, failed)` parses each record's value once
(orjson) and appends its values straight to the column lists of its table(s) in `tables`
(`new_tables()`: per table, one list per column of `COLUMNS[table]`, the column order of
the migrations in `infra/clickhouse/migrations/`), which the writer inserts as they are
(a columnar INSERT, no transposition). A record may give several rows (a validity record
holds several entitlements, a ride entitlement also gives a `rides` row) or none (a
tombstone, a clock mark). Personal identifiers leave this module only as pseudonyms.

A record's values are all computed before any is appended, so a record that cannot be
mapped leaves the columns aligned: it is reported in `failed` as `(record, reason)` and
the sink writes a `dead_letters` row for it instead of stopping (`unmappable_row`).
`map_record` gives one record's rows as `[(table, row)]` (tests, seeding).

Times become integer seconds since the epoch (UTC): ClickHouse DateTime holds whole
seconds, and clickhouse-driver inserts integers without any time-zone guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import orjson

from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.contract.topics import Topics

#: Column order of every table the sink writes (must match the migrations).
COLUMNS: dict[str, tuple[str, ...]] = {
    "events": (
        "event_id", "city", "type", "source", "time", "subject", "zone", "amount",
        "kafka_partition", "kafka_offset", "received_at", "version",
    ),
    "entitlements": (
        "city", "ticket_id", "kind", "product", "channel", "state", "valid_from",
        "valid_until", "price", "currency", "zone", "plate", "subject_kind", "subject",
        "revoked_at", "updated_at", "caused_by", "version",
    ),
    "ledger": (
        "id", "city", "holder", "purse", "kind", "amount", "currency", "ticket_id", "zone",
        "product", "channel", "balance_after", "caused_by", "time", "version",
    ),
    "notifications": (
        "id", "city", "channel", "recipient", "kind", "ticket_id", "text_length",
        "caused_by", "time", "version",
    ),
    "checks": (
        "check_id", "city", "officer", "role", "subject_kind", "subject", "zone", "at",
        "answered_at", "status", "ticket_ids", "as_of", "version",
    ),
    "rides": (
        "city", "ride_id", "event", "card", "product", "at", "trip_id", "boarding_stop",
        "stops", "price", "currency", "version",
    ),
    "outcomes": (
        "id", "city", "type", "owner", "outcome", "rule", "reason", "facts", "time", "version",
    ),
    "dead_letters": (
        "id", "event_id", "city", "type", "reason", "problems", "raw", "source_topic",
        "kafka_partition", "kafka_offset", "received_at", "version",
    ),
}  # fmt: skip

#: Entitlement kinds that occupy a parking space (occupancy, turnover, dwell).
PARKING_KINDS = ("hourly", "day", "app_stay")
#: Entitlement kinds that are rides on a card system (the `rides` table).
RIDE_KINDS = ("ride",)

Row = tuple[Any, ...]
TableRows = list[tuple[str, Row]]
#: Per table, one list per column of `COLUMNS[table]`.
Tables = dict[str, list[list[Any]]]


class Unmappable(ValueError):
    """A record the sink cannot turn into rows (bad JSON, a missing field)."""


class Record(Protocol):
    """What the mapping reads of a Kafka record (aiokafka's and kafka-python's both fit)."""

    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def value(self) -> bytes | None: ...


class Meta(NamedTuple):
    """Where a record came from: its topic, partition, offset and Kafka timestamp (ms)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


@lru_cache(maxsize=65_536)
def epoch(text: str | None) -> int:
    """ISO 8601 with an offset (the contract's `...Z`) -> whole seconds since the epoch.

    Cached: at 10^5 records/s most records of one second carry the same time strings."""
    if not text:
        return 0
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise Unmappable(f"time {text!r} has no UTC offset")
    return int(moment.timestamp())


@lru_cache(maxsize=65_536)
def _micros(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp() * 1_000_000)


def _int(value: Any, default: int = -1) -> int:
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return default


def _json(value: Any) -> str:
    """Compact JSON text with sorted keys (outcome facts, dead-letter problems)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# --- one run mapper per topic ---------------------------------------------------------------
#
# Each appends a record's values column by column, written out: on CPython that is about
# half the cost of building row tuples and transposing them (~0.5 against ~0.9 µs per
# 12-column row here), and a run mapper pays the per-record call overhead once per run.

Failed = list[tuple[Record, str]]
RunMapper = Callable[[Sequence[Record], int, Tables, Pseudonymizer, Failed], None]

#: What a record that cannot be mapped raises (bad JSON is a ValueError, a missing field a
#: KeyError, a field of the wrong type a TypeError or AttributeError).
_FAILURES = (ValueError, KeyError, TypeError, AttributeError)
_loads = orjson.loads


def _reason(exc: Exception) -> str:
    if isinstance(exc, orjson.JSONDecodeError):  # also invalid UTF-8
        return f"not JSON: {exc}"
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def _object(value: bytes) -> dict[str, Any]:
    body = _loads(value)  # C parser on the bytes: ~4x json.loads here
    if type(body) is not dict:
        raise Unmappable("not a JSON object")
    return body


def new_tables() -> Tables:
    return {}


def columns_of(tables: Tables, table: str) -> list[list[Any]]:
    """The column lists of `table` in `tables` (created empty on first use)."""
    cols = tables.get(table)
    if cols is None:
        cols = tables[table] = [[] for _ in COLUMNS[table]]
    return cols


def append_row(tables: Tables, table: str, row: Row) -> None:
    """Append one row tuple column-wise (rare rows: rides, dead letters; the hot paths
    append value by value)."""
    for column, value in zip(columns_of(tables, table), row, strict=True):
        column.append(value)


def row_count(tables: Tables) -> int:
    return sum(len(cols[0]) for cols in tables.values())


def rows_of(tables: Tables, table: str) -> list[Row]:
    """The rows of `table` as tuples (tests, and `map_record`)."""
    cols = tables.get(table)
    return list(zip(*cols, strict=True)) if cols else []


def event_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (ids, cities, types, sources, times, subjects, zones, amounts, partitions, offsets,
     received, versions) = columns_of(tables, "events")  # fmt: skip
    plate, phone, of = ps.plate, ps.phone, ps.of
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            data = body.get("data") or {}
            if "plate" in data:
                subject = plate(data["plate"])
            elif "msisdn" in data:
                subject = phone(data["msisdn"])
            else:
                subject = of("id", data.get("card_id") or data.get("account_id"))
            amount = data.get("amount")
            event_id, city, type_ = body["id"], body["city"], body["type"]
            source = body.get("source", "")
            at = epoch(body["time"])
            zone = data.get("zone") or ""
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        offset = rec.offset
        ids.append(event_id)
        cities.append(city)
        types.append(type_)
        sources.append(source)
        times.append(at)
        subjects.append(subject)
        zones.append(zone)
        amounts.append(amount if type(amount) is int else 0)  # bool is not an amount
        partitions.append(partition)
        offsets.append(offset)
        received.append((rec.timestamp or 0) // 1000)
        versions.append(offset)


def validity_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (cities, ticket_ids, kinds, products, channels, states, valid_froms, valid_untils, prices,
     currencies, zones, plates, subject_kinds, subjects, revoked_ats, updated_ats, caused_bys,
     versions) = columns_of(tables, "entitlements")  # fmt: skip
    plate = ps.plate
    for rec in records:
        value = rec.value
        if value is None:
            continue  # a tombstone
        try:
            body = _object(value)
            if "entitlements" not in body:
                continue  # a ClockMark: the worker's event-time heartbeat, nothing to store
            city = body["city"]
            subject_kind = body["subject_kind"]
            subject = ps.subject(subject_kind, body["subject"])
            updated_at = epoch(body["updated_at"])
            version = _micros(body["updated_at"])
            rows: list[Row] = []
            rides: list[Row] = []
            for ent in body["entitlements"]:
                plate_text = ent.get("plate") or (
                    body["subject"] if subject_kind == "plate" else ""
                )
                revoked = ent.get("revoked_at")
                rows.append((
                    ent["ticket_id"], ent["kind"], ent["product"], ent["channel"], ent["state"],
                    epoch(ent["valid_from"]), epoch(ent["valid_until"]), ent["price"],
                    ent["currency"], ent.get("zone") or "", plate(plate_text),
                    epoch(revoked) if revoked else None, body.get("caused_by", ""),
                ))  # fmt: skip
                if ent["kind"] in RIDE_KINDS:
                    rides.append(_ride_row(city, ent, subject, version))
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        for (ticket_id, kind, product, channel, state, valid_from, valid_until, price,
             currency, zone, plate_pseudonym, revoked_at, caused_by) in rows:  # fmt: skip
            cities.append(city)
            ticket_ids.append(ticket_id)
            kinds.append(kind)
            products.append(product)
            channels.append(channel)
            states.append(state)
            valid_froms.append(valid_from)
            valid_untils.append(valid_until)
            prices.append(price)
            currencies.append(currency)
            zones.append(zone)
            plates.append(plate_pseudonym)
            subject_kinds.append(subject_kind)
            subjects.append(subject)
            revoked_ats.append(revoked_at)
            updated_ats.append(updated_at)
            caused_bys.append(caused_by)
            versions.append(version)
        for ride in rides:
            append_row(tables, "rides", ride)


def _ride_row(city: str, ent: dict[str, Any], card: str, version: int) -> Row:
    details = ent.get("details") or {}
    return (
        city,
        ent["ticket_id"],
        "check_in",
        card,
        ent["product"],
        epoch(ent["valid_from"]),
        str(details.get("trip") or ""),
        _int(details.get("boarding_stop_seq")),
        -1,
        ent["price"],
        ent["currency"],
        version,
    )


def ledger_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (ids, cities, holders, purses, kinds, amounts, currencies, ticket_ids, zones, products,
     channels, balances, caused_bys, times, versions) = columns_of(tables, "ledger")  # fmt: skip
    identifier = ps.identifier
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            row = (
                body["id"], body["city"], identifier(body["holder"]), body["purse"],
                body["kind"], body["amount"], body["currency"], body.get("ticket_id") or "",
                body.get("zone") or "", body.get("product") or "", body.get("channel") or "",
                body.get("balance_after"), body.get("caused_by", ""), epoch(body["time"]),
            )  # fmt: skip
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        (entry_id, city, holder, purse, kind, amount, currency, ticket_id, zone, product,
         channel, balance, caused_by, at) = row  # fmt: skip
        ids.append(entry_id)
        cities.append(city)
        holders.append(holder)
        purses.append(purse)
        kinds.append(kind)
        amounts.append(amount)
        currencies.append(currency)
        ticket_ids.append(ticket_id)
        zones.append(zone)
        products.append(product)
        channels.append(channel)
        balances.append(balance)
        caused_bys.append(caused_by)
        times.append(at)
        versions.append(rec.offset)


def notification_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (ids, cities, channels, recipients, kinds, ticket_ids, lengths, caused_bys, times,
     versions) = columns_of(tables, "notifications")  # fmt: skip
    identifier = ps.identifier
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            row = (
                body["id"], body["city"], body["channel"], identifier(body["to"]), body["kind"],
                body.get("ticket_id") or "", len(body.get("text", "")),
                body.get("caused_by", ""), epoch(body["time"]),
            )  # fmt: skip
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        note_id, city, channel, recipient, kind, ticket_id, length, caused_by, at = row
        ids.append(note_id)
        cities.append(city)
        channels.append(channel)
        recipients.append(recipient)
        kinds.append(kind)
        ticket_ids.append(ticket_id)
        lengths.append(length)
        caused_bys.append(caused_by)
        times.append(at)
        versions.append(rec.offset)


def check_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (ids, cities, officers, roles, subject_kinds, subjects, zones, ats, answered_ats, statuses,
     ticket_idss, as_ofs, versions) = columns_of(tables, "checks")  # fmt: skip
    subject_of = ps.subject
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            as_of = body.get("as_of")
            row = (
                body["check_id"], body["city"], body["officer"], body["role"],
                body["subject_kind"], subject_of(body["subject_kind"], body["subject"]),
                body.get("zone") or "", epoch(body["at"]), epoch(body["answered_at"]),
                body["status"], list(map(str, body.get("ticket_ids", []))),
                epoch(as_of) if as_of else None,
            )  # fmt: skip
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        (check_id, city, officer, role, subject_kind, subject, zone, at, answered_at, status,
         ticket_ids, as_of_s) = row  # fmt: skip
        ids.append(check_id)
        cities.append(city)
        officers.append(officer)
        roles.append(role)
        subject_kinds.append(subject_kind)
        subjects.append(subject)
        zones.append(zone)
        ats.append(at)
        answered_ats.append(answered_at)
        statuses.append(status)
        ticket_idss.append(ticket_ids)
        as_ofs.append(as_of_s)
        versions.append(rec.offset)


def outcome_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    (ids, cities, types, owners, outcomes, rules, reasons, factss, times,
     versions) = columns_of(tables, "outcomes")  # fmt: skip
    identifier, scrub = ps.identifier, ps.scrub
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            owner = identifier(body["owner"])
            facts = body.get("facts") or {}
            rides: list[Row] = []
            if (
                body.get("rule") == "TRN-2"
                and body.get("outcome") == "accepted"
                and "stops" in facts
            ):
                # A check-out: the stops travelled by every ticket of the ride (TRN-2, TRN-6).
                for ticket_id in facts.get("tickets") or []:
                    rides.append((
                        body["city"], str(ticket_id), "check_out", owner, "",
                        epoch(body["time"]), str(facts.get("trip") or ""), -1,
                        _int(facts.get("stops")), 0, "", rec.offset,
                    ))  # fmt: skip
            row = (
                body["id"], body["city"], body["type"], owner, body["outcome"],
                body.get("rule") or "", body.get("reason") or "", _json(scrub(facts)),
                epoch(body["time"]),
            )  # fmt: skip
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        outcome_id, city, type_, owner, outcome, rule, reason, facts_json, at = row
        ids.append(outcome_id)
        cities.append(city)
        types.append(type_)
        owners.append(owner)
        outcomes.append(outcome)
        rules.append(rule)
        reasons.append(reason)
        factss.append(facts_json)
        times.append(at)
        versions.append(rec.offset)
        for ride in rides:
            append_row(tables, "rides", ride)


def dead_letter_columns(
    records: Sequence[Record], partition: int, tables: Tables, ps: Pseudonymizer, failed: Failed
) -> None:
    for rec in records:
        value = rec.value
        if value is None:
            continue
        try:
            body = _object(value)
            raw = body.get("raw", "")
            city, type_, scrubbed = _scrub_raw(raw, ps)
            row = (
                body["id"], body.get("event_id") or "", city, type_, body["reason"],
                _json(body.get("problems", [])), scrubbed, body.get("source_topic", ""),
                _int(body.get("partition")), _int(body.get("offset")),
                epoch(body["received_at"]), rec.offset,
            )  # fmt: skip
        except _FAILURES as exc:
            failed.append((rec, _reason(exc)))
            continue
        append_row(tables, "dead_letters", row)


def _scrub_raw(raw: str, ps: Pseudonymizer) -> tuple[str, str, str]:
    """City, type and a pseudonymised copy of a rejected event; unreadable text is not kept
    (it may hold anything personal), only its size."""
    try:
        parsed = orjson.loads(raw)
    except (TypeError, ValueError):
        return "", "", f"<{len(raw)} characters, not JSON: not kept>"
    if not isinstance(parsed, dict):
        return "", "", f"<JSON {type(parsed).__name__}: not kept>"
    city = parsed.get("city") if isinstance(parsed.get("city"), str) else ""
    type_ = parsed.get("type") if isinstance(parsed.get("type"), str) else ""
    return city[:32], type_[:64], _json(ps.scrub(parsed))


class Fetched(NamedTuple):
    """A record as the mapping reads it, for callers that hold only its bytes."""

    offset: int
    timestamp: int | None
    value: bytes | None


def mappers(topics: Topics) -> dict[str, RunMapper]:
    """Which run mapper reads which topic."""
    return {
        topics.raw: event_columns,
        topics.validity: validity_columns,
        topics.ledger: ledger_columns,
        topics.notifications: notification_columns,
        topics.audit: check_columns,
        topics.outcomes: outcome_columns,
        topics.deadletter: dead_letter_columns,
    }


def map_record(mapper: RunMapper, value: bytes | None, meta: Meta, ps: Pseudonymizer) -> TableRows:
    """One record's rows as `[(table, row)]`, table by table; a tombstone gives none.
    Raises Unmappable."""
    tables = new_tables()
    failed: Failed = []
    mapper([Fetched(meta.offset, meta.timestamp_ms, value)], meta.partition, tables, ps, failed)
    if failed:
        raise Unmappable(failed[0][1])
    return [(table, row) for table in tables for row in rows_of(tables, table)]


def unmappable_row(value: bytes | None, meta: Meta, reason: str, ps: Pseudonymizer) -> Row:
    """A `dead_letters` row for a record the sink could not map (kept, never skipped)."""
    raw = (value or b"").decode("utf-8", errors="replace")
    city, type_, scrubbed = _scrub_raw(raw, ps)
    return (
        f"sink:{meta.topic}:{meta.partition}:{meta.offset}",
        "",
        city,
        type_,
        f"analytics sink: {reason}",
        "[]",
        scrubbed,
        meta.topic,
        meta.partition,
        meta.offset,
        meta.timestamp_ms // 1000,
        meta.offset,
    )
