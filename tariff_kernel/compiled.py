"""City configs compiled into the flat int64 arrays the Numba kernels read.

- time zone: the UTC instants of every offset change between 1970 and 2100 found with
  `zoneinfo`, the offset from each on, and the local wall time from which each applies
  (the later of the two wall readings, so ambiguous and skipped times get the offset
  before the change, like `fold=0`);
- charging spans per weekday (local minutes, sorted), holidays as local day numbers;
- a product's packed parameters, hour prices and duration tiers;
- transit distance bands as a (band, card class, rider category) fare cube.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tariff_kernel import kernels as k
from tariff_kernel.model import CityConfig, ParkingProduct, TariffError, Zone

EPOCH = date(1970, 1, 1)
TABLE_FIRST_YEAR, TABLE_LAST_YEAR = 1970, 2100


@functools.cache
def tz_table(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tz = ZoneInfo(name)

    def offset(t: int) -> int:
        moment = datetime.fromtimestamp(t, UTC).astimezone(tz)
        return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]

    start = int(datetime(TABLE_FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(TABLE_LAST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    trans, after, thresh = [], [], []
    off0 = offset(start)
    t, current = start, off0
    step = 6 * 3600  # no zone changes its offset twice within six hours
    while t < stop:
        nxt = t + step
        o = offset(nxt)
        if o != current:
            low, high = t, nxt  # offset(low) == current, offset(high) == o
            while high - low > 1:
                mid = (low + high) // 2
                if offset(mid) == current:
                    low = mid
                else:
                    high = mid
            trans.append(high)
            after.append(o)
            thresh.append(high + max(current, o))
            current = o
        t = nxt
    as_array = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return as_array(trans), as_array(after), as_array(thresh), as_array([off0])


@functools.cache
def _spans(zone: Zone) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per_day = [sorted((s.start_minute, s.end_minute) for s in zone.spans if d in s.days)
               for d in range(7)]  # fmt: skip
    width = max(1, max(len(x) for x in per_day))
    starts = np.zeros((7, width), np.int64)
    ends = np.zeros((7, width), np.int64)
    counts = np.zeros(7, np.int64)
    for d, spans in enumerate(per_day):
        counts[d] = len(spans)
        for i, (a, b) in enumerate(spans):
            starts[d, i], ends[d, i] = a, b
    return starts, ends, counts


def _holidays(days: frozenset[date]) -> np.ndarray:
    return np.array(sorted((d - EPOCH).days for d in days), dtype=np.int64)


# The window table covers these years; outside them the kernels walk local days instead.
WINDOWS_FIRST_YEAR, WINDOWS_LAST_YEAR = 2000, 2060


@functools.cache
def calendar(timezone: str, zone: Zone, holidays: frozenset[date]) -> tuple:
    """Everything the kernels need to know when charging is in force in `zone`:
    (time-zone table, spans per weekday, holidays, window table with prefix sums)."""
    tz = tz_table(timezone)
    spans = _spans(zone)
    days = _holidays(holidays)
    first = int(datetime(WINDOWS_FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(WINDOWS_LAST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    starts, ends, before, day_ends = k.build_windows(first, last, tz, spans, days)
    # Lookups stay in the table only while the next window is known to be in it.
    last = int(starts[-1])
    bounds = np.array([first, last], dtype=np.int64)
    index = k.index_days(first, last, ends)
    return tz, spans, days, (starts, ends, before, day_ends, bounds, index)


@dataclass(frozen=True)
class CompiledProduct:
    P: np.ndarray
    hour_prices: np.ndarray
    tiers: tuple[np.ndarray, np.ndarray, np.ndarray]
    cal: tuple

    def args(self) -> tuple:
        return (self.P, self.hour_prices, self.tiers, self.cal)


_KINDS = {"hourly": k.KIND_HOURLY, "day": k.KIND_DAY, "metered": k.KIND_METERED}


def compile_product(city: CityConfig, product: ParkingProduct) -> CompiledProduct:
    P = np.full(k.P_SIZE, 0, np.int64)
    P[k.KIND] = _KINDS[product.kind]
    P[k.PRICE] = product.price
    P[k.INCREMENT] = product.increment_minutes
    P[k.ROUNDING] = product.rounding
    P[k.MIN_FEE] = product.min_fee
    P[k.MAX_FEE] = -1 if product.max_fee is None else product.max_fee
    P[k.CLAMP] = int(product.clamp_to_charging)
    P[k.CARRY_REMAINDER] = int(city.carry_over_remainder)
    P[k.MAX_STAY] = -1 if product.max_stay_minutes is None else product.max_stay_minutes
    hour_prices = np.array(product.hour_prices or (0,), dtype=np.int64)
    tiers = (
        np.array([t.from_minute for t in product.tiers], dtype=np.int64),
        np.array([-1 if t.to_minute is None else t.to_minute for t in product.tiers], np.int64),
        np.array([t.rate for t in product.tiers], dtype=np.int64),
    )
    return CompiledProduct(
        P=P,
        hour_prices=hour_prices,
        tiers=tiers,
        cal=calendar(city.timezone, city.zones[product.zone], city.holidays),
    )


@dataclass(frozen=True)
class CompiledFares:
    band_min: np.ndarray
    fares: np.ndarray  # [band, card class, rider category]
    classes: dict[str, int]
    categories: dict[str, int]

    def index(self, entitlement: str, card_class: str) -> tuple[int, int]:
        try:
            return self.categories[entitlement], self.classes[card_class]
        except KeyError:
            raise TariffError(
                f"no fare for entitlement {entitlement!r} and card class {card_class!r} "
                f"(entitlements {sorted(self.categories)}, card classes {sorted(self.classes)})"
            ) from None


def compile_fares(city: CityConfig) -> CompiledFares:
    t = city.transit
    if not t.distance_bands:
        raise TariffError(f"city {city.id!r} has no distance fares")
    classes = {c: i for i, c in enumerate(t.card_classes)}
    categories = {c: i for i, c in enumerate(t.rider_categories)}
    fares = np.zeros((len(t.distance_bands), len(classes), len(categories)), np.int64)
    for b, band in enumerate(t.distance_bands):
        for c, ci in classes.items():
            for r, ri in categories.items():
                fares[b, ci, ri] = band.fares[c][r]
    band_min = np.array([b.min_stops for b in t.distance_bands], dtype=np.int64)
    return CompiledFares(band_min, fares, classes, categories)


def epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise TariffError("times must be aware datetimes (UTC inside)")
    return int(moment.timestamp() // 1)


def from_epoch(seconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds))
