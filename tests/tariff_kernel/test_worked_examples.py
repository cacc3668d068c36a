"""Worked examples of every price and time rule, on the shipped city configs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tariff_kernel import (
    TariffError,
    charging_in_force,
    charging_window,
    check_in_deposit,
    load_city,
    quote_stay,
    ride_fare,
    ride_refund,
    ticket_valid_until,
    transit_product,
)

BELGRADE = ZoneInfo("Europe/Belgrade")
PRAGUE = ZoneInfo("Europe/Prague")
WARSAW = ZoneInfo("Europe/Warsaw")
ROME = ZoneInfo("Europe/Rome")


def nis(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BELGRADE)


# --- Niš ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "price", "max_stay"),
    [("9180", 9000, 60), ("9181", 6000, 120), ("9182", 4500, 180)],
)
def test_nis2_short_code_selects_zone_price_and_max_stay(code, price, max_stay) -> None:
    q = quote_stay("nis", code, nis(2026, 11, 24, 10))
    assert (q.price, q.currency, q.max_stay_minutes) == (price, "RSD", max_stay)
    assert q.end - q.start == timedelta(hours=1)
    assert q.no_return_minutes == 30  # NIS-5


def test_nis2_red_zone_two_hours_cost_60_plus_180() -> None:
    q = quote_stay("nis", "9181", nis(2026, 11, 24, 10), minutes=120)
    assert q.price == 24000
    assert q.end == nis(2026, 11, 24, 12)


def test_nis4_extension_prices_the_second_red_hour_at_180_and_starts_at_the_paid_end() -> None:
    q = quote_stay("nis", "9181", nis(2026, 11, 24, 11), paid_minutes_before=60)
    assert q.price == 18000
    assert (q.start, q.end) == (nis(2026, 11, 24, 11), nis(2026, 11, 24, 12))


def test_nis4_green_zone_third_hour_still_45() -> None:
    q = quote_stay("nis", "9182", nis(2026, 11, 24, 12), paid_minutes_before=120)
    assert q.price == 4500 and not q.exceeds_max_stay


def test_nis5_a_purchase_beyond_the_zone_maximum_is_flagged() -> None:
    assert quote_stay("nis", "9180", nis(2026, 11, 24, 11), paid_minutes_before=60).exceeds_max_stay
    assert quote_stay(
        "nis", "9181", nis(2026, 11, 24, 12), paid_minutes_before=120
    ).exceeds_max_stay
    assert not quote_stay(
        "nis", "9181", nis(2026, 11, 24, 11), paid_minutes_before=60
    ).exceeds_max_stay


@pytest.mark.parametrize(
    ("moment", "in_force"),
    [
        (nis(2026, 11, 24, 6, 59), False),  # Tuesday before 07:00
        (nis(2026, 11, 24, 7, 0), True),
        (nis(2026, 11, 24, 20, 59), True),
        (nis(2026, 11, 24, 21, 0), False),
        (nis(2026, 11, 28, 13, 59), True),  # Saturday
        (nis(2026, 11, 28, 14, 0), False),  # Saturday 14:00
        (nis(2026, 11, 29, 12, 0), False),  # Sunday is free
    ],
)
def test_nis3_charging_hours(moment, in_force) -> None:
    assert charging_in_force("nis", "red", moment) is in_force


def test_nis11_sunday_purchase_starts_monday_0700() -> None:
    q = quote_stay("nis", "9181", nis(2026, 11, 29, 10))
    assert q.carried_over
    assert (q.start, q.end) == (nis(2026, 11, 30, 7), nis(2026, 11, 30, 8))
    assert q.price == 6000


def test_nis11_saturday_afternoon_purchase_moves_to_monday() -> None:
    q = quote_stay("nis", "9182", nis(2026, 11, 28, 14, 30))
    assert q.carried_over and q.start == nis(2026, 11, 30, 7)


def test_nis11_carried_purchase_with_an_end_counts_hours_from_the_charging_start() -> None:
    """NIS-11: a driver asking at 04:49 to park until 08:15 pays 07:00-09:00 (two hours),
    not the free night hours before 07:00."""
    q = quote_stay("nis", "9181", nis(2026, 2, 10, 4, 49), end=nis(2026, 2, 10, 8, 15))
    assert q.carried_over
    assert q.start == nis(2026, 2, 10, 7)
    assert q.end == nis(2026, 2, 10, 9)
    assert (q.price, q.minutes, q.exceeds_max_stay) == (6000 + 18000, 120, False)


def test_nis11_night_purchase_counts_as_the_first_hour_of_the_next_morning() -> None:
    q = quote_stay("nis", "9180", nis(2026, 11, 24, 23, 15))
    assert (q.start, q.end) == (nis(2026, 11, 25, 7), nis(2026, 11, 25, 8))


def test_nis13_an_hour_reaching_the_end_of_charging_ends_there() -> None:
    q = quote_stay("nis", "9182", nis(2026, 11, 24, 20, 30))
    assert q.end == nis(2026, 11, 24, 21) and q.price == 4500
    q = quote_stay("nis", "9181", nis(2026, 11, 28, 13, 40))  # Saturday 14:00
    assert q.end == nis(2026, 11, 28, 14)


def test_nis13_carry_over_remainder_is_configurable(tmp_path, monkeypatch) -> None:
    from tariff_kernel.config import REPO_CONFIG

    text = (
        (REPO_CONFIG / "nis.toml")
        .read_text()
        .replace("carry_over_remainder = false", "carry_over_remainder = true")
    )
    (tmp_path / "nis.toml").write_text(text)
    monkeypatch.setenv("PLATFORM_CONFIG_DIR", str(tmp_path))
    q = quote_stay("nis", "9182", nis(2026, 11, 24, 20, 30))
    assert q.end == nis(2026, 11, 25, 7, 30)  # 30 minutes today, 30 tomorrow


def test_nis14_day_ticket_runs_until_charging_ends_that_day() -> None:
    q = quote_stay("nis", "9184", nis(2026, 11, 24, 9, 12))
    assert (q.price, q.end) == (60000, nis(2026, 11, 24, 21))
    assert not q.exceeds_max_stay
    q = quote_stay("nis", "9185", nis(2026, 11, 28, 8))  # Saturday
    assert (q.price, q.end) == (45000, nis(2026, 11, 28, 14))


def test_nis14_day_ticket_bought_off_hours_covers_the_next_charging_day() -> None:
    q = quote_stay("nis", "9184", nis(2026, 11, 28, 18))
    assert q.carried_over and (q.start, q.end) == (nis(2026, 11, 30, 7), nis(2026, 11, 30, 21))


# --- Hradec Králové -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "amount", "minutes"),
    [("910301001", 3000, 60), ("910301003", 1500, 60), ("910301024", 10000, 1440)],
)
def test_hkr2_products_by_called_number(number, amount, minutes) -> None:
    product = transit_product("hradec", number)
    assert (product.amount, product.currency, product.validity_minutes) == (amount, "CZK", minutes)


def test_hkr7_registration_limit_is_2000_czk() -> None:
    assert load_city("hradec").raw["transit"]["registration_limit"] == 200000


# --- Tarnów ---------------------------------------------------------------------------------


def test_trn1_check_in_charges_the_longest_band_per_class_and_entitlement() -> None:
    assert check_in_deposit("tarnow", "normal", "standard") == ride_fare(
        "tarnow", 26, "normal", "standard"
    )
    assert check_in_deposit("tarnow", "local_reduced", "premium") == ride_fare(
        "tarnow", 80, "local_reduced", "premium"
    )


@pytest.mark.parametrize(("stops", "refund"), [(0, 260), (5, 260), (6, 160), (25, 80), (26, 0)])
def test_trn2_refund_by_stops_travelled_bands_min_inclusive_max_exclusive(stops, refund) -> None:
    assert ride_refund("tarnow", stops, "normal", "standard") == refund


def test_trn5_and_trn6_every_ticket_prices_like_a_check_in() -> None:
    """TRN-5 charges the distance fare even with a period ticket; TRN-6 co-passengers are
    always at the standard class: the kernel prices each ticket like a check-in."""
    group = [("normal", "premium"), ("statutory_reduced", "standard"), ("normal", "standard")]
    assert sum(check_in_deposit("tarnow", e, c) for e, c in group) == 480 + 250 + 540


def test_trn_unknown_entitlement_is_a_clear_error() -> None:
    """TRN-1: an entitlement the card may not carry is a clear error, not a price."""
    with pytest.raises(TariffError, match="entitlement 'student'"):
        ride_fare("tarnow", 3, "student", "standard")


# --- moBILET --------------------------------------------------------------------------------


def test_mob2_per_minute_billing_counts_only_charging_minutes() -> None:
    start = datetime(2026, 11, 24, 19, 30, tzinfo=WARSAW)
    q = quote_stay("mobilet", "B", start, minutes=90)
    assert q.minutes == 30 and q.price == 150  # 30 minutes at 3.00 PLN/h
    assert q.end == start + timedelta(minutes=90)


def test_mob2_started_minute_is_charged() -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)
    q = quote_stay("mobilet", "B", start, end=start + timedelta(seconds=61))
    assert q.minutes == 2 and q.price == 10


def test_mob1_amount_buys_an_end_and_tiers_raise_the_rate_after_an_hour() -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)
    q = quote_stay("mobilet", "A", start, amount=1000)
    assert q.price == 1000
    assert q.end == start + timedelta(minutes=135)  # 60 min 4.00 + 75 min at 4.80/h


# --- ZCS ------------------------------------------------------------------------------------


def test_zcs3_start_and_end_clamped_to_the_area_charging_hours() -> None:
    q = quote_stay(
        "zcs", "centro", datetime(2026, 11, 24, 7, 30, tzinfo=ROME),
        end=datetime(2026, 11, 24, 10, 0, tzinfo=ROME),
    )  # fmt: skip
    assert q.start == datetime(2026, 11, 24, 8, 0, tzinfo=ROME) and q.carried_over
    assert q.price == 400


def test_zcs6_maximum_cost_moves_the_end_to_the_end_of_the_charging_day() -> None:
    q = quote_stay(
        "zcs", "centro", datetime(2026, 11, 24, 9, 0, tzinfo=ROME),
        end=datetime(2026, 11, 24, 19, 0, tzinfo=ROME),
    )  # fmt: skip
    assert q.capped and q.price == 1000
    assert q.end == datetime(2026, 11, 24, 20, 0, tzinfo=ROME)


def test_zcs7_minimum_cost_is_charged_for_a_short_stay() -> None:
    q = quote_stay("zcs", "centro", datetime(2026, 11, 24, 9, 0, tzinfo=ROME), minutes=5)
    assert q.minimum_applied and q.price == 50


def test_zcs8_extension_is_the_difference_of_whole_stay_prices() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=ROME)
    first = quote_stay("zcs", "centro", start, minutes=60)
    longer = quote_stay("zcs", "centro", start, minutes=150)
    assert longer.price - first.price == 300


def test_zcs_area_with_its_own_charging_hours_charges_on_sunday() -> None:
    """ZCS-3: each area has its own charging hours."""
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=ROME)
    assert charging_in_force("zcs", "stazione", sunday)
    assert not charging_in_force("zcs", "centro", sunday)
    assert charging_window("zcs", "centro", sunday)[0] == datetime(2026, 11, 30, 8, tzinfo=ROME)


def test_holidays_are_free() -> None:
    """NIS-3: holidays are a configurable list; charging is not in force on them."""
    assert not charging_in_force("zcs", "centro", datetime(2026, 12, 8, 10, tzinfo=ROME))


# --- DST ------------------------------------------------------------------------------------


def test_hkr2_24_hour_ticket_across_the_october_change_lasts_24_real_hours() -> None:
    start = datetime(2026, 10, 24, 10, 0, tzinfo=PRAGUE)
    end = ticket_valid_until("hradec", "910301024", start)
    assert end - start == timedelta(hours=24)
    assert end.astimezone(PRAGUE).hour == 9  # the local clock went back one hour


@pytest.mark.parametrize(
    ("city", "zone", "day", "opens"),
    [
        ("nis", "red", datetime(2026, 3, 30, tzinfo=BELGRADE), 7),  # Monday after spring change
        ("nis", "red", datetime(2026, 10, 26, tzinfo=BELGRADE), 7),  # Monday after autumn change
        ("mobilet", "A", datetime(2026, 3, 30, tzinfo=WARSAW), 8),
        ("zcs", "centro", datetime(2026, 3, 28, tzinfo=ROME), 8),  # Saturday before the change
        ("zcs", "stazione", datetime(2026, 3, 29, tzinfo=ROME), 7),  # the change day itself
        ("zcs", "stazione", datetime(2026, 10, 25, tzinfo=ROME), 7),
    ],
)
def test_charging_opens_at_local_time_on_dst_weekends(city, zone, day, opens) -> None:
    """NIS-3, ZCS-3, MOB-2: charging hours are local time, also on DST change weekends."""
    start, _ = charging_window(city, zone, day)
    assert start.astimezone(day.tzinfo).hour == opens


def test_zcs_whole_day_on_the_spring_change_day_is_one_hour_shorter_in_real_time() -> None:
    """ZCS-3, MOB-2: charged minutes are real minutes on the spring change day."""
    day = datetime(2026, 3, 29, 7, 0, tzinfo=ROME)  # stazione charges 07:00-21:00 every day
    q = quote_stay("zcs", "stazione", day, end=datetime(2026, 3, 29, 21, 0, tzinfo=ROME))
    assert q.minutes == 14 * 60  # the jump happened at 02:00, before charging


def test_nis_purchase_on_the_autumn_sunday_carries_to_monday_in_winter_time() -> None:
    """NIS-11: the autumn change Sunday carries over to Monday 07:00 winter time."""
    q = quote_stay("nis", "9181", datetime(2026, 10, 25, 2, 30, tzinfo=BELGRADE))
    assert q.start == datetime(2026, 10, 26, 7, 0, tzinfo=BELGRADE)
    assert q.start.astimezone(BELGRADE).utcoffset() == timedelta(hours=1)


def test_midnight_crossing_metered_stay_counts_only_charged_minutes() -> None:
    """MOB-2: a stay across nights and a weekend pays only charging minutes."""
    start = datetime(2026, 11, 27, 19, 0, tzinfo=WARSAW)  # Friday evening to Monday morning
    q = quote_stay("mobilet", "B", start, end=datetime(2026, 11, 30, 9, 0, tzinfo=WARSAW))
    assert q.minutes == 120 and q.price == 600
