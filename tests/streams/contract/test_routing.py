"""Partition keys: one state owner per key (ARCHITECTURE: one partition key per owner)."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.contract import BROADCAST, make_event, owner_key

T = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_nis_sms_is_owned_by_the_normalised_plate() -> None:
    event = make_event(
        "sms.received",
        "nis",
        {"msisdn": "381641", "to": "9181", "text": "ni 12-ab", "operator": "a"},
        T,
    )
    assert owner_key(event, "sms_parking") == "NI12AB"


def test_nis_unreadable_sms_is_owned_by_the_sender() -> None:
    event = make_event(
        "sms.received",
        "nis",
        {"msisdn": "381641", "to": "9181", "text": "hello?", "operator": "a"},
        T,
    )
    assert owner_key(event, "sms_parking") == "381641"


def test_missed_call_city_sms_is_owned_by_the_phone() -> None:
    event = make_event(
        "sms.received",
        "hradec",
        {"msisdn": "420603", "to": "90230", "text": "ANO HKR", "operator": "o2"},
        T,
    )
    assert owner_key(event, "missed_call") == "420603"


def test_card_and_account_and_tick_keys() -> None:
    tap = make_event(
        "card.tap",
        "tarnow",
        {
            "card_id": "C1",
            "validator_id": "V",
            "trip_id": "T",
            "stop_seq": 0,
            "counter": 1,
            "card_class": "standard",
            "entitlement": "normal",
        },
        T,
    )
    assert owner_key(tap, "card_fare") == "C1"
    stop = make_event("parking.stop", "zcs", {"account_id": "A9", "stay_id": "s"}, T)
    assert owner_key(stop, "app_parking") == "A9"
    assert owner_key(make_event("clock.tick", "zcs", {}, T), "app_parking") == BROADCAST
