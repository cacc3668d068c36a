"""Numba kernels: the reference semantics (reference.py) over integer seconds and flat arrays.

Times are int64 UTC epoch seconds. Local time comes from a compiled table of UTC-offset
transitions (compiled.py builds it from `zoneinfo`), so DST days price right without
Python in the loop. A local wall time that does not exist or exists twice is read with the
offset before the change, as `zoneinfo` does for `fold=0`.

A quote reads two flat int64 vectors that compiled.py builds once:
- `P`, the product: a header of parameters (indices below), the prefix sums of the hour
  prices, a price table by started charged minute and the duration tiers;
- `Z`, the zone's calendar: a header of offsets (indices below), the window table (every
  charging span 2000-2060 with prefix sums of charged seconds and a per-UTC-day index),
  and the time-zone table, spans and holidays the kernels walk outside that range.
Two arrays and four integers are all a scalar call from Python passes, so the Numba
dispatcher types and unboxes little (nested tuples of arrays cost ~2 µs a call), and in a
batch nothing is reference-counted per quote.

Every kernel is compiled with `cache=True`; `warm_up()` in pricing.py compiles them all
before a worker takes its first event. `error_model="numpy"`: every divisor is a constant
or a config value validated to be >= 1, so the per-division zero checks are dropped. The
small functions on the quote path are `inline="always"`; their table reads use unsigned
indices (`at`), and the batch kernel has a loop per kind of product (see `quote_batch`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# P: a product's parameters (header) and the offsets of its tables in P
(KIND, PRICE, INCREMENT, ROUNDING, MIN_FEE, MAX_FEE, CLAMP, CARRY_REMAINDER, MAX_STAY,
 HOUR_SUMS, HOUR_COUNT, HOUR_LAST, PRICE_TABLE, PRICE_COUNT,
 TIER_FROM, TIER_TO, TIER_RATE, TIER_COUNT) = range(18)  # fmt: skip
P_SIZE = 18
KIND_HOURLY, KIND_DAY, KIND_METERED = 0, 1, 2
# Z: a zone calendar's header: table bounds and the offsets of its tables in Z
(FIRST, LAST, STEPS, WIN_START, WIN_END, WIN_BEFORE, WIN_DAY_END, DAY_INDEX,
 TZ_COUNT, TZ_TRANS, TZ_AFTER, TZ_THRESH, TZ_OFF0,
 SPAN_WIDTH, SPAN_START, SPAN_END, SPAN_COUNT, HOLIDAY_COUNT, HOLIDAYS) = range(19)  # fmt: skip
Z_SIZE = 19
# request modes
MODE_DEFAULT, MODE_MINUTES, MODE_END, MODE_AMOUNT = 0, 1, 2, 3
# result flags
CARRIED, CAPPED, MINIMUM, EXCEEDS = 1, 2, 4, 8

DAY = 86400
SEARCH_DAYS = 400
AMOUNT_HORIZON = 7 * DAY
PRICE_TABLE_MINUTES = AMOUNT_HORIZON // 60 + 1  # every stay an amount can buy

FAST = {"cache": True, "error_model": "numpy"}
INLINE = {"cache": True, "error_model": "numpy", "inline": "always"}


# --- walking local days (builds the window table; used beyond its range) ---------------------


@njit(**INLINE)
def utc_offset(t, trans, off_after, off0):
    i = np.searchsorted(trans, t, side="right") - 1
    return off0 if i < 0 else off_after[i]


@njit(**INLINE)
def local_to_utc(wall, thresh, off_after, off0):
    i = np.searchsorted(thresh, wall, side="right") - 1
    return wall - (off0 if i < 0 else off_after[i])


@njit(**FAST)
def local_day(t, tz):
    trans, off_after, _thresh, off0 = tz
    return (t + utc_offset(t, trans, off_after, off0[0])) // DAY


@njit(**FAST)
def scan_next_window(t, tz, spans, holidays):
    """The charging span still running at `t` or the next one: (start, end), or (-1, -1),
    found by walking local days (used to build the window table and beyond its range)."""
    _trans, off_after, thresh, off0 = tz
    starts, ends, counts = spans
    first = local_day(t, tz) - 1
    for d in range(first, first + SEARCH_DAYS):
        if holidays.size > 0:
            h = np.searchsorted(holidays, d)
            if h < holidays.size and holidays[h] == d:
                continue
        wd = (d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        for k in range(counts[wd]):
            ws = local_to_utc(d * DAY + starts[wd, k] * 60, thresh, off_after, off0[0])
            we = local_to_utc(d * DAY + ends[wd, k] * 60, thresh, off_after, off0[0])
            if we > t:
                return ws, we
    return -1, -1


@njit(**FAST)
def scan_day_end(ws, we, tz, spans, holidays):
    day = local_day(ws, tz)
    end = we
    t = we
    while True:
        nws, nwe = scan_next_window(t, tz, spans, holidays)
        if nws < 0 or local_day(nws, tz) != day:
            return end
        end = nwe
        t = nwe


@njit(**FAST)
def scan_charged_seconds(a, b, tz, spans, holidays):
    total = 0
    t = a
    while True:
        ws, we = scan_next_window(t, tz, spans, holidays)
        if ws < 0 or ws >= b:
            return total
        total += min(b, we) - max(a, ws)
        t = we


@njit(**FAST)
def scan_tables(Z):
    """The time-zone table, spans and holidays inside `Z`, as the scan functions take them."""
    n = Z[TZ_COUNT]
    tz = (
        Z[Z[TZ_TRANS] : Z[TZ_TRANS] + n],
        Z[Z[TZ_AFTER] : Z[TZ_AFTER] + n],
        Z[Z[TZ_THRESH] : Z[TZ_THRESH] + n],
        Z[Z[TZ_OFF0] : Z[TZ_OFF0] + 1],
    )
    w = Z[SPAN_WIDTH]
    spans = (
        Z[Z[SPAN_START] : Z[SPAN_START] + 7 * w].reshape((7, w)),
        Z[Z[SPAN_END] : Z[SPAN_END] + 7 * w].reshape((7, w)),
        Z[Z[SPAN_COUNT] : Z[SPAN_COUNT] + 7],
    )
    return tz, spans, Z[Z[HOLIDAYS] : Z[HOLIDAYS] + Z[HOLIDAY_COUNT]]


# Beyond the window table: out of line, so that the quote's hot loop stays small.


@njit(**FAST)
def _beyond_next_window(t, Z):
    tz, spans, holidays = scan_tables(Z)
    return scan_next_window(t, tz, spans, holidays)


@njit(**FAST)
def _beyond_day_end(ws, we, Z):
    tz, spans, holidays = scan_tables(Z)
    return scan_day_end(ws, we, tz, spans, holidays)


@njit(**FAST)
def _beyond_charged_seconds(a, b, Z):
    tz, spans, holidays = scan_tables(Z)
    return scan_charged_seconds(a, b, tz, spans, holidays)


# --- the window table: every charging span of a zone over decades, with prefix sums -----


@njit(**FAST)
def build_windows(first, last, tz, spans, holidays):
    """Every charging span between `first` and `last`: starts, ends, the charged seconds
    before each, and when charging ends on each span's local day."""
    count = 0
    t = first
    while True:
        ws, we = scan_next_window(t, tz, spans, holidays)
        if ws < 0 or ws >= last:
            break
        count += 1
        t = we
    starts = np.empty(count, np.int64)
    ends = np.empty(count, np.int64)
    before = np.empty(count + 1, np.int64)
    day_ends = np.empty(count, np.int64)
    t = first
    before[0] = 0
    for i in range(count):
        ws, we = scan_next_window(t, tz, spans, holidays)
        starts[i], ends[i] = ws, we
        before[i + 1] = before[i] + (we - ws)
        t = we
    for i in range(count - 1, -1, -1):
        same_day = i + 1 < count and local_day(starts[i + 1], tz) == local_day(starts[i], tz)
        day_ends[i] = day_ends[i + 1] if same_day else ends[i]
    return starts, ends, before, day_ends


