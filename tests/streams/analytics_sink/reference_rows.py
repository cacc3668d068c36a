"""The row mapping as it was before the sink mapped runs of records column-wise: a frozen
oracle. `test_columns.py` checks that the sink's columnar mapping (`rows.py`) gives exactly
these rows, in this order per table, for every record kind, and the same failures.
Not product code: kept only so the rewrite is measured against what it replaced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import (
    RIDE_KINDS,
    Meta,
    Row,
    TableRows,
    Unmappable,
    _int,
    _json,
    _micros,
    _scrub_raw,
    epoch,
)
from streams.contract.topics import Topics

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


Mapper = Callable[[dict[str, Any], Meta, Pseudonymizer], TableRows]


def reference_mappers(topics: Topics) -> dict[str, Mapper]:
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


def reference_map_record(
    mapper: Mapper, value: bytes | None, meta: Meta, ps: Pseudonymizer
) -> TableRows:
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
