"""Pure mapping of one Kafka record to ClickHouse rows: record JSON -> tuples of columns.

No I/O here. `map_record(source, value, meta, pseudonyms)` returns `[(table, row), ...]`
where `row` follows `COLUMNS[table]` (the column order of the migrations in
`infra/clickhouse/migrations/`). A record may give several rows (a validity record holds
several entitlements, a ride entitlement also gives a `rides` row) or none (a tombstone, a
clock mark). Personal identifiers leave this module only as pseudonyms.

Times become integer seconds since the epoch (UTC): ClickHouse DateTime holds whole
seconds, and clickhouse-driver inserts integers without any time-zone guessing.
A record that cannot be mapped raises `Unmappable`; the sink then writes a
`dead_letters` row for it instead of stopping (`unmappable_row`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

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


class Unmappable(ValueError):
    """A record the sink cannot turn into rows (bad JSON, a missing field)."""


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


# --- one function per topic -----------------------------------------------------------------


def event_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    data = body.get("data") or {}
    if "plate" in data:
        subject = ps.plate(data["plate"])
    elif "msisdn" in data:
        subject = ps.phone(data["msisdn"])
    else:
        subject = ps.of("id", data.get("card_id") or data.get("account_id"))
    amount = data.get("amount")
    row = (
        body["id"],
        body["city"],
        body["type"],
        body.get("source", ""),
        epoch(body["time"]),
        subject,
        data.get("zone") or "",
        amount if isinstance(amount, int) and not isinstance(amount, bool) else 0,
        meta.partition,
        meta.offset,
        meta.timestamp_ms // 1000,
        meta.offset,
    )
    return [("events", row)]


def validity_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    if "entitlements" not in body:
        return []  # a ClockMark: the worker's event-time heartbeat, nothing to store
    city = body["city"]
    subject_kind = body["subject_kind"]
    subject = ps.subject(subject_kind, body["subject"])
    updated_at = epoch(body["updated_at"])
    version = _micros(body["updated_at"])
    out: TableRows = []
    for ent in body["entitlements"]:
        plate_text = ent.get("plate") or (body["subject"] if subject_kind == "plate" else "")
        revoked = ent.get("revoked_at")
        out.append(
            (
                "entitlements",
                (
                    city,
                    ent["ticket_id"],
                    ent["kind"],
                    ent["product"],
                    ent["channel"],
                    ent["state"],
                    epoch(ent["valid_from"]),
                    epoch(ent["valid_until"]),
                    ent["price"],
                    ent["currency"],
                    ent.get("zone") or "",
                    ps.plate(plate_text),
                    subject_kind,
                    subject,
                    epoch(revoked) if revoked else None,
                    updated_at,
                    body.get("caused_by", ""),
                    version,
                ),
            )
        )
        if ent["kind"] in RIDE_KINDS:
            out.append(("rides", _ride_row(city, ent, subject, version)))
    return out


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


def ledger_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    row = (
        body["id"],
        body["city"],
        ps.identifier(body["holder"]),
        body["purse"],
        body["kind"],
        body["amount"],
        body["currency"],
        body.get("ticket_id") or "",
        body.get("zone") or "",
        body.get("product") or "",
        body.get("channel") or "",
        body.get("balance_after"),
        body.get("caused_by", ""),
        epoch(body["time"]),
        meta.offset,
    )
    return [("ledger", row)]


def notification_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    row = (
        body["id"],
        body["city"],
        body["channel"],
        ps.identifier(body["to"]),
        body["kind"],
        body.get("ticket_id") or "",
        len(body.get("text", "")),
        body.get("caused_by", ""),
        epoch(body["time"]),
        meta.offset,
    )
    return [("notifications", row)]


def check_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    as_of = body.get("as_of")
    row = (
        body["check_id"],
        body["city"],
        body["officer"],
        body["role"],
        body["subject_kind"],
        ps.subject(body["subject_kind"], body["subject"]),
        body.get("zone") or "",
        epoch(body["at"]),
        epoch(body["answered_at"]),
        body["status"],
        [str(t) for t in body.get("ticket_ids", [])],
        epoch(as_of) if as_of else None,
        meta.offset,
    )
    return [("checks", row)]


def outcome_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    owner = ps.identifier(body["owner"])
    facts = body.get("facts") or {}
    out: TableRows = []
    if body.get("rule") == "TRN-2" and body.get("outcome") == "accepted" and "stops" in facts:
        # A check-out: the stops travelled by every ticket of the ride (TRN-2, TRN-6).
        for ticket_id in facts.get("tickets") or []:
            out.append(("rides", (
                body["city"], str(ticket_id), "check_out", owner, "", epoch(body["time"]),
                str(facts.get("trip") or ""), -1, _int(facts.get("stops")), 0, "",
                meta.offset,
            )))  # fmt: skip
    row = (
        body["id"],
        body["city"],
        body["type"],
        owner,
        body["outcome"],
        body.get("rule") or "",
        body.get("reason") or "",
        _json(ps.scrub(facts)),
        epoch(body["time"]),
        meta.offset,
    )
    return [("outcomes", row), *out]


def dead_letter_rows(body: dict[str, Any], meta: Meta, ps: Pseudonymizer) -> TableRows:
    raw = body.get("raw", "")
    city, type_, scrubbed = _scrub_raw(raw, ps)
    row = (
        body["id"],
        body.get("event_id") or "",
        city,
        type_,
        body["reason"],
        _json(body.get("problems", [])),
        scrubbed,
        body.get("source_topic", ""),
        _int(body.get("partition")),
        _int(body.get("offset")),
        epoch(body["received_at"]),
        meta.offset,
    )
    return [("dead_letters", row)]


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


Mapper = Callable[[dict[str, Any], Meta, Pseudonymizer], TableRows]


def mappers(topics: Topics) -> dict[str, Mapper]:
    """Which mapping function reads which topic."""
    return {
        topics.raw: event_rows,
        topics.validity: validity_rows,
        topics.ledger: ledger_rows,
        topics.notifications: notification_rows,
        topics.audit: check_rows,
        topics.outcomes: outcome_rows,
        topics.deadletter: dead_letter_rows,
    }


def map_record(mapper: Mapper, value: bytes | None, meta: Meta, ps: Pseudonymizer) -> TableRows:
    """Rows for one record; a tombstone (None) gives none. Raises Unmappable."""
    if value is None:
        return []
    try:
        body = orjson.loads(value)  # C parser on the bytes: ~4x json.loads here
    except orjson.JSONDecodeError as exc:  # also invalid UTF-8
        raise Unmappable(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Unmappable("not a JSON object")
    try:
        return mapper(body, meta, ps)
    except KeyError as exc:
        raise Unmappable(f"missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise Unmappable(str(exc)) from None


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
