"""Every ClickHouse query behind the dashboards: plain functions returning DataFrames.

Each function takes the city and a half-open UTC window [start, end) and reads the
analytics tables (infra/clickhouse/migrations) with duplicates removed: FINAL for
immutable records (events, ledger, checks, outcomes, dead letters), argMax over `version`
per ticket for entitlements and rides (a stay that was extended or stopped has several
versions; the latest wins). These are the query-time rollups: occupancy per zone per 5
minutes, revenue per zone/channel/hour, checks per status per zone/hour, and so on.
For long windows, whole UTC days of occupancy, visits, revenue, events per minute,
outcomes, transit tickets sold and rides per hour come from daily rollups
(`dashboards/rollups.py`, recomputed idempotently by a job, never materialized views,
which would double-count redelivered records); partial and open days from the base
tables, with the same SQL (`dashboards/sql.py`), and of occupancy also the whole slots
of a partial day that has a computation and of the open day's settled hours (all its
base pieces in one query).

Pages wrap these functions in `st.cache_data(ttl=...)` (`dashboards/ui.py`); tests and the
benchmark call them directly. Connection settings come from `infra.settings`; each thread
has its own client (clickhouse-driver clients are not thread-safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from clickhouse_driver import Client

from dashboards import rollups, sql
from dashboards.rollups import Rollup
from dashboards.sql import PARKING_KINDS
from infra.settings import Settings

SLOT_S = 300  # occupancy resolution: 5 minutes
#: Most base-table pieces a rollup-backed query reads (the two edges, plus a day or two
#: being recomputed); with more, the window is read from the base tables alone.
MAX_PIECES = 4

_local = threading.local()


def connection() -> Client:
    """This thread's ClickHouse client for the configured database."""
    settings = Settings.from_env().clickhouse
    key = (settings.host, settings.port, settings.database)
    if getattr(_local, "key", None) != key:
        _local.client = Client(**settings.client_kwargs(), connect_timeout=3)
        _local.key = key
    return _local.client


def _ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("dashboard windows are aware datetimes (UTC)")
    return int(moment.timestamp())


def _frame(sql: str, params: dict[str, Any], client: Client | None = None) -> pd.DataFrame:
    client = client or connection()
    try:
        rows, types = client.execute(sql, params, with_column_types=True)
    except Exception:
        # A broken connection (server restarted) must not stick to this thread.
        _local.key = None
        raise
    columns = [name for name, _ in types]
    frame = pd.DataFrame(rows, columns=columns)
    for name, ch_type in types:
        if ch_type.startswith(("DateTime", "Nullable(DateTime")) and not frame.empty:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _params(city: str, start: datetime, end: datetime, **more: Any) -> dict[str, Any]:
    return {"city": city, "start": _ts(start), "end": _ts(end), **more}


# --- what data there is ----------------------------------------------------------------------


def cities(client: Client | None = None) -> list[str]:
    """Cities that have any event, payment or ticket in analytics."""
    query = """
        SELECT DISTINCT city FROM (
            SELECT DISTINCT city FROM events
            UNION ALL SELECT DISTINCT city FROM ledger
            UNION ALL SELECT DISTINCT city FROM entitlements
        ) ORDER BY city
    """
    frame = _frame(query, {}, client)
    return list(frame["city"]) if not frame.empty else []


def latest_time(city: str, client: Client | None = None) -> datetime | None:
    """Event time of the city's newest event, ledger entry or check (None when no data)."""
    query = """
        SELECT max(t) AS latest FROM (
            SELECT max(time) AS t FROM events WHERE city = %(city)s
            UNION ALL SELECT max(time) AS t FROM ledger WHERE city = %(city)s
            UNION ALL SELECT max(answered_at) AS t FROM checks WHERE city = %(city)s
        )
    """
    frame = _frame(query, {"city": city}, client)
    latest = frame["latest"].iloc[0] if not frame.empty else None
    if latest is None or pd.isna(latest) or latest.timestamp() <= 0:
        return None
    return latest.to_pydatetime()


