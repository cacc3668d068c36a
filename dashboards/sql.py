"""The de-duplicated base-table SQL behind the dashboards' long-window figures, in one place.

Each builder returns a SELECT over the analytics tables (duplicates removed with FINAL or
argMax per ticket) for a half-open window given by two parameter names, grouped by city
and the figure's dimensions, giving *partial* figures that add up across windows: counts
and sums, never averages. `scope` is the city condition: `city = %(city)s` when a
dashboard asks, `1` when `dashboards/rollups.py` fills a day for every city at once.
The dashboards (`queries.py`) and the rollup job use the same builders, which is what
keeps a rollup-backed figure equal to the base-table one.

Windows are cut at UTC day boundaries only, and every figure's unit (5/15/60-minute slot,
hour, minute, visit day) divides a day, so no unit is split between two windows.
"""

from __future__ import annotations

#: Entitlement kinds that occupy a parking space (occupancy, turnover, dwell).
PARKING_KINDS = ("hourly", "day", "app_stay")
#: The `scope` of the rollup job: every city at once.
ALL_CITIES = "1"
#: Longest stay or ticket that may reach into a window from before it (moBILET max 7 days).
LOOKBACK_S = 7 * 24 * 3600


def plain(moment: str) -> str:
    """`moment` as a DateTime without a time zone in its type. 18.16's toStartOfHour and
    toStartOfMinute return DateTime('Etc/UTC'), which clickhouse-driver turns into
    zone-aware Python datetimes one by one (~3 µs each: 0.6 s for a month of minutes);
    plain DateTime values arrive naive (UTC here) and `queries._frame` marks them UTC."""
    return f"toDateTime(toUInt32({moment}))"


def stays(scope: str, s: str, e: str) -> str:
    """One row per ticket (`stay_city`, not `city`: an alias named like a column would
    replace the column in WHERE), its latest version; `vu` ends at a revocation (NIS-9).

    For one city the tickets are grouped by id alone (a second string key costs ~15 %
    of the occupancy query); for every city, by city and id (ids of two systems may meet)."""
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
        WHERE {scope} AND kind IN %(kinds)s
          AND valid_from < toDateTime(%({e})s)
          AND valid_from >= toDateTime(%({s})s - {LOOKBACK_S})
        GROUP BY {key}
    """


def occupancy(scope: str, s: str, e: str, slot_s: int) -> str:
    """city, zone, slot, vehicles: distinct vehicles with a valid stay in each slot.

    A vehicle counts once per slot however many tickets it holds; rows whose plate
    pseudonym was cleared by retention count per ticket. Slots never straddle a day."""
    slot = int(slot_s)
    return f"""
        SELECT city, zone, toDateTime(n * {slot}) AS slot,
               uniq(if(plate = '', ticket_id, plate)) AS vehicles
        FROM (
            SELECT stay_city AS city, zone, plate, ticket_id,
                   toUInt32(greatest(vf, toDateTime(%({s})s))) AS a,
                   toUInt32(least(vu, toDateTime(%({e})s))) AS b
            FROM ({stays(scope, s, e)})
            WHERE vu > toDateTime(%({s})s) AND vu > vf
        )
        ARRAY JOIN arrayMap(
            i -> intDiv(a, {slot}) + i,
            range(toUInt32(intDiv(b - 1, {slot}) - intDiv(a, {slot}) + 1))
        ) AS n
        GROUP BY city, zone, slot
    """


def visits(scope: str, s: str, e: str) -> str:
    """city, zone, visits, dwell_s, tickets: visits started in the window (one vehicle's
    tickets in a zone on one day joined), their summed span in seconds, tickets paid."""
    return f"""
        SELECT city, zone, count() AS visits, sum(b - a) AS dwell_s, sum(n) AS tickets
        FROM (
            SELECT stay_city AS city, zone, if(plate = '', ticket_id, plate) AS vehicle,
                   toDate(vf) AS day,
                   toInt64(min(vf)) AS a, toInt64(max(vu)) AS b, count() AS n
            FROM ({stays(scope, s, e)})
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
