"""Outbound records encode to one fixed byte form (records.py: a redelivered event must
re-publish byte-identical records that readers de-duplicate by id)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.contract import DeadLetter, Notification, Outcome, format_time
from streams.contract.records import Record

PRAGUE_WINTER = timezone(timedelta(hours=1))
AT = datetime(2026, 11, 24, 10, 0, tzinfo=PRAGUE_WINTER)


def _documented_form(record: Record) -> bytes:
    """Compact JSON, UTF-8 unescaped, fields in declaration order, None fields left out."""
    return json.dumps(
        record.model_dump(mode="json", exclude_none=True), ensure_ascii=False, separators=(",", ":")
    ).encode()


RECORDS = [
    Notification(
        id="h-day1:reply",
        city="hradec",
        channel="sms",
        to="420601000111",
        kind="ticket",
        text='Jízdenka "24 h", cena 100 Kč\nKód: 2136\t\x01 ✓',
        caused_by="h-day1",
        time=AT,
    ),
    Outcome(
        id="e-1",
        city="nis",
        type="sms.received",
        owner="NI123AB",
        outcome="refused",
        rule="NIS-4",
        facts={"zone": "Ц1", "minutes": [60, 120], "nested": {"paid": 0, "ok": True}},
        time=AT,
    ),
    DeadLetter(
        id="events.raw:1:7",
        reason="invalid",
        problems=[{"field": "data.msisdn", "problem": "must be a phone number"}],
        raw='{"id": "x", \u2028 "\\\\"}',
        source_topic="events.raw",
        received_at=AT,
    ),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_bytes_are_the_documented_compact_utf8_form(record: Record) -> None:
    encoded = record.to_json()
    assert encoded == _documented_form(record)
    assert b"+01:00" not in encoded and b"Z" in encoded  # times in UTC with a Z
    assert type(record).from_json(encoded) == record


@pytest.mark.parametrize(
    "moment",
    [
        AT,
        AT + timedelta(microseconds=120),
        AT + timedelta(microseconds=123456),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 7, 1, 3, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
def test_record_times_read_as_format_time_writes_them(moment: datetime) -> None:
    outcome = Outcome(id="e-1", city="nis", type="t", owner="o", outcome="accepted", time=moment)
    assert f'"time":"{format_time(moment)}"'.encode() in outcome.to_json()
    assert outcome.time == moment
