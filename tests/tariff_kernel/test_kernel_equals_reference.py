"""Property tests: the Numba kernels equal the pure-Python reference on generated cases.

At least 10 000 cases per tariff family (hourly, day, metered per minute, metered with
clamping and min/max fee, transit rides), with start times drawn around DST changes,
midnights, week ends and charging boundaries in the four time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tariff_kernel import (
    TariffError,
    load_city,
    price_rides,
    price_stays,
    quote_stay,
    ride_fare,
    ride_refund,
)
from tariff_kernel import kernels as k
from tariff_kernel import reference as ref
from tariff_kernel.pricing import BATCH_FIELDS, prepared_product

CASES = 10_000
PROFILE = settings(
    max_examples=CASES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

# Anchors: DST change days of 2026 and 2027 in Europe (last Sundays of March and October),
# Saturday/Sunday boundaries and ordinary weekdays.
ANCHORS = [
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2027, 3, 28, tzinfo=UTC),
    datetime(2027, 10, 31, tzinfo=UTC),
    datetime(2026, 11, 28, tzinfo=UTC),
    datetime(2026, 11, 24, tzinfo=UTC),
    datetime(2026, 12, 24, tzinfo=UTC),
]
starts = st.builds(
    lambda anchor, seconds: anchor + timedelta(seconds=seconds),
    st.sampled_from(ANCHORS),
    st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)


def same(city: str, product: str, start: datetime, **kw: object) -> None:
    kernel = quote_stay(city, product, start, **kw)
    reference = ref.quote_stay(load_city(city), product, start, **kw)
    assert kernel == reference, (city, product, start, kw)


@PROFILE
@given(
    product=st.sampled_from(["9180", "9181", "9182"]),
    start=starts,
    hours=st.integers(min_value=1, max_value=4),
    paid=st.sampled_from([0, 60, 120]),
)
def test_hourly_tickets_nis2_nis4_nis5_nis11_nis13(product, start, hours, paid) -> None:
    same("nis", product, start, minutes=hours * 60, paid_minutes_before=paid)


@PROFILE
@given(product=st.sampled_from(["9184", "9185"]), start=starts)
def test_day_tickets_nis14(product, start) -> None:
    same("nis", product, start)


@PROFILE
@given(
    product=st.sampled_from(["A", "B"]),
    start=starts,
    how=st.sampled_from(["minutes", "end", "amount"]),
    size=st.integers(min_value=1, max_value=3000),
)
def test_per_minute_stays_mob1_mob2(product, start, how, size) -> None:
    if how == "minutes":
        same("mobilet", product, start, minutes=size)
    elif how == "end":
        same("mobilet", product, start, end=start + timedelta(seconds=size * 37))
    else:
        same("mobilet", product, start, amount=size)


@PROFILE
@given(
    product=st.sampled_from(["centro", "stazione"]),
    start=starts,
    how=st.sampled_from(["minutes", "end", "amount"]),
    size=st.integers(min_value=1, max_value=1500),
)
def test_clamped_stays_with_minimum_and_maximum_zcs3_zcs6_zcs7(product, start, how, size) -> None:
    if how == "minutes":
        same("zcs", product, start, minutes=size)
    elif how == "end":
        same("zcs", product, start, end=start + timedelta(minutes=size))
    else:
        same("zcs", product, start, amount=size)


@PROFILE
@given(
    stops=st.integers(min_value=0, max_value=60),
    entitlement=st.sampled_from(["normal", "local_reduced", "statutory_reduced"]),
    card_class=st.sampled_from(["standard", "premium"]),
)
def test_ride_fares_and_refunds_trn1_trn2(stops, entitlement, card_class) -> None:
    city = load_city("tarnow")
    assert ride_fare(city, stops, entitlement, card_class) == ref.ride_fare(
        city, stops, entitlement, card_class
    )
    assert ride_refund(city, stops, entitlement, card_class) == ref.ride_refund(
        city, stops, entitlement, card_class
    )


def test_batch_kernels_equal_the_scalar_ones() -> None:
    rng = np.random.default_rng(7)
    base = int(datetime(2026, 3, 27, tzinfo=UTC).timestamp())
    starts_ = base + rng.integers(0, 10 * 86400, 2000)
    minutes = rng.integers(1, 600, 2000)
    out = price_stays("zcs", "centro", starts_, minutes)
    for i in range(0, 2000, 97):
        q = quote_stay("zcs", "centro", datetime.fromtimestamp(int(starts_[i]), UTC),
                       minutes=int(minutes[i]))  # fmt: skip
        assert (out["price"][i], out["end"][i]) == (q.price, int(q.end.timestamp()))
    stops = rng.integers(0, 40, 500)
    cats = rng.integers(0, 3, 500)
    classes = rng.integers(0, 2, 500)
    rides = price_rides("tarnow", stops, cats, classes)
    city = load_city("tarnow")
    for i in range(500):
        cat = city.transit.rider_categories[cats[i]]
        cls = city.transit.card_classes[classes[i]]
        assert rides.fare[i] == ride_fare(city, int(stops[i]), cat, cls)


# Outside the window table (2000-2060) the kernels walk local days instead of reading it;
# stays across its first and last days use both.
BEYOND = [
    datetime(1999, 3, 28, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2060, 1, 1, tzinfo=UTC),
    datetime(2061, 10, 30, tzinfo=UTC),
]
beyond_starts = st.builds(
    lambda anchor, seconds: anchor + timedelta(seconds=seconds),
    st.sampled_from(BEYOND),
    st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)


@settings(PROFILE, max_examples=500)
@given(
    family=st.sampled_from([("nis", "9181"), ("nis", "9184"), ("mobilet", "A"), ("zcs", "centro")]),
    start=beyond_starts,
    minutes=st.integers(min_value=1, max_value=1500),
)
def test_stays_beyond_the_window_table_nis2_nis14_mob1_zcs3(family, start, minutes) -> None:
    city, product = family
    if product == "9184":
        same(city, product, start)
    else:
        same(city, product, start, minutes=minutes)


def test_batch_with_paid_minutes_and_reused_outputs_equals_scalar_quotes_nis4() -> None:
    rng = np.random.default_rng(11)
    base = int(datetime(2026, 10, 22, tzinfo=UTC).timestamp())
    starts_ = base + rng.integers(0, 7 * 86400, 500)
    minutes = rng.integers(1, 240, 500)
    paid = rng.choice([0, 60, 120], 500)
    out = {name: np.full(500, -7, np.int64) for name in BATCH_FIELDS}
    result = price_stays("nis", "9181", starts_, minutes, paid, out=out)
    assert all(result[name] is out[name] for name in BATCH_FIELDS)
    lean = prepared_product("nis", "9181")
    for i in range(500):
        q = quote_stay("nis", "9181", datetime.fromtimestamp(int(starts_[i]), UTC),
                       minutes=int(minutes[i]), paid_minutes_before=int(paid[i]))  # fmt: skip
        flags = (k.CARRIED * q.carried_over) | (k.EXCEEDS * q.exceeds_max_stay)
        row = tuple(int(out[name][i]) for name in BATCH_FIELDS)
        expected = (q.price, int(q.start.timestamp()), int(q.end.timestamp()), q.minutes, flags)
        assert row == expected
        assert lean.quote(int(starts_[i]), k.MODE_MINUTES, int(minutes[i]), int(paid[i])) == row


def test_batch_refuses_arrays_of_other_lengths() -> None:
    with pytest.raises(TariffError, match="same length"):
        price_stays("nis", "9181", np.zeros(3, np.int64), np.ones(2, np.int64))
    with pytest.raises(TariffError, match="int64"):
        price_stays("nis", "9181", np.zeros(3, np.int64), np.ones(3, np.int64),
                    out={name: np.empty(2, np.int64) for name in BATCH_FIELDS})  # fmt: skip


# The batch kernel has a loop per product kind and per whether minutes were paid before;
# each must equal the scalar kernel (itself checked against the reference above) in every
# request mode, for stays around the March 2026 DST change.
@pytest.mark.parametrize(
    ("city", "product"),
    [("nis", "9181"), ("nis", "9184"), ("mobilet", "A"), ("zcs", "centro")],
)
@pytest.mark.parametrize("mode", [k.MODE_DEFAULT, k.MODE_MINUTES, k.MODE_END, k.MODE_AMOUNT])
@pytest.mark.parametrize("with_paid", [False, True])
def test_every_batch_loop_equals_the_scalar_kernel_nis4_nis14_mob1_zcs6(
    city, product, mode, with_paid
) -> None:
    rng = np.random.default_rng(5)
    n = 400
    starts_ = int(datetime(2026, 3, 26, tzinfo=UTC).timestamp()) + rng.integers(0, 6 * 86400, n)
    values = {
        k.MODE_END: starts_ + rng.integers(-600, 86400, n),
        k.MODE_AMOUNT: rng.integers(0, 3000, n),
    }.get(mode, rng.integers(1, 600, n))
    paids = rng.choice([0, 60, 120], n) if with_paid else np.empty(0, np.int64)
    lean = prepared_product(city, product)
    out = [np.full(n, -7, np.int64) for _ in BATCH_FIELDS]
    k.quote_batch(starts_, mode, values, paids, lean.P, lean.Z, *out)
    for i in range(n):
        paid = int(paids[i]) if with_paid else 0
        scalar = lean.quote(int(starts_[i]), mode, int(values[i]), paid)
        assert tuple(int(o[i]) for o in out) == scalar, (i, mode, paid)
