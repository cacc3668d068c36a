"""CloudEvents parsing: valid events come out typed, bad ones with precise reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.contract import EventRejected, make_event, parse_event
from streams.contract.events import CardGroup, SmsReceived

BASE = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "urn:test",
    "type": "sms.received",
    "time": "2026-11-24T10:00:00+01:00",
    "city": "nis",
    "data": {"msisdn": "+381 64 1234567", "to": "9181", "text": "NI123AB", "operator": "mts"},
}


def _with(**changes: object) -> dict:
    body = json.loads(json.dumps(BASE))
    body.update(changes)
    return body


def test_valid_event_is_typed_and_time_is_utc() -> None:
    event = parse_event(json.dumps(BASE).encode())
    assert isinstance(event.data, SmsReceived)
    assert event.time == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert event.data.msisdn == "+381641234567"


def test_round_trip_through_json_keeps_the_event() -> None:
    event = parse_event(BASE)
    assert parse_event(event.to_json()) == event


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_with(specversion="0.3"), "specversion"),
        (_with(time="2026-11-24T10:00:00"), "time"),
        (_with(type="sms.sent"), "type"),
        (_with(city="Niš"), "city"),
        (_with(id=""), "id"),
        (_with(data={"msisdn": "x", "to": "9181", "text": "A", "operator": "m"}), "data.msisdn"),
        (_with(data={**BASE["data"], "colour": "red"}), "data.colour"),
    ],
)
def test_bad_event_names_the_field(body: dict, field: str) -> None:
    with pytest.raises(EventRejected) as caught:
        parse_event(body)
    assert field in [p.field for p in caught.value.problems]


def test_missing_attribute_is_named() -> None:
    body = _with()
    del body["time"]
    with pytest.raises(EventRejected) as caught:
        parse_event(body)
    assert caught.value.problems[0].field == "time"
    assert caught.value.event_id == "e-1"


def test_not_json_is_rejected_with_reason() -> None:
    with pytest.raises(EventRejected, match="not JSON"):
        parse_event(b"\xff{")


def test_unknown_city_is_rejected_when_cities_are_known() -> None:
    with pytest.raises(EventRejected, match="unknown city"):
        parse_event(_with(city="oslo"), known_cities=frozenset({"nis"}))


def test_amounts_must_be_integer_minor_units() -> None:
    body = _with(
        type="wallet.topup",
        city="zcs",
        data={"account_id": "a1", "amount": 12.5, "method": "card"},
    )
    with pytest.raises(EventRejected) as caught:
        parse_event(body)
    assert caught.value.problems[0].field == "data.amount"


def test_parking_start_needs_exactly_one_limit() -> None:
    data = {"account_id": "a", "plate": "AB123CD", "zone": "Z1", "payment": "wallet"}
    with pytest.raises(EventRejected, match="exactly one"):
        make_event("parking.start", "zcs", data, datetime(2026, 1, 1, tzinfo=UTC))
    both = {**data, "max_minutes": 30, "end": "2026-01-01T10:00:00+01:00"}
    with pytest.raises(EventRejected, match="exactly one"):
        make_event("parking.start", "zcs", both, datetime(2026, 1, 1, tzinfo=UTC))


def test_group_without_anybody_is_rejected() -> None:
    data = {
        "card_id": "c",
        "validator_id": "v",
        "trip_id": "t",
        "stop_seq": 1,
        "counter": 1,
        "card_class": "standard",
        "entitlement": "normal",
        "include_self": False,
        "tickets": [],
    }
    with pytest.raises(EventRejected, match="include_self"):
        make_event("card.group", "tarnow", data, datetime(2026, 1, 1, tzinfo=UTC))
    data["tickets"] = [{"entitlement": "normal", "count": 2}]
    event = make_event("card.group", "tarnow", data, datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(event.data, CardGroup)


def test_make_event_converts_local_time_to_utc() -> None:
    local = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    event = make_event("clock.tick", "zcs", {}, local)
    assert event.time == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert event.to_cloudevent()["time"] == "2026-03-29T01:30:00Z"
