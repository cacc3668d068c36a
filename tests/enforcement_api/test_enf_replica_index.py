"""The in-memory validity picture (enforcement_api.replica.ValidityIndex)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from enforcement_api.replica import HeldEntitlement, ValidityIndex, read_entitlements
from streams.contract import ClockMark, clock_key
from tests.enforcement_api.enf_helpers import ent, record, utc

T9 = utc("2026-11-24T09:00")


def test_records_of_several_owners_are_merged_and_tombstones_remove_one_owner():
    index = ValidityIndex()
    a = record("KR4521X", [ent("a1", T9)], city="mobilet", owner="acc-1")
    b = record("KR4521X", [ent("b1", T9 + timedelta(hours=1))], city="mobilet", owner="acc-2")
    index.record(a)
    index.record(b)
    ids = {e.ticket_id for e in index.entitlements("mobilet", "plate", "KR4521X")}
    assert ids == {"a1", "b1"}
    index.remove(a.key)
    assert [e.ticket_id for e in index.entitlements("mobilet", "plate", "KR4521X")] == ["b1"]
    index.remove(b.key)
    assert not index.has("mobilet", "plate", "KR4521X")
    assert len(index) == 0


def test_a_newer_record_of_the_same_owner_replaces_the_older():
    index = ValidityIndex()
    index.record(record("NI1AB", [ent("t1", T9)]))
    index.record(record("NI1AB", [ent("t1", T9), ent("t2", T9 + timedelta(hours=1))]))
    assert len(index.entitlements("nis", "plate", "NI1AB")) == 2


def test_as_of_is_the_newest_event_time_per_city_from_records_and_clock_marks():
    index = ValidityIndex()
    assert index.as_of("nis") is None
    index.record(record("NI1AB", [ent("t1", T9)], updated_at=T9))
    index.record(record("NI2AB", [ent("t2", T9)], updated_at=T9 - timedelta(minutes=5)))
    assert index.as_of("nis") == T9
    mark = ClockMark(city="nis", partition=3, reached=T9 + timedelta(minutes=1))
    index.apply(clock_key("nis", "raw", 3), mark.to_json())
    assert index.as_of("nis") == T9 + timedelta(minutes=1)
    assert index.as_of("zcs") is None
    assert not index.has("nis", "clock", "raw")


def test_malformed_messages_are_counted_not_applied():
    index = ValidityIndex()
    index.apply(b"nis|plate|NI1AB|NI1AB", b"{not json")
    index.apply(None, b"{}")
    index.apply(b"no-pipes", b"{}")
    assert index.malformed == 3
    assert len(index) == 0


def _model_fields(entitlements) -> list[tuple]:
    return [tuple(getattr(e, name) for name in HeldEntitlement._fields) for e in entitlements]


def test_the_lean_read_gives_what_the_record_model_gives():
    """Checks read entitlements with orjson (replica.read_entitlements): every field
    the model holds, by name and value, for every kind of entitlement a check meets."""
    rec = record(
        "NI777ŠĐ",
        [
            ent("a1", T9, zone=None, code="HK7Q2M9X", plate="NI777ŠĐ"),
            ent("a2", T9, state="revoked", revoked_at=T9 + timedelta(minutes=7, microseconds=5)),
            ent("a3", T9, channel="app", details={"stops": [1, 2], "group": {"size": 3}}),
            ent("a4", T9, pin=None),
        ],
    )
    index = ValidityIndex()
    index.record(rec)
    held = index.entitlements("nis", "plate", "NI777ŠĐ")
    assert all(isinstance(e, HeldEntitlement) for e in held)
    assert _model_fields(held) == _model_fields(rec.entitlements)
    assert read_entitlements(rec.to_json()) == held
    assert all(e.valid_from.tzinfo is UTC for e in held)
    assert index.malformed == 0


def test_a_record_the_lean_read_cannot_vouch_for_takes_the_model_way():
    """A detail beyond 64 bits (orjson would make it a float), a price written as text
    (the model coerces it): the check sees the model's values."""
    big = record("NI1AB", [ent("t1", T9, details={"serial": 2**70})]).to_json()
    as_text = big.replace(b'"price":6000', b'"price":"6000"')
    for raw in (big, as_text):
        with pytest.raises(ValueError):
            read_entitlements(raw)
        index = ValidityIndex()
        index.apply(b"nis|plate|NI1AB|NI1AB", raw)
        (held,) = index.entitlements("nis", "plate", "NI1AB")
        assert held.details == {"serial": 2**70}
        assert held.price == 6000 and type(held.price) is int
        assert index.malformed == 0


def test_a_record_the_model_refuses_is_counted_and_gives_nothing():
    raw = (
        record("NI1AB", [ent("t1", T9)]).to_json().replace(b'"state":"provisional"', b'"state":"x"')
    )
    index = ValidityIndex()
    index.apply(b"nis|plate|NI1AB|NI1AB", raw)  # applied: its updated_at reads
    assert index.has("nis", "plate", "NI1AB")
    assert index.entitlements("nis", "plate", "NI1AB") == []
    assert index.malformed == 1


def test_a_ticket_listed_twice_in_one_record_counts_once():
    index = ValidityIndex()
    index.record(record("NI1AB", [ent("t1", T9), ent("t1", T9, minutes=120)]))
    (held,) = index.entitlements("nis", "plate", "NI1AB")
    assert held.valid_until == T9 + timedelta(minutes=120)
