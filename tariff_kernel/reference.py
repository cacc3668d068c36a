"""The tariff semantics in plain Python: the specification the Numba kernels must equal.

Readable over fast. Times are aware UTC datetimes; charging spans are evaluated in the
city's local time with `zoneinfo` (a local wall time that does not exist or exists twice
on a DST change day is read as Python's `fold=0` does: with the offset before the change).

A purchase is priced in three steps:
1. the effective start: a purchase outside charging hours is carried to the next charging
   start for hourly and day tickets (NIS-11, NIS-14) and for areas that clamp (ZCS-3);
   a per-minute stay (moBILET) simply costs nothing while charging is not in force;
2. the end: whole hours cut at the end of the charging span (NIS-13, unless the city
   carries the remainder over), the end of the charging day for a day ticket (NIS-14),
   the requested end clamped to the span (ZCS-3), or the end an amount buys (MOB);
3. the price: hour prices by the hour's place in the stay (NIS-4 red zone), a flat day
   price, or charged minutes at the duration tiers' hourly rates rounded up to the
   increment and to whole `rounding` units, then the minimum (ZCS-7) and the maximum with
   the end moved to the latest time it covers (ZCS-6).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from tariff_kernel.model import CityConfig, ParkingProduct, TariffError, Zone

SEARCH_DAYS = 400  # how far ahead a next charging span is looked for
AMOUNT_HORIZON = timedelta(days=7)  # the longest stay an amount can buy


class StayQuote(NamedTuple):
    """A priced purchase. A named tuple rather than a frozen dataclass: the kernel builds
    one per scalar quote, and a frozen dataclass's `__init__` cost more than the pricing.
    Equality and hashing leave out `breakdown` (the kernel's quotes carry none)."""

    price: int
    currency: str
    start: datetime
    end: datetime
    minutes: int
    carried_over: bool = False
    capped: bool = False
    minimum_applied: bool = False
    exceeds_max_stay: bool = False
    max_stay_minutes: int | None = None
    no_return_minutes: int | None = None
    breakdown: tuple[dict[str, object], ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StayQuote):
            return NotImplemented
        return self[:-1] == other[:-1]

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self[:-1])


# --- charging spans in local time ----------------------------------------------------------


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Local wall time `minute` minutes after midnight of `day` (1440 = next midnight), UTC."""
    day += timedelta(days=minute // 1440)
    minute %= 1440
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    return wall.astimezone(UTC)


def windows(city: CityConfig, zone: Zone, after: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Charging spans (start, end) in UTC, in order, from the one still running at `after`."""
    tz = ZoneInfo(city.timezone)
    first = after.astimezone(tz).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if day in city.holidays:
            continue
        for span in sorted(zone.spans, key=lambda s: s.start_minute):
            if day.weekday() not in span.days:
                continue
            start, end = _local(day, span.start_minute, tz), _local(day, span.end_minute, tz)
            if end > after:
                yield start, end


def next_window(city: CityConfig, zone: Zone, at: datetime) -> tuple[datetime, datetime]:
    for window in windows(city, zone, at):
        return window
    raise TariffError(f"zone {zone.id!r} of {city.id!r} never charges within {SEARCH_DAYS} days")


def charging_in_force(city: CityConfig, zone: Zone, at: datetime) -> bool:
    start, _ = next_window(city, zone, at)
    return start <= at


def day_end(city: CityConfig, zone: Zone, window: tuple[datetime, datetime]) -> datetime:
    """When charging ends on the local day `window` starts (NIS-14, ZCS-6)."""
    tz = ZoneInfo(city.timezone)
    day = window[0].astimezone(tz).date()
    end = window[1]
    for start, w_end in windows(city, zone, window[1]):
        if start.astimezone(tz).date() != day:
            break
        end = w_end
    return end


def charged_seconds(city: CityConfig, zone: Zone, start: datetime, end: datetime) -> int:
    total = 0
    for w_start, w_end in windows(city, zone, start):
        if w_start >= end:
            break
        total += int((min(end, w_end) - max(start, w_start)).total_seconds())
    return total


