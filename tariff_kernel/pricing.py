"""The tariff kernel's public functions: validate a request, run the Numba kernel, return
plain results. What the stream workers, the API, the dashboards and the load test call.

Times are priced to the whole second (sub-second parts are dropped before pricing), in
UTC; the reference implementation (reference.py) is the specification these must equal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

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
    """Price one parking purchase (see reference.quote_stay for the semantics)."""
    cfg = load_city(city)
    prod = cfg.product(product)
    reference._check_request(start, minutes, end, amount, paid_minutes_before)
    if prod.kind == "hourly" and amount is not None:
        raise TariffError(f"product {prod.id} sells whole hours, not an amount's worth")
    if amount is not None:
        mode, value = k.MODE_AMOUNT, amount
    elif end is not None:
        mode, value = k.MODE_END, epoch(end)
    elif minutes is not None:
        mode, value = k.MODE_MINUTES, minutes
    else:
        mode, value = k.MODE_DEFAULT, 0
    c = compiled_product(cfg, prod.id)
    price, eff, stop, charged, flags = k.quote(
        epoch(start), mode, value, paid_minutes_before, *c.args()
    )
    if price < 0:
        raise TariffError(f"zone {prod.zone!r} of {cfg.id!r} never charges within a year")
    parts: tuple[dict[str, object], ...] = ()
    if breakdown:
        parts = reference.quote_stay(
            cfg, prod.id, start.replace(microsecond=0), minutes=minutes,
            end=None if end is None else end.replace(microsecond=0), amount=amount,
            paid_minutes_before=paid_minutes_before,
        ).breakdown  # fmt: skip
    return StayQuote(
        price=int(price),
        currency=cfg.currency,
        start=from_epoch(eff),
        end=from_epoch(stop),
        minutes=int(charged),
        carried_over=bool(flags & k.CARRIED),
        capped=bool(flags & k.CAPPED),
        minimum_applied=bool(flags & k.MINIMUM),
        exceeds_max_stay=bool(flags & k.EXCEEDS),
        max_stay_minutes=prod.max_stay_minutes,
        no_return_minutes=prod.no_return_minutes,
        breakdown=parts,
    )


def _zone_args(city: CityConfig, zone: str) -> tuple:
    """The compiled calendar of `zone` (shared by every product sold in it)."""
    if zone not in city.zones:
        raise TariffError(f"city {city.id!r} has no zone {zone!r}")
    product = next((p for p in city.products.values() if p.zone == zone), None)
    if product is None:
        raise TariffError(f"zone {zone!r} of {city.id!r} sells nothing")
    return compiled_product(city, product.id).cal


def charging_window(
    city: str | CityConfig, zone: str, at: datetime
) -> tuple[datetime, datetime] | None:
    """The charging span running at `at`, or the next one (UTC); None if none within a year."""
    cfg = load_city(city)
    ws, we = k.next_window(epoch(at), _zone_args(cfg, zone))
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
) -> dict[str, np.ndarray]:
    """Batch quotes (re-rating, benchmarks): `starts` epoch seconds, `minutes` per stay."""
    cfg = load_city(city)
    c = compiled_product(cfg, product)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    values = np.ascontiguousarray(minutes, dtype=np.int64)
    modes = np.full(starts.size, k.MODE_MINUTES, np.int64)
    paids = (
        np.zeros(starts.size, np.int64)
        if paid_minutes_before is None
        else np.ascontiguousarray(paid_minutes_before, dtype=np.int64)
    )
    prices, effs, ends, charged, flags = k.quote_batch(starts, modes, values, paids, *c.args())
    return {"price": prices, "start": effs, "end": ends, "minutes": charged, "flags": flags}


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
            k.quote(0, k.MODE_DEFAULT, 0, 0, *c.args())
            k.quote_batch(*(np.zeros(1, np.int64) for _ in range(4)), *c.args())
            break
        if city.transit.distance_bands:
            fares = _fares(city.id, city.source)
            k.ride(0, fares.band_min, fares.fares, 0, 0)
            z = np.zeros(1, np.int64)
            k.ride_batch(z, z, z, fares.band_min, fares.fares)
