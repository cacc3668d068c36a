"""Numba kernels: the reference semantics (reference.py) over integer seconds and flat arrays.

Times are int64 UTC epoch seconds. Local time comes from a compiled table of UTC-offset
transitions (compiled.py builds it from `zoneinfo`), so DST days price right without
Python in the loop. A local wall time that does not exist or exists twice is read with the
offset before the change, as `zoneinfo` does for `fold=0`.

Product parameters arrive packed in an int64 vector `P` (indices below) so that a scalar
call from Python passes few arguments; batch kernels run the scalar one under `prange`.
Every kernel is compiled with `cache=True`; `warm_up()` in pricing.py compiles them all
before a worker takes its first event.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# P: packed product parameters
KIND, PRICE, INCREMENT, ROUNDING, MIN_FEE, MAX_FEE, CLAMP, CARRY_REMAINDER, MAX_STAY = range(9)
P_SIZE = 9
KIND_HOURLY, KIND_DAY, KIND_METERED = 0, 1, 2
# request modes
MODE_DEFAULT, MODE_MINUTES, MODE_END, MODE_AMOUNT = 0, 1, 2, 3
# result flags
CARRIED, CAPPED, MINIMUM, EXCEEDS = 1, 2, 4, 8

DAY = 86400
SEARCH_DAYS = 400
AMOUNT_HORIZON = 7 * DAY


@njit(cache=True)
def utc_offset(t, trans, off_after, off0):
    i = np.searchsorted(trans, t, side="right") - 1
    return off0 if i < 0 else off_after[i]


@njit(cache=True)
def local_to_utc(wall, thresh, off_after, off0):
    i = np.searchsorted(thresh, wall, side="right") - 1
    return wall - (off0 if i < 0 else off_after[i])


@njit(cache=True)
def local_day(t, tz):
    trans, off_after, _thresh, off0 = tz
    return (t + utc_offset(t, trans, off_after, off0[0])) // DAY


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def scan_charged_seconds(a, b, tz, spans, holidays):
    total = 0
    t = a
    while True:
        ws, we = scan_next_window(t, tz, spans, holidays)
        if ws < 0 or ws >= b:
            return total
        total += min(b, we) - max(a, ws)
        t = we


# --- the window table: every charging span of a zone over decades, with prefix sums -----


@njit(cache=True)
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


@njit(cache=True)
def index_days(first, last, ends):
    """`index[j]`: the first window ending after UTC day j (counted from `first`), so a
    lookup is one array read and a step or two instead of a binary search."""
    days = (last - first) // DAY + 1
    index = np.empty(days, np.int64)
    i = 0
    for j in range(days):
        t = first + j * DAY
        while i < ends.size and ends[i] <= t:
            i += 1
        index[j] = i
    return index


@njit(cache=True)
def _first_ending_after(t, wins):
    """Index of the first window whose end is after `t`; -1 when `t` is outside the table."""
    _starts, ends, _before, _day_ends, bounds, index = wins
    if t < bounds[0] or t >= bounds[1]:
        return -1
    i = index[(t - bounds[0]) // DAY]
    while i < ends.size and ends[i] <= t:
        i += 1
    return i if i < ends.size else -1


@njit(cache=True)
def next_window(t, cal):
    """The charging span running at `t` or the next one (UTC seconds); (-1, -1) if none."""
    tz, spans, holidays, wins = cal
    i = _first_ending_after(t, wins)
    if i >= 0:
        return wins[0][i], wins[1][i]
    return scan_next_window(t, tz, spans, holidays)


@njit(cache=True)
def day_end(ws, we, cal):
    """When charging ends on the local day of the span (ws, we) (NIS-14, ZCS-6)."""
    tz, spans, holidays, wins = cal
    i = _first_ending_after(ws, wins)
    if i >= 0 and wins[0][i] == ws:
        return wins[3][i]
    return scan_day_end(ws, we, tz, spans, holidays)


@njit(cache=True)
def _charged_until(i, t, wins):
    starts, _ends, before, _day_ends, _bounds, _index = wins
    return before[i] + max(0, t - starts[i])


@njit(cache=True)
def charged_seconds(a, b, cal):
    """Seconds of [a, b) during which charging is in force."""
    tz, spans, holidays, wins = cal
    if b <= a:
        return 0
    i, j = _first_ending_after(a, wins), _first_ending_after(b, wins)
    if i >= 0 and j >= 0:
        return _charged_until(j, b, wins) - _charged_until(i, a, wins)
    return scan_charged_seconds(a, b, tz, spans, holidays)


@njit(cache=True)
def ceil_div(a, b):
    return -((-a) // b)


@njit(cache=True)
def metered_amount(charged_minutes, P, tier_from, tier_to, tier_rate):
    cost_x60 = 0
    for i in range(tier_from.size):
        upper = charged_minutes if tier_to[i] < 0 else min(charged_minutes, tier_to[i])
        used = upper - tier_from[i]
        if used <= 0:
            break
        cost_x60 += used * tier_rate[i]
    price = ceil_div(cost_x60, 60)
    return ceil_div(price, P[ROUNDING]) * P[ROUNDING]


@njit(cache=True)
def metered(a, b, P, tiers, cal):
    """(price before the maximum, charged minutes, minimum applied) for the stay [a, b)."""
    if b <= a:
        return 0, 0, False
    seconds = charged_seconds(a, b, cal)
    minutes = ceil_div(ceil_div(seconds, 60), P[INCREMENT]) * P[INCREMENT]
    price = metered_amount(minutes, P, tiers[0], tiers[1], tiers[2])
    if price < P[MIN_FEE]:
        return P[MIN_FEE], minutes, True
    return price, minutes, False


@njit(cache=True)
def end_for_amount(a, latest, amount, P, tiers, cal):
    horizon = latest if latest >= 0 else a + AMOUNT_HORIZON
    low, high = 0, max(0, (horizon - a) // 60)
    price = metered(a, a + high * 60, P, tiers, cal)[0]
    if P[MAX_FEE] >= 0:
        price = min(price, P[MAX_FEE])
    if price <= amount:
        return horizon
    while low < high:
        mid = (low + high + 1) // 2
        price = metered(a, a + mid * 60, P, tiers, cal)[0]
        if P[MAX_FEE] >= 0:
            price = min(price, P[MAX_FEE])
        if price <= amount:
            low = mid
        else:
            high = mid - 1
    return a + low * 60


@njit(cache=True)
def quote(start, mode, value, paid, P, hour_prices, tiers, cal):
    """One purchase: (price, effective start, end, minutes, flags); price -1 = no charging."""
    ws, we = next_window(start, cal)
    if ws < 0:
        return -1, start, start, 0, 0
    kind = P[KIND]
    flags = 0
    if kind == KIND_HOURLY:
        if mode == MODE_END:
            minutes = max(1, ceil_div(value - start, 60))
        elif mode == MODE_MINUTES:
            minutes = value
        else:
            minutes = 60
        hours = ceil_div(minutes, 60)
        eff = max(start, ws)
        if ws > start:
            flags |= CARRIED
        first = paid // 60
        price = 0
        last = hour_prices.size - 1
        for k in range(hours):
            price += hour_prices[min(first + k, last)]
        if P[CARRY_REMAINDER] != 0:
            left = hours * 3600
            t = eff
            end = eff
            while True:
                cws, cwe = next_window(t, cal)
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
        if P[MAX_STAY] >= 0 and paid + hours * 60 > P[MAX_STAY]:
            flags |= EXCEEDS
        return price, eff, end, hours * 60, flags
    if kind == KIND_DAY:
        eff = max(start, ws)
        if ws > start:
            flags |= CARRIED
        end = day_end(ws, we, cal)
        return P[PRICE], eff, end, ceil_div(end - eff, 60), flags
    # metered
    clamp = P[CLAMP] != 0
    eff = max(start, ws) if clamp else start
    if clamp and ws > start:
        flags |= CARRIED
    latest = we if clamp else -1
    if mode == MODE_AMOUNT:
        end = end_for_amount(eff, latest, value, P, tiers, cal)
    elif mode == MODE_END:
        end = value
    elif mode == MODE_MINUTES:
        end = eff + value * 60
    else:
        end = eff + 3600
    if latest >= 0:
        end = min(end, latest)
    end = max(end, eff)
    price, minutes, minimum = metered(eff, end, P, tiers, cal)
    if minimum:
        flags |= MINIMUM
    if P[MAX_FEE] >= 0 and price > P[MAX_FEE]:
        price = P[MAX_FEE]
        flags |= CAPPED
        flags &= ~MINIMUM
        cws, cwe = next_window(eff, cal)
        end = day_end(cws, cwe, cal)
    if P[MAX_STAY] >= 0 and paid + ceil_div(end - eff, 60) > P[MAX_STAY]:
        flags |= EXCEEDS
    return price, eff, end, minutes, flags


@njit(cache=True, parallel=True)
def quote_batch(starts, modes, values, paids, P, hour_prices, tiers, cal):
    n = starts.size
    prices = np.empty(n, np.int64)
    effs = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    minutes = np.empty(n, np.int64)
    flags = np.empty(n, np.int64)
    # Parallel loops cannot capture tuples of arrays: unpack here, re-pack per item.
    tier_from, tier_to, tier_rate = tiers
    (trans, off_after, thresh, off0), (sp_start, sp_end, sp_count), holidays, wins = cal
    w_start, w_end, w_before, w_day_end, w_bounds, w_index = wins
    for i in prange(n):
        item_cal = (
            (trans, off_after, thresh, off0),
            (sp_start, sp_end, sp_count),
            holidays,
            (w_start, w_end, w_before, w_day_end, w_bounds, w_index),
        )
        r = quote(starts[i], modes[i], values[i], paids[i], P, hour_prices,
                  (tier_from, tier_to, tier_rate), item_cal)  # fmt: skip
        prices[i], effs[i], ends[i], minutes[i], flags[i] = r
    return prices, effs, ends, minutes, flags


# --- transit -------------------------------------------------------------------------------


@njit(cache=True)
def band_fare(stops, band_min, fares, category, card_class):
    """Fare of a ride of `stops` stops: fares[band, card_class, category]; -1 if none."""
    band = np.searchsorted(band_min, stops, side="right") - 1
    if band < 0 or stops < 0:
        return -1
    return fares[band, card_class, category]


@njit(cache=True)
def ride(stops, band_min, fares, category, card_class):
    """(deposit, fare, refund) of a ride (TRN-1, TRN-2)."""
    deposit = fares[band_min.size - 1, card_class, category]
    fare = band_fare(stops, band_min, fares, category, card_class)
    return deposit, fare, deposit - fare


@njit(cache=True, parallel=True)
def ride_batch(stops, categories, classes, band_min, fares):
    n = stops.size
    out_fare = np.empty(n, np.int64)
    out_refund = np.empty(n, np.int64)
    for i in prange(n):
        _deposit, fare, refund = ride(stops[i], band_min, fares, categories[i], classes[i])
        out_fare[i] = fare
        out_refund[i] = refund
    return out_fare, out_refund
