"""The de-duplicated base-table SQL behind the dashboards' long-window figures, in one place.

Each builder returns a SELECT over the analytics tables (duplicates removed with FINAL or
argMax per ticket) for a half-open window given by two parameter names, grouped by city
and the figure's dimensions, giving *partial* figures that add up across windows: counts
and sums, never averages. `scope` is the city condition: `city = %(city)s` when a
dashboard asks, `1` when `dashboards/rollups.py` fills a day for every city at once.
The dashboards (`queries.py`) and the rollup job use the same builders, which is what
keeps a rollup-backed figure equal to the base-table one.

Windows are cut at UTC day boundaries, and every figure's unit (5/15/60-minute slot,
hour, minute, visit day) divides a day, so no unit is split between two windows.
Occupancy is also cut at whole slots inside a day (a slot counts the vehicles of its own
time only); it takes a list of spans, the base pieces of one window, read in one query.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Entitlement kinds that occupy a parking space (occupancy, turnover, dwell).
PARKING_KINDS = ("hourly", "day", "app_stay")
#: Entitlement kinds of transit tickets sold (the Transit page's tickets by product).
TICKET_KINDS = ("transit_ticket", "period_ticket")
#: The `scope` of the rollup job: every city at once.
ALL_CITIES = "1"
#: Longest stay or ticket that may reach into a window from before it (moBILET max 7 days).
LOOKBACK_S = 7 * 24 * 3600
#: Longest piece whose tickets are narrowed to those reaching into it (`_reaching`).
NARROW_S = 24 * 3600


def plain(moment: str) -> str:
    """`moment` as a DateTime without a time zone in its type. 18.16's toStartOfHour and
    toStartOfMinute return DateTime('Etc/UTC'), which clickhouse-driver turns into
    zone-aware Python datetimes one by one (~3 µs each: 0.6 s for a month of minutes);
    plain DateTime values arrive naive (UTC here) and `queries._frame` marks them UTC."""
    return f"toDateTime(toUInt32({moment}))"


#: A half-open window [start, end) given by the names of its two parameters.
Span = tuple[str, str]


def _versions(spans: Sequence[Span]) -> str:
    """The entitlement versions that may count in one of `spans`: those starting before
    the span ends, at most `LOOKBACK_S` before it starts. One range per span, not their
    hull: the sorting key (city, valid_from, …) skips what lies between (a 30-day
    window's two edges read two weeks of versions, not 37 days)."""
    ranges = [
        f"(valid_from < toDateTime(%({e})s) AND valid_from >= toDateTime(%({s})s - {LOOKBACK_S}))"
        for s, e in spans
    ]
    return ranges[0] if len(ranges) == 1 else f"({' OR '.join(ranges)})"


def stays(scope: str, spans: Sequence[Span], reaching: str, narrow: bool = True) -> str:
    """One row per ticket (`stay_city`, not `city`: an alias named like a column would
    replace the column in WHERE), its latest version; `vu` ends at a revocation (NIS-9).

    For one city the tickets are grouped by id alone (a second string key costs ~15 %
    of the occupancy query); for every city, by city and id (ids of two systems may meet).

    With `narrow`, only tickets that may count in one of the spans are grouped
    (`reaching`, see `_reaching`): grouping every ticket of the 7-day look-back was most
    of the cost of a short piece."""
    city, key = ("city", "city, ticket_id") if scope == ALL_CITIES else ("any(city)", "ticket_id")
    return f"""
        SELECT
            {city} AS stay_city, ticket_id,
            argMax(zone, version) AS zone,
            argMax(plate, version) AS plate,
            argMax(state, version) AS st,
            argMax(valid_from, version) AS vf,
            argMax(valid_until, version) AS vu0,
            argMax(revoked_at, version) AS rv,
            if(st = 'revoked' AND rv IS NOT NULL, least(vu0, assumeNotNull(rv)), vu0) AS vu
        FROM entitlements
        {_reaching(scope, "%(kinds)s", spans, reaching) if narrow else ""}
        WHERE {scope} AND kind IN %(kinds)s AND {_versions(spans)}
        GROUP BY {key}
    """


def _reaching(scope: str, kinds: str, spans: Sequence[Span], reaching: str) -> str:
    """`PREWHERE ticket_id IN (…)`, keeping the tickets of the look-back that have a
    version able to count in one of `spans`: a cheap scan of three columns instead of
    grouping every version of a week of tickets (as PREWHERE, the other columns are read
    only for the rows kept). It never drops a ticket that counts:

    - `"overlap"` (occupancy): some version valid after the span's start. A ticket counts
      only if its latest version ends (revocation included) after it, and that end is
      never later than the version's `valid_until`.
    - `"start"` (visits, tickets sold): some version starting in the span. A ticket counts
      only if its latest version does.

    A ticket id of another city may pass too (ids are compared alone); its own versions
    then fail the same test in the outer query, so it still does not count.

    Worth it for spans of up to a day in all (`NARROW_S`: window edges, the open day's
    unsettled part, the rollup job's days): for a window of many days the set holds most
    of the tickets, and building it made a 30-day base-table query three times slower."""
    tests = []
    for s, e in spans:
        if reaching == "overlap":
            since, more = f"%({s})s - {LOOKBACK_S}", f" AND valid_until > toDateTime(%({s})s)"
        elif reaching == "start":
            since, more = f"%({s})s", ""
        else:
            raise ValueError(f"unknown reaching test {reaching!r}")
        tests.append(
            f"(valid_from < toDateTime(%({e})s) AND valid_from >= toDateTime({since}){more})"
        )
    return f"""PREWHERE ticket_id IN (
            SELECT ticket_id FROM entitlements
            WHERE {scope} AND kind IN {kinds} AND {_versions(spans)}
              AND ({" OR ".join(tests)}))"""


def occupancy(scope: str, spans: Sequence[Span], slot_s: int, narrow: bool = True) -> str:
    """city, zone, slot, vehicles: distinct vehicles with a valid stay in each slot of the
    spans (in order, disjoint, no slot in two of them: the base pieces of one window).

    One query for all the spans pays the look-back of stays (`stays`, `_reaching`) once:
    that scan, not the slots, is most of what a short piece costs (the cut slot at a
    window's start and the open day's unsettled last hour: 2 × ~240 ms apart). A stay's
    slots in each span are those of its validity clipped to the span, so each slot counts
    exactly the vehicles a query of its span alone would count.

    A vehicle counts once per slot however many tickets it holds; rows whose plate
    pseudonym was cleared by retention count per ticket. Slots never straddle a day."""
    slot = int(slot_s)
    bounds = ", ".join(
        f"toUInt32(greatest(vf, toDateTime(%({s})s))) AS a{i}, "
        f"toUInt32(least(vu, toDateTime(%({e})s))) AS b{i}"
        for i, (s, e) in enumerate(spans)
    )
    # Both branches of `if` are evaluated: the count is formed only where b > a.
    slots = [
        f"arrayMap(j -> intDiv(a{i}, {slot}) + j, range(if(b{i} > a{i}, "
        f"toUInt32(intDiv(b{i} - 1, {slot}) - intDiv(a{i}, {slot}) + 1), toUInt32(0))))"
        for i in range(len(spans))
    ]
    numbers = slots[0] if len(slots) == 1 else f"arrayConcat({', '.join(slots)})"
    inside = " OR ".join(f"b{i} > a{i}" for i in range(len(spans)))
    return f"""
        SELECT city, zone, toDateTime(n * {slot}) AS slot,
               uniq(if(plate = '', ticket_id, plate)) AS vehicles
        FROM (
            SELECT stay_city AS city, zone, plate, ticket_id, {bounds}
            FROM ({stays(scope, spans, "overlap", narrow)})
            WHERE vu > vf AND ({inside})
        )
        ARRAY JOIN {numbers} AS n
        GROUP BY city, zone, slot
    """


def visits(scope: str, s: str, e: str, narrow: bool = True) -> str:
    """city, zone, visits, dwell_s, tickets: visits started in the window (one vehicle's
    tickets in a zone on one day joined), their summed span in seconds, tickets paid."""
    return f"""
        SELECT city, zone, count() AS visits, sum(b - a) AS dwell_s, sum(n) AS tickets
        FROM (
            SELECT stay_city AS city, zone, if(plate = '', ticket_id, plate) AS vehicle,
                   toDate(vf) AS day,
                   toInt64(min(vf)) AS a, toInt64(max(vu)) AS b, count() AS n
            FROM ({stays(scope, [(s, e)], "start", narrow)})
            WHERE vf >= toDateTime(%({s})s) AND vu > vf
            GROUP BY city, zone, vehicle, day
        )
        GROUP BY city, zone
    """


def revenue(scope: str, s: str, e: str) -> str:
    """city, hour, zone, channel, currency, revenue, refunds, releases, topups, payments."""
    return f"""
        SELECT city, {plain("toStartOfHour(time)")} AS hour, zone, channel,
               any(currency) AS currency,
               sumIf(amount, kind IN ('charge', 'capture'))
                 - sumIf(amount, kind = 'refund') AS revenue,
               sumIf(amount, kind = 'refund') AS refunds,
               sumIf(amount, kind = 'release') AS releases,
               sumIf(amount, kind = 'topup') AS topups,
               countIf(kind IN ('charge', 'capture')) AS payments
        FROM ledger FINAL
        WHERE {scope} AND time >= toDateTime(%({s})s) AND time < toDateTime(%({e})s)
        GROUP BY city, hour, zone, channel
    """


def revenue_product(scope: str, s: str, e: str) -> str:
    """city, product, purse, currency, revenue, payments, refunds."""
    return f"""
        SELECT city, product, purse, any(currency) AS currency,
               sumIf(amount, kind IN ('charge', 'capture'))
                 - sumIf(amount, kind = 'refund') AS revenue,
               countIf(kind IN ('charge', 'capture')) AS payments,
               sumIf(amount, kind = 'refund') AS refunds
        FROM ledger FINAL
        WHERE {scope} AND time >= toDateTime(%({s})s) AND time < toDateTime(%({e})s)
          AND product != ''
        GROUP BY city, product, purse
    """


def events_minute(scope: str, s: str, e: str) -> str:
    """city, minute, type, events: inbound events per minute of event time."""
    return f"""
        SELECT city, {plain("toStartOfMinute(time)")} AS minute, type, count() AS events
        FROM events FINAL
        WHERE {scope} AND time >= toDateTime(%({s})s) AND time < toDateTime(%({e})s)
        GROUP BY city, minute, type
    """


def outcomes(scope: str, s: str, e: str) -> str:
    """city, type, outcome, rule, events: the workers' decisions."""
    return f"""
        SELECT city, type, outcome, rule, count() AS events
        FROM outcomes FINAL
        WHERE {scope} AND time >= toDateTime(%({s})s) AND time < toDateTime(%({e})s)
        GROUP BY city, type, outcome, rule
    """


def tickets(scope: str, s: str, e: str, narrow: bool = True) -> str:
    """city, product, channel, tickets, amount, currency: transit tickets sold, by start of
    validity (latest version), revoked ones not counted."""
    city, key = ("city", "city, ticket_id") if scope == ALL_CITIES else ("any(city)", "ticket_id")
    kinds = repr(TICKET_KINDS)
    return f"""
        SELECT ticket_city AS city, product, channel, count() AS tickets,
               sum(price) AS amount, any(currency) AS currency
        FROM (
            SELECT {city} AS ticket_city, ticket_id,
                   argMax(product, version) AS product, argMax(channel, version) AS channel,
                   argMax(price, version) AS price, argMax(currency, version) AS currency,
                   argMax(valid_from, version) AS vf, argMax(state, version) AS st
            FROM entitlements
            {_reaching(scope, kinds, [(s, e)], "start") if narrow else ""}
            WHERE {scope} AND kind IN {kinds}
              AND valid_from < toDateTime(%({e})s)
              AND valid_from >= toDateTime(%({s})s - {LOOKBACK_S})
            GROUP BY {key}
        )
        WHERE vf >= toDateTime(%({s})s) AND st != 'revoked'
        GROUP BY city, product, channel
    """


def rides(scope: str, s: str, e: str) -> str:
    """city, hour, rides, tickets, deposits per hour of check-in: a group travelling
    together (one card, one check-in time) is one ride, each traveller a ticket (TRN-6);
    deposits are taken at check-in (TRN-1). Only check-in rows count here, and they are
    immutable (copies identical), so grouping a ride's copies by id removes them."""
    city, key = ("city", "city, ride_id") if scope == ALL_CITIES else ("any(city)", "ride_id")
    return f"""
        SELECT ride_city AS city, {plain("toStartOfHour(t)")} AS hour,
               uniqExact(card, t) AS rides, count() AS tickets, sum(deposit) AS deposits
        FROM (
            SELECT {city} AS ride_city, ride_id, max(at) AS t, any(card) AS card,
                   max(price) AS deposit
            FROM rides
            WHERE {scope} AND event = 'check_in'
              AND at >= toDateTime(%({s})s) AND at < toDateTime(%({e})s)
            GROUP BY {key}
        )
        GROUP BY city, hour
    """
