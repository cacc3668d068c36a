"""City configs compiled into the flat int64 arrays the Numba kernels read.

- time zone: the UTC instants of every offset change between 1970 and 2100 found with
  `zoneinfo`, the offset from each on, and the local wall time from which each applies
  (the later of the two wall readings, so ambiguous and skipped times get the offset
  before the change, like `fold=0`);
- charging spans per weekday (local minutes, sorted), holidays as local day numbers;
- per zone, one vector `Z`: every charging window 2000-2060 with prefix sums of charged
  seconds and a per-UTC-day index, plus the tables above for times outside that range;
- per product, one vector `P`: its parameters, prefix sums of its hour prices, its tiers
  and, for per-minute products, the price of every stay up to a week by started minute;
- transit distance bands as a (band, card class, rider category) fare cube.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
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


def _pack(header_size: int, header: dict[int, int], tables: dict[int, np.ndarray]) -> np.ndarray:
    """One int64 vector: a header (`header` values, and for each of `tables` the offset at
    which it starts), then the tables one after the other."""
    head = np.zeros(header_size, np.int64)
    for slot, value in header.items():
        head[slot] = value
    parts = [head]
    at = header_size
    for slot, table in tables.items():
        head[slot] = at
        parts.append(np.ascontiguousarray(table, dtype=np.int64).ravel())
        at += parts[-1].size
    return np.concatenate(parts)


@functools.cache
def calendar(timezone: str, zone: Zone, holidays: frozenset[date]) -> np.ndarray:
    """Everything the kernels need to know when charging is in force in `zone`, packed into
    one vector `Z` (layout: kernels.py): the window table with prefix sums and a per-UTC-day
    index, and the time-zone table, spans and holidays for times outside it."""
    tz = tz_table(timezone)
    spans = _spans(zone)
    days = _holidays(holidays)
    first = int(datetime(WINDOWS_FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(WINDOWS_LAST_YEAR, 1, 1, tzinfo=UTC).timestamp())
    starts, ends, before, day_ends = k.build_windows(first, last, tz, spans, days)
    # Lookups stay in the table only while the next window is known to be in it.
    last = int(starts[-1])
    index = k.index_days(first, (last - first) // k.DAY + 2, ends)
    steps = int(np.diff(index).max())  # the most windows ending within one UTC day
    trans, after, thresh, off0 = tz
    return _pack(
        k.Z_SIZE,
        {k.FIRST: first, k.LAST: last, k.STEPS: steps, k.TZ_COUNT: trans.size,
         k.SPAN_WIDTH: spans[0].shape[1], k.HOLIDAY_COUNT: days.size},
        {k.WIN_START: starts, k.WIN_END: ends, k.WIN_BEFORE: before,
         k.WIN_DAY_END: day_ends, k.DAY_INDEX: index, k.TZ_TRANS: trans,
         k.TZ_AFTER: after, k.TZ_THRESH: thresh, k.TZ_OFF0: off0,
         k.SPAN_START: spans[0], k.SPAN_END: spans[1], k.SPAN_COUNT: spans[2],
         k.HOLIDAYS: days},
    )  # fmt: skip


@dataclass(frozen=True)
class CompiledProduct:
    P: np.ndarray  # the product (layout: kernels.py)
    Z: np.ndarray  # its zone's calendar, shared by every product sold in the zone

    def args(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.P, self.Z)


_KINDS = {"hourly": k.KIND_HOURLY, "day": k.KIND_DAY, "metered": k.KIND_METERED}


def compile_product(city: CityConfig, product: ParkingProduct) -> CompiledProduct:
    hour_prices = list(product.hour_prices or (0,))
    tiers = product.tiers
    header = {
        k.KIND: _KINDS[product.kind],
        k.PRICE: product.price,
        k.INCREMENT: product.increment_minutes,
        k.ROUNDING: product.rounding,
        k.MIN_FEE: product.min_fee,
        k.MAX_FEE: -1 if product.max_fee is None else product.max_fee,
        k.CLAMP: int(product.clamp_to_charging),
        k.CARRY_REMAINDER: int(city.carry_over_remainder),
        k.MAX_STAY: -1 if product.max_stay_minutes is None else product.max_stay_minutes,
        k.HOUR_COUNT: len(hour_prices),
        k.HOUR_LAST: hour_prices[-1],
        k.TIER_COUNT: len(tiers),
    }
    tables = {
        k.HOUR_SUMS: np.concatenate([[0], np.cumsum(hour_prices)]),
        k.TIER_FROM: np.array([t.from_minute for t in tiers], np.int64),
        k.TIER_TO: np.array([-1 if t.to_minute is None else t.to_minute for t in tiers], np.int64),
        k.TIER_RATE: np.array([t.rate for t in tiers], np.int64),
    }
    P = _pack(k.P_SIZE, header, tables)
    if product.kind == "metered":
        # Every stay up to the longest an amount buys is priced once here, by started minute.
        header[k.PRICE_COUNT] = k.PRICE_TABLE_MINUTES
        tables[k.PRICE_TABLE] = k.price_table(P, k.PRICE_TABLE_MINUTES)
        P = _pack(k.P_SIZE, header, tables)
    return CompiledProduct(P=P, Z=calendar(city.timezone, city.zones[product.zone], city.holidays))


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
    return math.floor(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    # fromtimestamp is 4x cheaper than epoch + timedelta; it is on every scalar quote's path.
    return datetime.fromtimestamp(int(seconds), UTC)