# --- prices --------------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def metered_amount(product: ParkingProduct, charged_minutes: int) -> tuple[int, list[dict]]:
    """Price of `charged_minutes` (already rounded to the increment) at the tiers' rates."""
    cost_x60 = 0
    parts: list[dict[str, object]] = []
    for tier in product.tiers:
        upper = charged_minutes if tier.to_minute is None else min(charged_minutes, tier.to_minute)
        used = upper - tier.from_minute
        if used <= 0:
            break
        cost_x60 += used * tier.rate
        parts.append({"tier_from_minute": tier.from_minute, "minutes": used, "rate": tier.rate})
    price = _ceil_div(cost_x60, 60)
    return _ceil_div(price, product.rounding) * product.rounding, parts


def _charged_minutes(seconds: int, increment: int) -> int:
    minutes = _ceil_div(seconds, 60)
    return _ceil_div(minutes, increment) * increment


def _metered(
    city: CityConfig, zone: Zone, product: ParkingProduct, start: datetime, end: datetime
) -> tuple[int, int, bool, list[dict]]:
    """(price before the maximum, charged minutes, minimum applied, breakdown)."""
    if end <= start:
        return 0, 0, False, []
    minutes = _charged_minutes(charged_seconds(city, zone, start, end), product.increment_minutes)
    price, parts = metered_amount(product, minutes)
    if price < product.min_fee:
        return product.min_fee, minutes, True, parts
    return price, minutes, False, parts


def quote_stay(
    city: CityConfig,
    product_id: str,
    start: datetime,
    *,
    minutes: int | None = None,
    end: datetime | None = None,
    amount: int | None = None,
    paid_minutes_before: int = 0,
) -> StayQuote:
    product = city.product(product_id)
    zone = city.zones[product.zone]
    _check_request(start, minutes, end, amount, paid_minutes_before)
    start = start.replace(microsecond=0)  # priced to the whole second, like the kernels
    end = end.replace(microsecond=0) if end is not None else None
    common = {
        "currency": city.currency,
        "max_stay_minutes": product.max_stay_minutes,
        "no_return_minutes": product.no_return_minutes,
    }
    window = next_window(city, zone, start)
    if product.kind == "hourly":
        return _hourly(city, zone, product, start, window, minutes, end, amount,
                       paid_minutes_before, common)  # fmt: skip
    if product.kind == "day":
        eff = max(start, window[0])
        stop = day_end(city, zone, window)
        return StayQuote(
            price=product.price,
            start=eff,
            end=stop,
            minutes=_ceil_div(int((stop - eff).total_seconds()), 60),
            carried_over=window[0] > start,
            breakdown=({"from": eff, "to": stop, "amount": product.price},),
            **common,
        )
    return _metered_quote(city, zone, product, start, window, minutes, end, amount,
                          paid_minutes_before, common)  # fmt: skip


def _check_request(
    start: datetime, minutes: int | None, end: datetime | None, amount: int | None, paid: int
) -> None:
    if start.tzinfo is None:
        raise TariffError("start must be an aware datetime (UTC inside)")
    given = [x is not None for x in (minutes, end, amount)]
    if sum(given) > 1:
        raise TariffError("give one of minutes, end or amount")
    if minutes is not None and minutes <= 0:
        raise TariffError("minutes must be positive")
    if amount is not None and amount < 0:
        raise TariffError("amount must not be negative")
    if end is not None and end.tzinfo is None:
        raise TariffError("end must be an aware datetime")
    if paid < 0:
        raise TariffError("paid_minutes_before must not be negative")


def _hourly(city, zone, product, start, window, minutes, end, amount, paid, common) -> StayQuote:
    if amount is not None:
        raise TariffError(f"product {product.id} sells whole hours, not an amount's worth")
    eff = max(start, window[0])
    if end is not None:
        # Hours are counted from the effective start: night hours before a carried-over
        # purchase (NIS-11) are free and must not be sold.
        minutes = max(1, _ceil_div(int((end - eff).total_seconds()), 60))
    hours = _ceil_div(minutes or 60, 60)
    first_hour = paid // 60
    prices = [product.hour_price(first_hour + k) for k in range(hours)]
    if city.carry_over_remainder:
        stop = _consume(city, zone, eff, hours * 60)
    else:
        stop = min(eff + timedelta(hours=hours), window[1])
    exceeds = product.max_stay_minutes is not None and paid + hours * 60 > product.max_stay_minutes
    return StayQuote(
        price=sum(prices),
        start=eff,
        end=stop,
        minutes=hours * 60,
        carried_over=window[0] > start,
        exceeds_max_stay=exceeds,
        breakdown=tuple({"hour": first_hour + k + 1, "amount": p} for k, p in enumerate(prices)),
        **common,
    )


