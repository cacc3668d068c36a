"""The tariff kernel's public functions: validate a request, run the Numba kernel, return
plain results. What the stream workers, the API, the dashboards and the load test call.

Times are priced to the whole second (sub-second parts are dropped before pricing), in
UTC; the reference implementation (reference.py) is the specification these must equal.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from tariff_kernel import kernels as k
from tariff_kernel import reference
from tariff_kernel.compiled import (
    CompiledFares,
    CompiledProduct,
    compile_fares,
    compile_product,
    epoch,
    from_epoch,
)
from tariff_kernel.config import list_cities, load_city
from tariff_kernel.model import CityConfig, TariffError, TransitProduct
from tariff_kernel.reference import StayQuote


@functools.cache
def _compiled(city_id: str, source: str, product_id: str) -> CompiledProduct:
    city = load_city(city_id)
    return compile_product(city, city.product(product_id))


def compiled_product(city: CityConfig, product_id: str) -> CompiledProduct:
    city.product(product_id)  # a clear error for an unknown product
    return _compiled(city.id, city.source, str(product_id))


@functools.cache
def _fares(city_id: str, source: str) -> CompiledFares:
    return compile_fares(load_city(city_id))


class PreparedProduct:
    """A product ready to quote: what `quote_stay` needs besides the request, looked up once
    per (city, product). `quote` is the lean entry point: epoch seconds in, a tuple out."""

    __slots__ = ("P", "Z", "currency", "hourly", "max_stay", "no_return", "product", "tails")

    def __init__(self, city: CityConfig, product_id: str) -> None:
        self.product = city.product(product_id)
        compiled = _compiled(city.id, city.source, self.product.id)
        self.P, self.Z = compiled.P, compiled.Z
        self.currency = city.currency
        self.hourly = self.product.kind == "hourly"
        self.max_stay = self.product.max_stay_minutes
        self.no_return = self.product.no_return_minutes
        # The fields of a StayQuote after `minutes`, by the kernel's flag bits.
        self.tails = tuple(
            (*(bool(flags & bit) for bit in (k.CARRIED, k.CAPPED, k.MINIMUM, k.EXCEEDS)),
             self.max_stay, self.no_return, ())
            for flags in range(16)
        )  # fmt: skip

    def quote(self, start: int, mode: int, value: int, paid: int) -> tuple[int, ...]:
        """(price, effective start, end, charged minutes, flags), times in epoch seconds;
        `mode` is one of kernels.MODE_*, `value` its minutes, end or amount. Unchecked:
        `quote_stay` validates; price -1 means the zone never charges within a year."""
        return k.quote(start, mode, value, paid, self.P, self.Z)


_PREPARED: dict[tuple[str, str, str], PreparedProduct] = {}


def prepared_product(city: str | CityConfig, product: str) -> PreparedProduct:
    cfg = load_city(city)
    key = (cfg.id, cfg.source, product)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = PreparedProduct(cfg, product)
    return prepared


def quote_stay(
    city: str | CityConfig,
    product: str,
    start: datetime,
    *,
    minutes: int | None = None,
    end: datetime | None = None,
    amount: int | None = None,
    paid_minutes_before: int = 0,
    breakdown: bool = False,
) -> StayQuote:
    """Price one parking purchase (see reference.quote_stay for the semantics).

    The checks are reference._check_request's, inlined: this is every purchase's path."""
    cfg = city if type(city) is CityConfig else load_city(city)
    prep = _PREPARED.get((cfg.id, cfg.source, product)) or prepared_product(cfg, product)
    if start.tzinfo is None:
        raise TariffError("start must be an aware datetime (UTC inside)")
    if minutes is not None:
        if end is not None or amount is not None:
            raise TariffError("give one of minutes, end or amount")
        if minutes <= 0:
            raise TariffError("minutes must be positive")
        mode, value = _MINUTES, minutes
    elif end is not None:
        if amount is not None:
            raise TariffError("give one of minutes, end or amount")
        if end.tzinfo is None:
            raise TariffError("end must be an aware datetime")
        mode, value = k.MODE_END, epoch(end)
    elif amount is not None:
        if amount < 0:
            raise TariffError("amount must not be negative")
        mode, value = k.MODE_AMOUNT, amount
    else:
        mode, value = k.MODE_DEFAULT, 0
    if paid_minutes_before < 0:
        raise TariffError("paid_minutes_before must not be negative")
    if prep.hourly and amount is not None:
        raise TariffError(f"product {prep.product.id} sells whole hours, not an amount's worth")
    at = math.floor(start.timestamp())
    price, eff, stop, charged, flags = _quote(at, mode, value, paid_minutes_before, prep.P, prep.Z)
    if price < 0:
        raise TariffError(f"zone {prep.product.zone!r} of {cfg.id!r} never charges within a year")
    # Most purchases start when asked: then the effective start is `start` itself, if it is
    # in UTC and whole seconds (building a datetime costs about as much as the kernel).
    if eff == at and start.tzinfo is UTC and not start.microsecond:
        begins = start
    else:
        begins = _from_epoch(eff, UTC)
    head = (price, prep.currency, begins, _from_epoch(stop, UTC), charged)
    if not breakdown:
        return _new_tuple(StayQuote, head + prep.tails[flags])
    parts = reference.quote_stay(
        cfg, prep.product.id, start.replace(microsecond=0), minutes=minutes,
        end=None if end is None else end.replace(microsecond=0), amount=amount,
        paid_minutes_before=paid_minutes_before,
    ).breakdown  # fmt: skip
    return _new_tuple(StayQuote, head + prep.tails[flags][:-1] + (parts,))


# Bound once: module attribute look-ups are a measurable part of a 5 µs call. tuple.__new__
# builds a StayQuote straight from its fields (the named tuple's keyword __new__ is slower).
_quote, _MINUTES = k.quote, k.MODE_MINUTES
_from_epoch, _new_tuple = datetime.fromtimestamp, tuple.__new__


def _zone_calendar(city: CityConfig, zone: str) -> np.ndarray:
    """The compiled calendar of `zone` (shared by every product sold in it)."""
    if zone not in city.zones:
        raise TariffError(f"city {city.id!r} has no zone {zone!r}")
    product = next((p for p in city.products.values() if p.zone == zone), None)
    if product is None:
        raise TariffError(f"zone {zone!r} of {city.id!r} sells nothing")
    return compiled_product(city, product.id).Z


def charging_window(
    city: str | CityConfig, zone: str, at: datetime
) -> tuple[datetime, datetime] | None:
    """The charging span running at `at`, or the next one (UTC); None if none within a year."""
    cfg = load_city(city)
    ws, we = k.window(epoch(at), _zone_calendar(cfg, zone))
    if ws < 0:
        return None
    return from_epoch(ws), from_epoch(we)


def charging_in_force(city: str | CityConfig, zone: str, at: datetime) -> bool:
    """Whether paying is required in `zone` at `at` (ENF-1 `not_required` when not)."""
    window = charging_window(city, zone, at)
    return window is not None and window[0] <= at


def price_stays(
    city: str | CityConfig,
    product: str,
    starts: np.ndarray,
    minutes: np.ndarray,
    paid_minutes_before: np.ndarray | None = None,
    *,
    out: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Batch quotes (re-rating, benchmarks): `starts` epoch seconds, `minutes` per stay.

    Returns int64 arrays `price`, `start`, `end`, `minutes`, `flags` (kernels.CARRIED...).
    `out`: arrays of those names to write into instead of new ones, for a caller that
    prices chunk after chunk (fresh memory costs page faults on first touch: on the shared
    VM about 5 ns a quote, a fifth to a third of the kernel's own time)."""
    cfg = load_city(city)
    c = compiled_product(cfg, product)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    values = np.ascontiguousarray(minutes, dtype=np.int64)
    paids = (
        np.empty(0, np.int64)
        if paid_minutes_before is None
        else np.ascontiguousarray(paid_minutes_before, dtype=np.int64)
    )
    n = starts.size
    if values.size != n or paids.size not in (0, n):
        raise TariffError("starts, minutes and paid_minutes_before must have the same length")
    if out is None:
        out = {name: np.empty(n, np.int64) for name in BATCH_FIELDS}
    else:
        out = {name: out[name] for name in BATCH_FIELDS}
        for name, array in out.items():
            flags = array.flags
            if array.dtype != np.int64 or array.shape != (n,) or not flags.c_contiguous:
                raise TariffError(f"out[{name!r}] must be a contiguous int64 array of {n}")
            if not flags.writeable:
                raise TariffError(f"out[{name!r}] must be a contiguous int64 array of {n}")
    k.quote_batch(starts, k.MODE_MINUTES, values, paids, c.P, c.Z, *out.values())
    return out


