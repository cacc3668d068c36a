"""City facts through the real tariff kernel (enforcement_api.cities): ENF-1 `not_required`."""

from __future__ import annotations

from datetime import timedelta

from tests.enforcement_api.enf_helpers import utc


def test_enf1_nis3_charging_hours_decide_not_required_to_the_second(cities):
    start = utc("2026-11-24T07:00")  # Tuesday
    assert not cities.charging_required("nis", "red", start - timedelta(seconds=1))
    assert cities.charging_required("nis", "red", start)
    assert cities.charging_required("nis", "red", start + timedelta(seconds=30))
    assert not cities.charging_required("nis", "red", utc("2026-11-28T14:00"))  # Saturday
    assert cities.charging_required("nis", "red", utc("2026-11-28T13:59:59"))
    assert not cities.charging_required("nis", None, utc("2026-11-29T11:00"))  # Sunday


def test_enf1_city_facts_come_from_the_configs(cities):
    assert {"nis", "hradec", "tarnow"} <= cities.known
    assert cities.zones("nis") == {"extra", "red", "green"}
    assert cities.grace_minutes("nis") == 5
    assert cities.is_parking("nis") and not cities.is_parking("hradec")


def test_warm_up_asks_every_parking_zone_without_error(cities):
    cities.warm_up()
    assert cities.unavailable_text("nis")
