"""Row mapping: one record of each topic -> the columns of its table, personal data hashed."""

from __future__ import annotations

import json

import pytest

from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import (
    COLUMNS,
    Meta,
    Unmappable,
    check_columns,
    dead_letter_columns,
    event_columns,
    ledger_columns,
    map_record,
    notification_columns,
    outcome_columns,
    unmappable_row,
    validity_columns,
)
from tests.streams.analytics_sink import records as r

PS = Pseudonymizer(b"test-key")
META = Meta("events.raw", 3, 41, 1_764_000_000_123)


def as_dict(table: str, row: tuple) -> dict:
    assert len(row) == len(COLUMNS[table]), table
    return dict(zip(COLUMNS[table], row, strict=True))


def one(mapper, record) -> tuple[str, dict]:
    rows = map_record(mapper, record.to_json(), META, PS)
    assert len(rows) == 1
    table, row = rows[0]
    return table, as_dict(table, row)


def test_event_row_keeps_time_and_hashes_the_phone() -> None:
    event = r.sms_event(5)
    table, row = one(event_columns, event)
    assert table == "events"
    assert row["event_id"] == "sms-5"
    assert row["time"] == int(event.time.timestamp())
    assert row["subject"] == PS.phone("+381641234567")
    assert "381641234567" not in json.dumps(row)
    assert (row["kafka_partition"], row["kafka_offset"], row["received_at"]) == (
        3, 41, 1_764_000_000,
    )  # fmt: skip


def test_nis1_entitlement_plate_hashed_after_normalisation() -> None:
    """NIS-1/ENF-2: 'ni 001-ab' and 'NI001AB' are one vehicle, so one pseudonym."""
    table, row = one(validity_columns, r.stay(1))
    assert table == "entitlements"
    assert row["plate"] == PS.plate("ni 001-ab") == PS.plate("NI001AB")
    assert row["subject"] == row["plate"]
    assert row["ticket_id"] == "tkt-1" and row["zone"] == "red" and row["price"] == 6000
    assert row["valid_until"] - row["valid_from"] == 3600
    assert row["revoked_at"] is None
    assert "NI001AB" not in json.dumps(row)


def test_later_change_of_a_ticket_has_a_higher_version() -> None:
    _, first = one(validity_columns, r.stay(1, at=r.T0))
    _, later = one(validity_columns, r.stay(1, at=r.T0.replace(second=1), state="revoked"))
    assert later["version"] > first["version"]


def test_trn6_ride_check_in_gives_a_ride_row_per_ticket() -> None:
    """TRN-1/TRN-6: a group check-in publishes one ride entitlement per traveller."""
    rows = map_record(validity_columns, r.ride(2).to_json(), META, PS)
    assert [t for t, _ in rows] == ["entitlements", "entitlements", "rides", "rides"]
    ride = as_dict("rides", rows[2][1])
    assert (ride["ride_id"], ride["event"], ride["trip_id"]) == ("ride-2-0", "check_in", "L12-0725")
    assert (ride["boarding_stop"], ride["stops"], ride["price"]) == (3, -1, 600)
    assert ride["card"] == PS.identifier("TK-00000002")


def test_trn2_check_out_outcome_gives_the_stops_of_every_ticket() -> None:
    """TRN-2: the check-out outcome carries the stops travelled for each ticket."""
    rows = map_record(outcome_columns, r.check_out(2, stops=7).to_json(), META, PS)
    assert [t for t, _ in rows] == ["outcomes", "rides", "rides"]
    ride = as_dict("rides", rows[2][1])
    assert (ride["ride_id"], ride["event"], ride["stops"]) == ("ride-2-1", "check_out", 7)
    assert ride["card"] == as_dict("rides", map_record(
        validity_columns, r.ride(2).to_json(), META, PS)[2][1])["card"]  # fmt: skip


def test_clock_marks_and_tombstones_give_no_rows() -> None:
    assert map_record(validity_columns, r.clock_mark().to_json(), META, PS) == []
    assert map_record(validity_columns, None, META, PS) == []


def test_ledger_row_hashes_the_holder_and_keeps_money_in_minor_units() -> None:
    table, row = one(ledger_columns, r.charge(3, amount=18000))
    assert table == "ledger"
    assert row["amount"] == 18000 and row["kind"] == "charge" and row["channel"] == "sms"
    assert row["holder"] == PS.phone("+381 64 1234567")
    assert row["balance_after"] is None


def test_notification_row_keeps_no_text() -> None:
    record = r.notification(4)
    table, row = one(notification_columns, record)
    assert table == "notifications"
    assert row["text_length"] == len(record.text)
    assert "PIN" not in json.dumps(row) and "NI004AB" not in json.dumps(row)
    assert row["recipient"] == PS.phone("+381641234567")


def test_enf3_check_row_for_compliance() -> None:
    """ENF-3: every lookup is kept (who, when, answer) with the subject pseudonymised."""
    table, row = one(check_columns, r.check(5, status="expired"))
    assert table == "checks"
    assert row["status"] == "expired" and row["officer"] == "warden-7"
    assert row["ticket_ids"] == ["tkt-5"]
    assert row["subject"] == PS.plate("NI005AB")
    assert row["as_of"] == row["at"]


def test_hkr6_refusal_outcome_keeps_rule_and_scrubs_facts() -> None:
    """HKR-6 refusals are counted on the Transit page from the outcome's rule."""
    table, row = one(outcome_columns, r.outcome(6))
    assert table == "outcomes"
    assert (row["outcome"], row["rule"]) == ("refused", "HKR-6")
    facts = json.loads(row["facts"])
    assert facts["valid_tickets"] == 5
    assert facts["msisdn"] == PS.phone("+420603123456")


def test_dead_letter_row_keeps_reason_and_a_scrubbed_raw_event() -> None:
    table, row = one(dead_letter_columns, r.dead_letter(7))
    assert table == "dead_letters"
    assert (row["city"], row["type"], row["event_id"]) == ("nis", "sms.received", "bad-7")
    assert "381641234567" not in row["raw"] and "NI123AB" not in row["raw"]
    assert json.loads(row["problems"]) == [{"field": "time", "problem": "Field required"}]


def test_unparseable_raw_text_is_not_kept() -> None:
    row = as_dict("dead_letters", unmappable_row(b"+381641234567 garbage", META, "not JSON", PS))
    assert "381641234567" not in row["raw"]
    assert row["id"] == "sink:events.raw:3:41"
    assert row["reason"].startswith("analytics sink:")


@pytest.mark.parametrize(
    "value", [b"not json", b"[1, 2]", b'{"id": "x"}', b'{"id":"x","city":"nis","type":"t",'
    b'"time":"2026-11-24T10:00:00"}']
)  # fmt: skip
def test_unmappable_records_raise(value: bytes) -> None:
    with pytest.raises(Unmappable):
        map_record(event_columns, value, META, PS)


def test_pseudonyms_depend_on_the_key() -> None:
    other = Pseudonymizer(b"another-key")
    assert PS.plate("NI123AB") != other.plate("NI123AB")
    assert len(PS.plate("NI123AB")) == 32
    assert PS.plate("NI123AB") != PS.phone("NI123AB")