def _consume(city: CityConfig, zone: Zone, start: datetime, minutes: int) -> datetime:
    """The moment `minutes` of charging time after `start` are used (NIS-13 carry-over)."""
    left = minutes * 60
    for w_start, w_end in windows(city, zone, start):
        begin = max(start, w_start)
        span = int((w_end - begin).total_seconds())
        if span >= left:
            return begin + timedelta(seconds=left)
        left -= span
    raise TariffError("charging time runs out within the search horizon")


def _metered_quote(
    city, zone, product, start, window, minutes, end, amount, paid, common
) -> StayQuote:
    clamp = product.clamp_to_charging
    eff = max(start, window[0]) if clamp else start
    carried = clamp and window[0] > start
    latest = window[1] if clamp else None
    if amount is not None:
        stop = _end_for_amount(city, zone, product, eff, latest, amount)
    elif end is not None:
        stop = end
    else:
        stop = eff + timedelta(minutes=minutes if minutes is not None else 60)
    if latest is not None:
        stop = min(stop, latest)
    stop = max(stop, eff)
    price, charged, minimum, parts = _metered(city, zone, product, eff, stop)
    capped = False
    if product.max_fee is not None and price > product.max_fee:
        price, capped = product.max_fee, True
        stop = day_end(city, zone, next_window(city, zone, eff))
        minimum = False
    stay_minutes = _ceil_div(int((stop - eff).total_seconds()), 60)
    exceeds = (
        product.max_stay_minutes is not None and paid + stay_minutes > product.max_stay_minutes
    )
    return StayQuote(
        price=price,
        start=eff,
        end=stop,
        minutes=charged,
        carried_over=carried,
        capped=capped,
        minimum_applied=minimum,
        exceeds_max_stay=exceeds,
        breakdown=tuple(parts),
        **common,
    )


def _end_for_amount(
    city: CityConfig,
    zone: Zone,
    product: ParkingProduct,
    start: datetime,
    latest: datetime | None,
    amount: int,
) -> datetime:
    """The latest whole minute after `start` whose price is within `amount` (MOB-1 wallet)."""
    horizon = latest if latest is not None else start + AMOUNT_HORIZON
    low, high = 0, max(0, math.floor((horizon - start).total_seconds() / 60))

    def price_at(m: int) -> int:
        price = _metered(city, zone, product, start, start + timedelta(minutes=m))[0]
        return price if product.max_fee is None else min(price, product.max_fee)

    if price_at(high) <= amount:
        return horizon
    while low < high:  # the largest m with price_at(m) <= amount
        mid = (low + high + 1) // 2
        if price_at(mid) <= amount:
            low = mid
        else:
            high = mid - 1
    return start + timedelta(minutes=low)


# --- transit -------------------------------------------------------------------------------


def ride_fare(city: CityConfig, stops: int, entitlement: str, card_class: str) -> int:
    if stops < 0:
        raise TariffError("stops must not be negative")
    for band in city.transit.distance_bands:
        if band.min_stops <= stops and (band.max_stops is None or stops < band.max_stops):
            return _band_fare(city, band, entitlement, card_class)
    raise TariffError(f"city {city.id!r} has no distance band for {stops} stops")


def check_in_deposit(city: CityConfig, entitlement: str, card_class: str) -> int:
    """TRN-1: the fare of the longest distance band."""
    if not city.transit.distance_bands:
        raise TariffError(f"city {city.id!r} has no distance fares")
    return _band_fare(city, city.transit.distance_bands[-1], entitlement, card_class)


def ride_refund(city: CityConfig, stops: int, entitlement: str, card_class: str) -> int:
    """TRN-2: deposit − the fare of the stops actually travelled."""
    return check_in_deposit(city, entitlement, card_class) - ride_fare(
        city, stops, entitlement, card_class
    )


def _band_fare(city: CityConfig, band, entitlement: str, card_class: str) -> int:
    try:
        return band.fares[card_class][entitlement]
    except KeyError:
        raise TariffError(
            f"city {city.id!r} has no fare for card class {card_class!r} and entitlement "
            f"{entitlement!r}"
        ) from None