# --- long-window figures: base tables for partial days, daily rollups for whole days -----


def _combined(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """`_parts` as one UNION ALL, for figures added up over the pieces."""
    parts, params = _parts(*args, **kwargs)
    return " UNION ALL ".join(parts), params


def _parts(
    rollup: Rollup | None,
    rolled_columns: str,
    base: Callable[..., str],
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None,
    extra: str = "",
    slot_s: int | None = None,
    narrowable: bool = False,
    **more: Any,
) -> tuple[list[str], dict[str, Any]]:
    """The SELECTs of the partial figures of [start, end) and their parameters: whole
    UTC days that have a rollup from it (`dashboards/rollups.py`), every other piece from
    the base tables. With `rollup=None` (or nothing rolled up yet) it is the plain
    base-table query. `narrowable`: `base` takes `narrow` (`sql._reaching`), set for
    pieces of up to `sql.NARROW_S`.

    With `slot_s` (a figure per slot, occupancy) the whole slots of partial days and the
    open day's settled part come from the rollup too, and `base` takes the list of base
    spans, read in one query (one look-back of stays, `sql.occupancy`)."""
    s, e = _ts(start), _ts(end)
    plan = rollups.SlotPlan((), [], [], [(s, e)])
    if rollup is not None:
        ch = client or connection()
        if slot_s:
            plan = rollups.plan_slots(ch, rollup, s, e, slot_s)
        else:
            days, gaps = rollups.plan(ch, rollup, s, e)
            plan = rollups.SlotPlan(days, [], [], gaps)
        if len(plan.base) > MAX_PIECES:  # a backfill under way: one scan beats many small ones
            plan = rollups.SlotPlan((), [], [], [(s, e)])
    params: dict[str, Any] = {"city": city, "start": s, "end": e, **more}
    parts = []
    scope = "city = %(city)s"
    spans = []
    for i, (gs, ge) in enumerate(plan.base):
        params[f"s{i}"], params[f"e{i}"] = gs, ge
        spans.append((f"s{i}", f"e{i}"))
    if slot_s and spans:
        narrow = {"narrow": sum(ge - gs for gs, ge in plan.base) <= sql.NARROW_S}
        parts.append(f"SELECT * FROM ({base(scope, spans, **narrow)})")
    elif not slot_s:
        for (gs, ge), (sp, ep) in zip(plan.base, spans, strict=True):
            narrow = {"narrow": ge - gs <= sql.NARROW_S}
            piece = base(scope, sp, ep, **(narrow if narrowable else {}))
            parts.append(f"SELECT * FROM ({piece})")
    if plan.days:
        params["days"] = plan.days
        assert rollup is not None
        parts.append(rollups.rolled_rows(rollup, rolled_columns, extra))
    for i, (first, last) in enumerate(plan.ranges):  # whole slots of a partial day
        params[f"rd{i}"], params[f"rs{i}"], params[f"re{i}"] = (rollups.day_of(first),), first, last
        assert rollup is not None
        within = f"{extra} AND slot >= toDateTime(%(rs{i})s) AND slot < toDateTime(%(re{i})s)"
        parts.append(rollups.rolled_rows(rollup, rolled_columns, within, f"rd{i}"))
    for i, (first, last, version) in enumerate(plan.settled):  # an open day's settled slots
        params[f"ov{i}"], params[f"os{i}"], params[f"oe{i}"] = version, first, last
        assert rollup is not None
        within = f"{extra} AND slot >= toDateTime(%(os{i})s) AND slot < toDateTime(%(oe{i})s)"
        parts.append(rollups.settled_rows(rollup, rolled_columns, within, f"ov{i}"))
    return parts, params


def _rollup(name: str, use: bool) -> Rollup | None:
    return rollups.ROLLUPS[name] if use else None


# --- occupancy (Curb Data Specification vocabulary: occupancy, turnover, dwell) -----------


def occupancy_5m(
    city: str,
    start: datetime,
    end: datetime,
    kinds: Sequence[str] = PARKING_KINDS,
    client: Client | None = None,
    slot_s: int = SLOT_S,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Vehicles with a valid stay per zone per 5-minute slot: columns zone, slot, vehicles.

    `slot_s` widens the slots for long windows (a vehicle then counts in every slot it
    was parked in at any moment): a month of 5-minute slots is 8 640 points per zone.

    A vehicle counts once per slot however many tickets it holds (a Niš driver's second
    hour is a second ticket); rows whose plate pseudonym was cleared by retention count per
    ticket instead. `uniq` only starts sampling beyond 65 536 distinct values, far above any zone.
    Whole days come from the daily rollup for the page's slot sizes and parking kinds.
    """
    slot = int(slot_s)
    use = use_rollups and slot in rollups.OCCUPANCY_SLOTS and tuple(kinds) == PARKING_KINDS
    parts, params = _parts(
        _rollup("occupancy", use), "zone, slot, vehicles",
        lambda scope, spans, narrow: sql.occupancy(scope, spans, slot, narrow),
        city, start, end, client, extra=f"AND slot_s = {slot}", slot_s=slot,
        kinds=tuple(kinds),
    )  # fmt: skip
    # One query per part, not one UNION ALL: 18.16 shares its threads among the parts of
    # a union, so the heavy base-table part ran on one core. No slot is in two parts, so
    # the parts' rows are the figure's rows.
    frames = [_frame(f"SELECT zone, slot, vehicles FROM ({p})", params, client) for p in parts]
    found = [f for f in frames if not f.empty]
    if not found:
        return frames[0]
    return pd.concat(found).sort_values(["slot", "zone"]).reset_index(drop=True)


def visits(
    city: str,
    start: datetime,
    end: datetime,
    kinds: Sequence[str] = PARKING_KINDS,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Per zone: visits started in the window (one vehicle's tickets in a zone on a day
    joined into one visit), their average dwell in minutes and the paid tickets."""
    use = use_rollups and tuple(kinds) == PARKING_KINDS
    inner, params = _combined(
        _rollup("visits", use), "zone, visits, dwell_s, tickets", sql.visits,
        city, start, end, client, narrowable=True, kinds=tuple(kinds),
    )  # fmt: skip
    query = f"""
        SELECT zone, sum(visits) AS visits, sum(dwell_s) / visits / 60 AS avg_dwell_minutes,
               sum(tickets) AS tickets
        FROM ({inner})
        GROUP BY zone
        ORDER BY zone
    """
    return _frame(query, params, client)


# --- revenue -------------------------------------------------------------------------------


def revenue_hourly(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Per hour, zone and channel: revenue (charge + capture - refund), refunds, releases,
    top-ups, in minor units; plus the currency."""
    inner, params = _combined(
        _rollup("revenue", use_rollups),
        "hour, zone, channel, currency, revenue, refunds, releases, topups, payments",
        sql.revenue, city, start, end, client,
    )  # fmt: skip
    query = f"""
        SELECT hour, zone, channel, any(currency) AS currency, sum(revenue) AS revenue,
               sum(refunds) AS refunds, sum(releases) AS releases, sum(topups) AS topups,
               sum(payments) AS payments
        FROM ({inner})
        GROUP BY hour, zone, channel
        ORDER BY hour, zone, channel
    """
    return _frame(query, params, client)


def revenue_by_product(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    inner, params = _combined(
        _rollup("revenue_product", use_rollups),
        "product, purse, currency, revenue, payments, refunds",
        sql.revenue_product, city, start, end, client,
    )  # fmt: skip
    query = f"""
        SELECT product, purse, any(currency) AS currency, sum(revenue) AS revenue,
               sum(payments) AS payments, sum(refunds) AS refunds
        FROM ({inner})
        GROUP BY product, purse
        ORDER BY revenue DESC, product, purse
    """
    return _frame(query, params, client)


# --- compliance (ENF-3) ----------------------------------------------------------------------


def checks_by_status(
    city: str, start: datetime, end: datetime, client: Client | None = None
) -> pd.DataFrame:
    """Officers' checks per zone, hour and answer (valid, grace, expired, none, ...)."""
    query = """
        SELECT zone, toStartOfHour(answered_at) AS hour, status, count() AS checks
        FROM checks FINAL
        WHERE city = %(city)s
          AND answered_at >= toDateTime(%(start)s) AND answered_at < toDateTime(%(end)s)
        GROUP BY zone, hour, status
        ORDER BY hour, zone, status
    """
    return _frame(query, _params(city, start, end), client)


def checks_by_officer(
    city: str, start: datetime, end: datetime, client: Client | None = None
) -> pd.DataFrame:
    query = """
        SELECT officer, role, count() AS checks,
               countIf(status IN ('expired', 'none', 'revoked')) AS violations
        FROM checks FINAL
        WHERE city = %(city)s
          AND answered_at >= toDateTime(%(start)s) AND answered_at < toDateTime(%(end)s)
        GROUP BY officer, role
        ORDER BY checks DESC
        LIMIT 50
    """
    return _frame(query, _params(city, start, end), client)


# --- transit -------------------------------------------------------------------------------


def tickets_by_product(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Transit tickets sold (by start of validity) per product and channel."""
    inner, params = _combined(
        _rollup("tickets", use_rollups), "product, channel, tickets, amount, currency",
        sql.tickets, city, start, end, client, narrowable=True,
    )  # fmt: skip
    query = f"""
        SELECT product, channel, sum(tickets) AS tickets, sum(amount) AS amount,
               any(currency) AS currency
        FROM ({inner})
        GROUP BY product, channel
        ORDER BY tickets DESC, product, channel
    """
    return _frame(query, params, client)


def _rides_sql() -> str:
    """One row per ride ticket: check-in time, card, deposit and the stops travelled (-1
    without a check-out). Check-outs come after their check-in, so they are read up to a
    day past the window. Both row kinds are immutable: max/any need no FINAL."""
    return """
        SELECT ride_id,
               maxIf(at, event = 'check_in') AS t,
               anyIf(card, event = 'check_in') AS card,
               maxIf(price, event = 'check_in') AS deposit,
               if(countIf(event = 'check_out') > 0, maxIf(stops, event = 'check_out'), -1)
                   AS stops
        FROM rides
        WHERE city = %(city)s
          AND at >= toDateTime(%(start)s) AND at < toDateTime(%(end)s + 86400)
        GROUP BY ride_id
        HAVING t >= toDateTime(%(start)s) AND t < toDateTime(%(end)s)
    """


def rides_hourly(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Per hour of check-in: rides (a group travelling together is one ride), tickets
    (one per traveller, TRN-6) and the deposits taken at check-in (TRN-1)."""
    inner, params = _combined(
        _rollup("rides", use_rollups), "hour, rides, tickets, deposits", sql.rides,
        city, start, end, client,
    )  # fmt: skip
    query = f"""
        SELECT hour, sum(rides) AS rides, sum(tickets) AS tickets, sum(deposits) AS deposits
        FROM ({inner})
        GROUP BY hour ORDER BY hour
    """
    return _frame(query, params, client)


def stops_distribution(
    city: str, start: datetime, end: datetime, client: Client | None = None
) -> pd.DataFrame:
    """Ride tickets per number of stops travelled (-1: no check-out, so no refund, TRN-2)."""
    query = f"""
        SELECT stops, count() AS tickets FROM ({_rides_sql()})
        GROUP BY stops ORDER BY stops
    """
    return _frame(query, _params(city, start, end), client)


def transit_refunds(
    city: str, start: datetime, end: datetime, client: Client | None = None
) -> pd.DataFrame:
    """Refunds to transit purses (check-out refunds TRN-2, complaint refunds TRN-9).

    Copies are removed by grouping the few matching rows on the sorting key instead of
    FINAL, which on 18.16 merges every row of every day of the window first (ledger
    records are immutable: all copies of one are identical)."""
    query = """
        SELECT toStartOfHour(time) AS hour, p AS purse, count() AS refunds, sum(a) AS amount,
               any(c) AS currency
        FROM (
            SELECT time, id, any(purse) AS p, any(amount) AS a, any(currency) AS c
            FROM ledger
            WHERE city = %(city)s AND kind = 'refund' AND purse IN ('t_purse', 'e_purse')
              AND time >= toDateTime(%(start)s) AND time < toDateTime(%(end)s)
            GROUP BY time, id
        )
        GROUP BY hour, purse ORDER BY hour, purse
    """
    return _frame(query, _params(city, start, end), client)


def refusals_hourly(
    city: str,
    start: datetime,
    end: datetime,
    rule: str = "HKR-6",
    client: Client | None = None,
) -> pd.DataFrame:
    """Refused orders per hour under one rule (default HKR-6, the 1+4 limit). Copies are
    removed by grouping the matching rows on the sorting key (see transit_refunds)."""
    query = """
        SELECT toStartOfHour(time) AS hour, count() AS refusals
        FROM (
            SELECT time, id FROM outcomes
            WHERE city = %(city)s AND outcome = 'refused' AND rule = %(rule)s
              AND time >= toDateTime(%(start)s) AND time < toDateTime(%(end)s)
            GROUP BY time, id
        )
        GROUP BY hour ORDER BY hour
    """
    return _frame(query, _params(city, start, end, rule=rule), client)


# --- operations ----------------------------------------------------------------------------


def events_per_minute(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    """Inbound events per minute of event time and type (events/s = events / 60)."""
    inner, params = _combined(
        _rollup("events", use_rollups), "minute, type, events", sql.events_minute,
        city, start, end, client,
    )  # fmt: skip
    query = f"""
        SELECT minute, type, sum(events) AS events FROM ({inner})
        GROUP BY minute, type ORDER BY minute, type
    """
    return _frame(query, params, client)


def outcomes_summary(
    city: str,
    start: datetime,
    end: datetime,
    client: Client | None = None,
    use_rollups: bool = True,
) -> pd.DataFrame:
    inner, params = _combined(
        _rollup("outcomes", use_rollups), "type, outcome, rule, events", sql.outcomes,
        city, start, end, client,
    )  # fmt: skip
    query = f"""
        SELECT type, outcome, rule, sum(events) AS events FROM ({inner})
        GROUP BY type, outcome, rule ORDER BY events DESC, type, outcome, rule
    """
    return _frame(query, params, client)


def dead_letters(
    city: str, start: datetime, end: datetime, client: Client | None = None
) -> pd.DataFrame:
    """Latest dead letters of the city (or of no readable city) in the window."""
    query = """
        SELECT received_at, type, reason, source_topic, event_id
        FROM dead_letters FINAL
        WHERE (city = %(city)s OR city = '')
          AND received_at >= toDateTime(%(start)s) AND received_at < toDateTime(%(end)s)
        ORDER BY received_at DESC
        LIMIT 200
    """
    return _frame(query, _params(city, start, end), client)


def sink_lag(client: Client | None = None) -> pd.DataFrame:
    """Per topic: records in Kafka the sink has not committed yet, and when it last did."""
    query = """
        SELECT topic, sum(end_offset - least(end_offset, committed_offset)) AS lag,
               sum(committed_offset) AS committed, max(at) AS last_commit
        FROM sink_progress FINAL
        GROUP BY topic ORDER BY topic
    """
    return _frame(query, {}, client)
