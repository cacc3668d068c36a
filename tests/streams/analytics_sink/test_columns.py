"""The sink's columnar run mapping gives exactly the rows the per-record mapping gave.

`reference_rows.py` is the mapping as it was before (one record -> row tuples); here every
record kind of the contract — including the unmappable, the tombstones and the clock
marks, interleaved in one fetched run as Kafka delivers them — goes through both, and the
columns must hold the same rows in the same order per table, with the same failures.
"""

from __future__ import annotations

import json

import pytest

from streams.analytics_sink.bench import record_stream
from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import (
    COLUMNS,
    Failed,
    Fetched,
    Meta,
    Tables,
    Unmappable,
    mappers,
    new_tables,
    row_count,
    rows_of,
)
from streams.contract import Topics
from tests.streams.analytics_sink import records as r
from tests.streams.analytics_sink.reference_rows import reference_map_record, reference_mappers

TOPICS = Topics("")
PARTITION = 5
TIMESTAMP_MS = 1_764_000_000_999

BROKEN = [
    b"not json",
    b"\xff\xfe not utf-8",
    b"[1, 2]",
    b'"a string"',
    b"{}",
    b'{"id": "x"}',
    b'{"id": "x", "city": "nis", "type": "t", "time": "2026-11-24T10:00:00"}',  # no offset
    b'{"id": 1, "city": "nis", "type": "t", "time": 5, "data": []}',
    b'{"entitlements": [{"ticket_id": "t"}], "city": "nis", "subject_kind": "plate"}',
    b'{"entitlements": 3, "city": "nis", "subject_kind": "plate", "subject": "NI1AB",'
    b' "updated_at": "2026-11-24T10:00:00Z"}',
    b'{"id": "o", "owner": "x", "facts": ["not", "a", "dict"], "city": "c", "type": "t",'
    b' "outcome": "accepted", "time": "2026-11-24T10:00:00Z"}',
    b'{"id": "d", "raw": 7, "reason": "r", "received_at": "2026-11-24T10:00:00Z"}',
]


def values_by_topic() -> dict[str, list[bytes | None]]:
    """Every record kind of the contract per topic, the benchmark's mix, and broken ones."""
    values: dict[str, list[bytes | None]] = {
        TOPICS.raw: [r.sms_event(i).to_json() for i in range(5)],
        TOPICS.validity: [
            r.stay(1).to_json(),
            r.stay(2, state="revoked").to_json(),
            r.ride(3, tickets=3).to_json(),
            r.clock_mark().to_json(),
            None,  # a tombstone
            r.stay(4, plate="ni 004-ab").to_json(),
        ],
        TOPICS.ledger: [r.charge(i, kind=k).to_json() for i, k in enumerate(("charge", "refund"))],
        TOPICS.notifications: [r.notification(i).to_json() for i in range(3)],
        TOPICS.audit: [r.check(1).to_json(), r.check(2, status="expired").to_json()],
        TOPICS.outcomes: [
            r.outcome(1).to_json(),
            r.outcome(2, outcome="accepted", rule=None).to_json(),
            r.check_out(3, stops=7, tickets=3).to_json(),
        ],
        TOPICS.deadletter: [r.dead_letter(i).to_json() for i in range(2)],
    }
    for kind, value in record_stream(25):
        values[getattr(TOPICS, kind)].append(value)
    # unusual but valid: an event with an amount, a card event, a bool amount
    values[TOPICS.raw] += [
        json.dumps({"id": "e-a", "city": "nis", "type": "card.tap", "time": "2026-11-24T10:00:00Z",
                    "data": {"card_id": "C1", "amount": 700, "zone": "z"}}).encode(),
        json.dumps({"id": "e-b", "city": "nis", "type": "x", "time": "2026-11-24T10:00:00+01:00",
                    "data": {"account_id": "A1", "amount": True}}).encode(),
        json.dumps({"id": "e-c", "city": "nis", "type": "x", "time": "2026-11-24T10:00:00Z",
                    "data": {"plate": "ni 7-ab"}, "source": "urn:x"}).encode(),
    ]  # fmt: skip
    for topic in values:
        values[topic] = [*values[topic][:2], *BROKEN, *values[topic][2:], None]
    return values


def reference(topic: str, values: list[bytes | None], ps: Pseudonymizer):
    mapper = reference_mappers(TOPICS)[topic]
    rows: dict[str, list[tuple]] = {}
    failed: list[tuple[int, str]] = []
    for offset, value in enumerate(values, start=100):
        meta = Meta(topic, PARTITION, offset, TIMESTAMP_MS)
        try:
            mapped = reference_map_record(mapper, value, meta, ps)
        except Unmappable as exc:
            failed.append((offset, str(exc)))
            continue
        for table, row in mapped:
            rows.setdefault(table, []).append(row)
    return rows, failed


def columnar(topic: str, values: list[bytes | None], ps: Pseudonymizer, tables: Tables):
    run = [Fetched(offset, TIMESTAMP_MS, v) for offset, v in enumerate(values, start=100)]
    failed: Failed = []
    mappers(TOPICS)[topic](run, PARTITION, tables, ps, failed)
    return [(rec.offset, reason) for rec, reason in failed]


@pytest.mark.parametrize("topic", sorted(values_by_topic()))
def test_a_run_maps_to_the_rows_and_failures_of_the_per_record_mapping(topic: str) -> None:
    values = values_by_topic()[topic]
    expected_rows, expected_failed = reference(topic, values, Pseudonymizer(b"k"))
    tables = new_tables()
    failed = columnar(topic, values, Pseudonymizer(b"k"), tables)
    assert failed == expected_failed
    assert len(failed) >= 4  # not JSON, not UTF-8, not objects: unmappable on any topic
    assert {t: rows_of(tables, t) for t in tables if rows_of(tables, t)} == expected_rows
    for table, cols in tables.items():
        assert len(cols) == len(COLUMNS[table])
        assert len({len(c) for c in cols}) == 1, table  # failures left the columns aligned
    assert row_count(tables) == sum(len(rows) for rows in expected_rows.values())


def test_runs_of_every_topic_fill_one_set_of_tables_in_order() -> None:
    """The sink maps the runs of all partitions of a poll into the batch's tables."""
    tables = new_tables()
    ps = Pseudonymizer(b"k")
    expected: dict[str, list[tuple]] = {}
    for topic, values in values_by_topic().items():
        columnar(topic, values, ps, tables)
        for table, rows in reference(topic, values, ps)[0].items():
            expected.setdefault(table, []).extend(rows)
    assert {t: rows_of(tables, t) for t in expected} == expected
    assert set(expected) == set(COLUMNS)  # every table was exercised
