"""The in-memory validity picture (enforcement_api.replica.ValidityIndex)."""

from __future__ import annotations

from datetime import timedelta

from enforcement_api.replica import ValidityIndex
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