BATCH_FIELDS = ("price", "start", "end", "minutes", "flags")


# --- transit -------------------------------------------------------------------------------


def transit_product(city: str | CityConfig, product_id: str) -> TransitProduct:
    cfg = load_city(city)
    try:
        return cfg.transit.products[str(product_id)]
    except KeyError:
        known = ", ".join(sorted(cfg.transit.products)) or "none"
        raise TariffError(
            f"city {cfg.id!r} has no transit product {product_id!r} (known: {known})"
        ) from None


def ticket_valid_until(city: str | CityConfig, product_id: str, start: datetime) -> datetime:
    """When a transit ticket bought at `start` stops being valid: its validity in real
    time, counted in UTC (a 24-hour ticket across a DST change lasts 24 real hours)."""
    product = transit_product(city, product_id)
    return from_epoch(epoch(start) + product.validity_minutes * 60)


def _ride(city: str | CityConfig, stops: int, entitlement: str, card_class: str) -> tuple:
    cfg = load_city(city)
    fares = _fares(cfg.id, cfg.source)
    category, cls = fares.index(entitlement, card_class)
    if stops < 0:
        raise TariffError("stops must not be negative")
    return k.ride(stops, fares.band_min, fares.fares, category, cls)


def check_in_deposit(city: str | CityConfig, entitlement: str, card_class: str) -> int:
    """TRN-1: what check-in charges, the fare of the longest band."""
    return int(_ride(city, 0, entitlement, card_class)[0])