@njit(**FAST)
def index_days(first, days, ends):
    """`index[j]`: the first window ending after UTC day j (counted from `first`) starts,
    so a lookup is one array read and at most `STEPS` steps instead of a binary search."""
    index = np.empty(days, np.int64)
    i = 0
    for j in range(days):
        t = first + j * DAY
        while i < ends.size and ends[i] <= t:
            i += 1
        index[j] = i
    return index


@njit(**INLINE)
def zone_header(Z):
    """`Z`'s header as a tuple of integers: read once per call (a batch's loop keeps them in
    registers; header reads from `Z` itself would be repeated after every store)."""
    return (
        Z[0],
        Z[1],
        Z[2],
        Z[3],
        Z[4],
        Z[5],
        Z[6],
        Z[7],
        Z[8],
        Z[9],
        Z[10],
        Z[11],
        Z[12],
        Z[13],
        Z[14],
        Z[15],
        Z[16],
        Z[17],
        Z[18],
    )


@njit(**INLINE)
def at(V, i):
    """`V[i]` for an `i` known to be inside `V`: an unsigned index, so Numba emits no
    wraparound for negative indices (three instructions per read on the quote's path)."""
    return V[np.uint64(i)]


@njit(**INLINE)
def window_at(t, Z, zh):
    """Index of the first window whose end is after `t`; -1 when `t` is outside the table.

    The day's index entry, then a fixed number of steps (the most windows that end within
    one UTC day) without a data-dependent branch: a step past the right window adds 0.
    One unsigned comparison checks both bounds (a `t` below the table wraps to a large
    offset); one step, every seed zone's case, is taken without the loop."""
    offset = np.uint64(t - zh[FIRST])
    if offset >= np.uint64(zh[LAST] - zh[FIRST]):
        return -1
    i = at(Z, zh[DAY_INDEX] + np.int64(offset // np.uint64(DAY)))
    ends = zh[WIN_END]
    if zh[STEPS] == 1:
        return i + (at(Z, ends + i) <= t)
    for _ in range(zh[STEPS]):
        i += at(Z, ends + i) <= t
    return i


@njit(**INLINE)
def next_window(t, Z, zh):
    """The charging span running at `t` or the next one (UTC seconds); (-1, -1) if none."""
    i = window_at(t, Z, zh)
    if i >= 0:
        return at(Z, zh[WIN_START] + i), at(Z, zh[WIN_END] + i)
    return _beyond_next_window(t, Z)


@njit(**INLINE)
def day_end(ws, we, Z, zh):
    """When charging ends on the local day of the span (ws, we) (NIS-14, ZCS-6)."""
    i = window_at(ws, Z, zh)
    if i >= 0 and at(Z, zh[WIN_START] + i) == ws:
        return at(Z, zh[WIN_DAY_END] + i)
    return _beyond_day_end(ws, we, Z)


@njit(**INLINE)
def _charged_until(i, t, Z, zh):
    """Charged seconds from the table's first window to `t`, window `i` the first ending
    after `t`."""
    return at(Z, zh[WIN_BEFORE] + i) + max(0, t - at(Z, zh[WIN_START] + i))


@njit(**INLINE)
def charged_seconds(a, b, Z, zh):
    """Seconds of [a, b) during which charging is in force."""
    if b <= a:
        return 0
    i, j = window_at(a, Z, zh), window_at(b, Z, zh)
    if i >= 0 and j >= 0:
        return _charged_until(j, b, Z, zh) - _charged_until(i, a, Z, zh)
    return _beyond_charged_seconds(a, b, Z)


# --- prices ----------------------------------------------------------------------------------


@njit(**INLINE)
def ceil_div(a, b):
    """ceil(a / b) for b >= 1. A nonnegative `a` (every valid quote's case) is divided
    unsigned: a multiply and a shift for a constant `b`, where Python's floor division of
    signed integers takes two multiplies and sign corrections."""
    if a >= 0:
        return np.int64((np.uint64(a) + np.uint64(b - 1)) // np.uint64(b))
    return -((-a) // b)


@njit(**INLINE)
def floor_div(a, b):
    """a // b for b >= 1, unsigned for a nonnegative `a` (see `ceil_div`)."""
    if a >= 0:
        return np.int64(np.uint64(a) // np.uint64(b))
    return a // b


@njit(**INLINE)
def product_header(P):
    """`P`'s header as a tuple of integers (see `zone_header`)."""
    return (
        P[0],
        P[1],
        P[2],
        P[3],
        P[4],
        P[5],
        P[6],
        P[7],
        P[8],
        P[9],
        P[10],
        P[11],
        P[12],
        P[13],
        P[14],
        P[15],
        P[16],
        P[17],
    )


@njit(**INLINE)
def hours_price(n, P, ph):
    """The price of hours 1..n of a stay (the last hour price repeats): a prefix sum."""
    count = ph[HOUR_COUNT]
    row = ph[HOUR_SUMS] + min(n, count)
    before = at(P, row) if row >= 0 else P[row]  # a negative `n`: no valid quote's
    return before + max(0, n - count) * ph[HOUR_LAST]


@njit(**INLINE)
def tiers_price(minutes, P, ph):
    """Price of `minutes` charged minutes at the tiers' hourly rates, rounded up."""
    cost_x60 = 0
    for i in range(ph[TIER_COUNT]):
        to = P[ph[TIER_TO] + i]
        upper = minutes if to < 0 else min(minutes, to)
        used = upper - P[ph[TIER_FROM] + i]
        if used <= 0:
            break
        cost_x60 += used * P[ph[TIER_RATE] + i]
    price = ceil_div(cost_x60, 60)
    return ceil_div(price, ph[ROUNDING]) * ph[ROUNDING]


@njit(**FAST)
def price_table(P, count):
    """Charged minutes (rounded to the increment) and their price for 0..count-1 started
    minutes, interleaved: a metered quote reads both from one cache line."""
    ph = product_header(P)
    table = np.empty(2 * count, np.int64)
    for m in range(count):
        minutes = ceil_div(m, ph[INCREMENT]) * ph[INCREMENT]
        table[2 * m] = minutes
        table[2 * m + 1] = tiers_price(minutes, P, ph)
    return table


@njit(**INLINE)
def minute_price(started, P, ph):
    """(price before the maximum, charged minutes, minimum applied) of `started` charged
    minutes: from the product's table, or the tiers beyond it."""
    if started < ph[PRICE_COUNT]:
        row = ph[PRICE_TABLE] + 2 * started
        minutes, price = at(P, row), at(P, row + 1)
    else:
        minutes = ceil_div(started, ph[INCREMENT]) * ph[INCREMENT]
        price = tiers_price(minutes, P, ph)
    if price < ph[MIN_FEE]:
        return ph[MIN_FEE], minutes, True
    return price, minutes, False


@njit(**INLINE)
def metered(a, b, P, ph, Z, zh):
    """(price before the maximum, charged minutes, minimum applied) for the stay [a, b)."""
    if b <= a:
        return 0, 0, False
    return minute_price(ceil_div(charged_seconds(a, b, Z, zh), 60), P, ph)


@njit(**FAST)
def end_for_amount(a, latest, amount, P, ph, Z, zh):
    horizon = latest if latest >= 0 else a + AMOUNT_HORIZON
    low, high = 0, max(0, (horizon - a) // 60)
    price = metered(a, a + high * 60, P, ph, Z, zh)[0]
    if ph[MAX_FEE] >= 0:
        price = min(price, ph[MAX_FEE])
    if price <= amount:
        return horizon
    while low < high:
        mid = (low + high + 1) // 2
        price = metered(a, a + mid * 60, P, ph, Z, zh)[0]
        if ph[MAX_FEE] >= 0:
            price = min(price, ph[MAX_FEE])
        if price <= amount:
            low = mid
        else:
            high = mid - 1
    return a + low * 60


@njit(**INLINE)
def quote_hourly(start, mode, value, paid, P, ph, Z, zh):
    """An hourly ticket (NIS-2, NIS-4, NIS-5, NIS-11, NIS-13): see `quote_in`."""
    ws, we = next_window(start, Z, zh)
    if ws < 0:
        return -1, start, start, 0, 0
    flags = 0
    eff = max(start, ws)
    if mode == MODE_END:
        minutes = max(1, ceil_div(value - eff, 60))  # from the effective start (NIS-11)
    elif mode == MODE_MINUTES:
        minutes = value
    else:
        minutes = 60
    hours = ceil_div(minutes, 60)
    if ws > start:
        flags |= CARRIED
    first = floor_div(paid, 60)
    price = hours_price(first + max(0, hours), P, ph) - hours_price(first, P, ph)
    if ph[CARRY_REMAINDER] != 0:
        left = hours * 3600
        t = eff
        end = eff
        while True:
            cws, cwe = next_window(t, Z, zh)
            if cws < 0:
                return -1, start, start, 0, 0
            begin = max(t, cws)
            if cwe - begin >= left:
                end = begin + left
                break
            left -= cwe - begin
            t = cwe
    else:
        end = min(eff + hours * 3600, we)
    if ph[MAX_STAY] >= 0 and paid + hours * 60 > ph[MAX_STAY]:
        flags |= EXCEEDS
    return price, eff, end, hours * 60, flags


@njit(**INLINE)
def quote_day(start, mode, value, paid, P, ph, Z, zh):
    """A day ticket (NIS-14): see `quote_in`."""
    ws, we = next_window(start, Z, zh)
    if ws < 0:
        return -1, start, start, 0, 0
    eff = max(start, ws)
    flags = CARRIED if ws > start else 0
    end = day_end(ws, we, Z, zh)
    return ph[PRICE], eff, end, ceil_div(end - eff, 60), flags


@njit(**INLINE)
def quote_metered(start, mode, value, paid, P, ph, Z, zh):
    """A per-minute stay (MOB-1, ZCS-3, ZCS-6, ZCS-7): see `quote_in`."""
    i = window_at(start, Z, zh)
    if i >= 0:
        ws, we = at(Z, zh[WIN_START] + i), at(Z, zh[WIN_END] + i)
    else:
        ws, we = _beyond_next_window(start, Z)
    if ws < 0:
        return -1, start, start, 0, 0
    flags = 0
    clamp = ph[CLAMP] != 0
    eff = max(start, ws) if clamp else start
    if clamp and ws > start:
        flags |= CARRIED
    latest = we if clamp else -1
    if mode == MODE_AMOUNT:
        end = end_for_amount(eff, latest, value, P, ph, Z, zh)
    elif mode == MODE_END:
        end = value
    elif mode == MODE_MINUTES:
        end = eff + value * 60
    else:
        end = eff + 3600
    if latest >= 0:
        end = min(end, latest)
    end = max(end, eff)
    # metered(eff, end), with the window of the start already found: a clamped stay lies
    # inside it (charged = its length); an unclamped one starts at `start` (window i).
    if end <= eff:
        price, minutes, minimum = 0, 0, False
    else:
        if clamp:
            charged = end - eff
        else:
            j = window_at(end, Z, zh)
            if i >= 0 and j >= 0:
                charged = _charged_until(j, end, Z, zh) - _charged_until(i, eff, Z, zh)
            else:
                charged = _beyond_charged_seconds(eff, end, Z)
        price, minutes, minimum = minute_price(ceil_div(charged, 60), P, ph)
    if minimum:
        flags |= MINIMUM
    if ph[MAX_FEE] >= 0 and price > ph[MAX_FEE]:
        price = ph[MAX_FEE]
        flags |= CAPPED
        flags &= ~MINIMUM
        cws, cwe = next_window(eff, Z, zh)
        end = day_end(cws, cwe, Z, zh)
    if ph[MAX_STAY] >= 0 and paid + ceil_div(end - eff, 60) > ph[MAX_STAY]:
        flags |= EXCEEDS
    return price, eff, end, minutes, flags


@njit(**INLINE)
def quote_in(start, mode, value, paid, P, ph, Z, zh):
    """One purchase: (price, effective start, end, minutes, flags); price -1 = no charging."""
    kind = ph[KIND]
    if kind == KIND_HOURLY:
        return quote_hourly(start, mode, value, paid, P, ph, Z, zh)
    if kind == KIND_DAY:
        return quote_day(start, mode, value, paid, P, ph, Z, zh)
    return quote_metered(start, mode, value, paid, P, ph, Z, zh)


@njit(**FAST)
def quote(start, mode, value, paid, P, Z):
    """One purchase from Python: see `quote_in`."""
    return quote_in(start, mode, value, paid, P, product_header(P), Z, zone_header(Z))


@njit(**FAST)
def window(t, Z):
    """The charging span running at `t` or the next one, from Python."""
    return next_window(t, Z, zone_header(Z))


@njit(cache=True, error_model="numpy", parallel=True)
def quote_batch(starts, mode, values, paids, P, Z, prices, effs, ends, minutes, flags):
    """Quotes of `starts[i]` with `values[i]` in one `mode`; `paids` is per stay or empty
    (none paid before). The caller allocates the outputs.

    The product's kind and whether minutes were paid before are chosen once, outside the
    loops: each loop holds one kind's code, and with nothing paid before the compiler
    folds the paid hours' part of the price away (a quarter of an hourly quote's time)."""
    ph, zh = product_header(P), zone_header(Z)
    kind = ph[KIND]
    if kind == KIND_HOURLY and paids.size > 0:
        for i in prange(starts.size):
            r = quote_hourly(starts[i], mode, values[i], paids[i], P, ph, Z, zh)
            prices[i], effs[i], ends[i], minutes[i], flags[i] = r
    elif kind == KIND_HOURLY:
        for i in prange(starts.size):
            r = quote_hourly(starts[i], mode, values[i], 0, P, ph, Z, zh)
            prices[i], effs[i], ends[i], minutes[i], flags[i] = r
    elif kind == KIND_DAY:
        for i in prange(starts.size):
            r = quote_day(starts[i], mode, values[i], 0, P, ph, Z, zh)
            prices[i], effs[i], ends[i], minutes[i], flags[i] = r
    elif paids.size > 0:
        for i in prange(starts.size):
            r = quote_metered(starts[i], mode, values[i], paids[i], P, ph, Z, zh)
            prices[i], effs[i], ends[i], minutes[i], flags[i] = r
    else:
        for i in prange(starts.size):
            r = quote_metered(starts[i], mode, values[i], 0, P, ph, Z, zh)
            prices[i], effs[i], ends[i], minutes[i], flags[i] = r


# --- transit -------------------------------------------------------------------------------


@njit(**FAST)
def band_fare(stops, band_min, fares, category, card_class):
    """Fare of a ride of `stops` stops: fares[band, card_class, category]; -1 if none."""
    band = np.searchsorted(band_min, stops, side="right") - 1
    if band < 0 or stops < 0:
        return -1
    return fares[band, card_class, category]


@njit(**FAST)
def ride(stops, band_min, fares, category, card_class):
    """(deposit, fare, refund) of a ride (TRN-1, TRN-2)."""
    deposit = fares[band_min.size - 1, card_class, category]
    fare = band_fare(stops, band_min, fares, category, card_class)
    return deposit, fare, deposit - fare


@njit(cache=True, error_model="numpy", parallel=True)
def ride_batch(stops, categories, classes, band_min, fares):
    n = stops.size
    out_fare = np.empty(n, np.int64)
    out_refund = np.empty(n, np.int64)
    for i in prange(n):
        _deposit, fare, refund = ride(stops[i], band_min, fares, categories[i], classes[i])
        out_fare[i] = fare
        out_refund[i] = refund
    return out_fare, out_refund