def ride_fare(city: str | CityConfig, stops: int, entitlement: str, card_class: str) -> int:
    return int(_ride(city, stops, entitlement, card_class)[1])


def ride_refund(city: str | CityConfig, stops: int, entitlement: str, card_class: str) -> int:
    """TRN-2: deposit − the fare of the stops travelled."""
    return int(_ride(city, stops, entitlement, card_class)[2])


@dataclass(frozen=True)
class RideBatch:
    fare: np.ndarray
    refund: np.ndarray


def price_rides(
    city: str | CityConfig, stops: np.ndarray, categories: np.ndarray, classes: np.ndarray
) -> RideBatch:
    """Batch fares and refunds; `categories` / `classes` are indices into the city's
    rider categories and card classes (config order)."""
    cfg = load_city(city)
    fares = _fares(cfg.id, cfg.source)
    fare, refund = k.ride_batch(
        np.ascontiguousarray(stops, np.int64),
        np.ascontiguousarray(categories, np.int64),
        np.ascontiguousarray(classes, np.int64),
        fares.band_min,
        fares.fares,
    )
    return RideBatch(fare, refund)


def warm_up() -> None:
    """Compile every kernel (from the on-disk cache when present) before the first event."""
    for city_id in list_cities():
        city = load_city(city_id)
        for product_id in city.products:
            c = compiled_product(city, product_id)
            k.quote(0, k.MODE_DEFAULT, 0, 0, c.P, c.Z)
            k.window(0, c.Z)
            one = np.zeros(1, np.int64)
            k.quote_batch(one, k.MODE_MINUTES, one, one, c.P, c.Z, *(one.copy() for _ in range(5)))
            break
        if city.transit.distance_bands:
            fares = _fares(city.id, city.source)
            k.ride(0, fares.band_min, fares.fares, 0, 0)
            z = np.zeros(1, np.int64)
            k.ride_batch(z, z, z, fares.band_min, fares.fares)
