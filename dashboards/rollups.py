"""Daily rollups of the dashboards' long-window figures: what they hold, how a closed day is
(re)computed, and which part of a window a query may read from them.

Why not materialized views: a view adds every inserted block, so a redelivered batch
would count twice, and a stay extended later would need earlier slots taken back. Here a
job (`refresh`, run by the sink every `ANALYTICS_ROLLUP_SECONDS`, or
`python -m dashboards.rollups`) recomputes a closed UTC day from the de-duplicated base
tables with the very SQL the dashboards run (`dashboards/sql.py`), for every city at
once, and inserts it under a fresh version; then it records that version in `rollup_days`.
A query reads a day from a rollup only at the version `rollup_days` names, so:

- redelivered records collapse in the base tables before the job reads them;
- records that arrive late for a closed day change the day's `source` digest (row counts
  of the base rows it depends on), and the next run recomputes the day; until then the
  dashboards show the day as it was computed (at most one job interval old);
- a day's old and new computations never mix, and a retried insert of one collapses.

Windows are split by `split_window`: whole UTC days that have a rollup come from it, the
rest (the open day, partial days at the edges, days not computed yet) from the base
tables. `plan` is the only I/O on the read path (one small query on `rollup_days`).

Occupancy also rolls up the open day (`compute_open`): its slots up to the last whole
hour that ended `SETTLE_S` ago, for every city, recomputed by the same job whenever the
rows they depend on changed (a digest like a closed day's, with the open day's rows
counted only up to that hour) or another hour settled — in production nearly every run,
since stays are extended and records arrive late all day. Each computation is a
partition of `occupancy_open`, named in `rollup_open`; superseded ones are dropped
(`drop_superseded_open`). `split_slots` / `plan_slots` read a window's whole slots of
edge days and of the open day's settled part from the rollups, so a live page reads the
base tables only for the cut slot at its start and the unsettled last part (< 75 min).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from dashboards import sql

DAY_S = 86400
#: Occupancy slot sizes kept per day: the Occupancy page's 5, 15 and 60 minutes.
OCCUPANCY_SLOTS = (300, 900, 3600)
#: A day is closed (rolled up) once it ended this long ago: late records keep arriving
#: for a while, and each arrival in a closed day costs a recomputation.
SETTLE_S = 900
#: Days further back are not rolled up (a record with a broken time would otherwise make
#: the job walk back to 1970); dashboards offer 30 days.
HORIZON_DAYS = 400
#: A superseded open-day computation is dropped only once it is this old: a reader that
#: planned with it a moment before may still be reading it.
OPEN_GRACE_S = 600

log = logging.getLogger(__name__)


class Executor(Protocol):
    """What the job needs from a ClickHouse client (clickhouse_driver.Client, the writer)."""

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Rollup:
    """One rollup table: its name in `rollup_days`, its columns after (city, day), the
    base rows a day depends on, and the SELECT that computes a window's partial figures."""

    name: str
    table: str
    columns: tuple[str, ...]
    source: str  # base table whose row counts per day decide when to recompute
    source_time: str
    lookback_days: int  # earlier days whose rows also feed a day (stays reaching into it)
    select: Callable[[str, str, str], str]  # (scope, start param, end param) -> SQL
    #: Table of the open day's settled part (`compute_open`), for a figure per slot that
    #: adds up over any slot-aligned pieces of a day; "" for none. Not visits: a visit
    #: joins one vehicle's tickets over a whole day, so a day's visits are not the sum of
    #: its parts'.
    open_table: str = ""

    @property
    def table_columns(self) -> str:
        return ", ".join(("city", "day", *self.columns, "version"))


def _occupancy_all_slots(scope: str, s: str, e: str) -> str:
    return " UNION ALL ".join(
        f"SELECT city, toUInt32({slot}) AS slot_s, zone, slot, vehicles "
        f"FROM ({sql.occupancy(scope, [(s, e)], slot)})"
        for slot in OCCUPANCY_SLOTS
    )


ROLLUPS: dict[str, Rollup] = {
    r.name: r
    for r in (
        Rollup(
            "occupancy", "occupancy_rollup", ("slot_s", "zone", "slot", "vehicles"),
            "entitlements", "valid_from", 7, _occupancy_all_slots, "occupancy_open",
        ),
        Rollup(
            "visits", "visits_rollup", ("zone", "visits", "dwell_s", "tickets"),
            "entitlements", "valid_from", 7, sql.visits,
        ),
        Rollup(
            "revenue", "revenue_rollup",
            ("hour", "zone", "channel", "currency", "revenue", "refunds", "releases",
             "topups", "payments"),
            "ledger", "time", 0, sql.revenue,
        ),
        Rollup(
            "revenue_product", "revenue_product_rollup",
            ("product", "purse", "currency", "revenue", "payments", "refunds"),
            "ledger", "time", 0, sql.revenue_product,
        ),
        Rollup(
            "events", "events_rollup", ("minute", "type", "events"),
            "events", "time", 0, sql.events_minute,
        ),
        Rollup(
            "outcomes", "outcomes_rollup", ("type", "outcome", "rule", "events"),
            "outcomes", "time", 0, sql.outcomes,
        ),
        Rollup(
            "tickets", "tickets_rollup",
            ("product", "channel", "tickets", "amount", "currency"),
            "entitlements", "valid_from", 7, sql.tickets,
        ),
        Rollup(
            "rides", "rides_rollup", ("hour", "rides", "tickets", "deposits"),
            "rides", "at", 0, sql.rides,
        ),
    )
}  # fmt: skip


# --- pure decisions ----------------------------------------------------------------------


def day_of(epoch_s: int) -> int:
    """UTC day number (days since 1970-01-01) of a moment."""
    return epoch_s // DAY_S


def split_window(
    start_s: int, end_s: int, covered: Iterable[int]
) -> tuple[tuple[int, ...], list[tuple[int, int]]]:
    """(days read from the rollup, [start, end) pieces read from the base tables).

    A day comes from the rollup only when it lies wholly inside [start_s, end_s) and has
    a computation; everything else of the window is returned as contiguous pieces."""
    first = -(-start_s // DAY_S)  # first whole day starting at or after start
    last = end_s // DAY_S  # days before this end at or before end
    have = set(covered)
    days = tuple(d for d in range(first, last) if d in have)
    gaps: list[tuple[int, int]] = []
    cursor = start_s
    for d in days:
        if d * DAY_S > cursor:
            gaps.append((cursor, d * DAY_S))
        cursor = (d + 1) * DAY_S
    if cursor < end_s:
        gaps.append((cursor, end_s))
    return days, gaps


class SlotPlan(NamedTuple):
    """Where each part of a window of a figure per slot (occupancy) is read from."""

    days: tuple[int, ...]  # whole days, from their whole-day computation
    ranges: list[tuple[int, int]]  # slot-aligned [from, to) of partial days, likewise
    settled: list[tuple[int, int, int]]  # [from, to, version) of open days' settled parts
    base: list[tuple[int, int]]  # the rest, from the base tables (one query)


def split_slots(
    start_s: int,
    end_s: int,
    covered: Iterable[int],
    slot_s: int,
    settled: Mapping[int, tuple[int, int]] | None = None,
) -> SlotPlan:
    """`split_window` for a figure per slot (occupancy).

    A day's rollup holds each of its slots for the whole slot, so the slots lying wholly
    inside a partial edge day with a computation come from it too; of a day without one
    but with an open-day computation (`settled`: day -> (through, version)), the slots
    before `through`. Only the cut slot at the window's start or end (under one slot
    long) and the open day's unsettled end are left to the base tables. Slots divide a
    day and `through` is a whole hour, so no slot is in two pieces. The base pieces are
    read in one query (`sql.occupancy` over spans), which pays the 7-day look-back of
    stays once however many pieces there are."""
    days, gaps = split_window(start_s, end_s, covered)
    have = set(covered)
    opened = settled or {}
    ranges: list[tuple[int, int]] = []
    settled_ranges: list[tuple[int, int, int]] = []
    rest: list[tuple[int, int]] = []

    def base(a: int, b: int) -> None:
        if rest and rest[-1][1] == a:  # one span, not two, for adjacent base spans
            rest[-1] = (rest[-1][0], b)
        else:
            rest.append((a, b))

    for gap_start, gap_end in gaps:
        cursor = gap_start
        while cursor < gap_end:
            day = day_of(cursor)
            piece_end = min(gap_end, (day + 1) * DAY_S)
            version = None
            if day in have:
                known = (day + 1) * DAY_S
            elif day in opened:
                known, version = opened[day]
            else:
                known = day * DAY_S
            first = -(-cursor // slot_s) * slot_s
            last = min(piece_end, known) // slot_s * slot_s
            if first < last:
                if cursor < first:
                    base(cursor, first)
                if version is None:
                    ranges.append((first, last))
                else:
                    settled_ranges.append((first, last, version))
                if last < piece_end:
                    base(last, piece_end)
            else:
                base(cursor, piece_end)
            cursor = piece_end
    return SlotPlan(days, ranges, settled_ranges, rest)


def closed_days(
    days_with_rows: Iterable[int],
    now_s: int,
    settle_s: int = SETTLE_S,
    horizon_days: int = HORIZON_DAYS,
) -> range:
    """Days to keep rolled up: from the first day with rows (at most `horizon_days` back)
    to the last closed day."""
    last = day_of(now_s - settle_s)
    present = [d for d in days_with_rows if d >= last - horizon_days]
    if not present:
        return range(0)
    return range(min(present), last)


def open_through(now_s: int, settle_s: int = SETTLE_S) -> tuple[int, int] | None:
    """(open day, end of its settled part): the day after the last closed one, rolled up
    to the last whole hour that ended `settle_s` ago (late records keep arriving for a
    while); None while not one hour of it has settled."""
    settled = now_s - settle_s
    day, through = day_of(settled), settled // 3600 * 3600
    return (day, through) if through > day * DAY_S else None


def source_digest(counts: Mapping[int, int], day: int, lookback_days: int) -> str:
    """Digest of the base row counts of `day` and the days before it that feed it."""
    text = ",".join(f"{d}:{counts.get(d, 0)}" for d in range(day - lookback_days, day + 1))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def open_digest(
    counts: Mapping[int, int], day: int, lookback_days: int, through_s: int, settled_rows: int
) -> str:
    """Digest of what the open day's settled part depends on: the row counts of the days
    before it that feed it, the rows of the day starting before `through_s` (a late record
    for a settled hour, a stay extended or revoked: each is a new row), and `through_s`."""
    return f"{source_digest({**counts, day: settled_rows}, day, lookback_days)}@{through_s}"


def day_text(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


# --- read path ---------------------------------------------------------------------------


def plan(
    client: Executor, rollup: Rollup, start_s: int, end_s: int
) -> tuple[tuple[int, ...], list[tuple[int, int]]]:
    """`split_window` against the days `rollup_days` says are computed."""
    first, last = -(-start_s // DAY_S), end_s // DAY_S
    if first >= last:
        return (), [(start_s, end_s)]
    return split_window(start_s, end_s, computed_days(client, rollup, first, last))


def plan_slots(client: Executor, rollup: Rollup, start_s: int, end_s: int, slot_s: int) -> SlotPlan:
    """`split_slots` against the days `rollup_days` says are computed, edge days included,
    and the open days' settled parts `rollup_open` names."""
    first, last = day_of(start_s), -(-end_s // DAY_S)
    days = computed_days(client, rollup, first, last)
    opened = settled_days(client, rollup, first, last) if rollup.open_table else {}
    return split_slots(start_s, end_s, days, slot_s, opened)


def computed_days(client: Executor, rollup: Rollup, first: int, last: int) -> list[int]:
    """Days in [first, last) that have a computation of `rollup`."""
    rows = client.execute(
        "SELECT DISTINCT toUInt32(day) FROM rollup_days "
        "WHERE rollup = %(r)s AND day >= toDate(%(a)s) AND day < toDate(%(b)s)",
        {"r": rollup.name, "a": day_text(first), "b": day_text(last)},
    )
    return [int(r[0]) for r in rows]


def settled_days(
    client: Executor, rollup: Rollup, first: int, last: int
) -> dict[int, tuple[int, int]]:
    """Days in [first, last) with an open-day computation of `rollup`: day -> (through,
    version). A day whose rows were dropped (`through` at its start) has none."""
    rows = client.execute(
        "SELECT toUInt32(day), toUInt32(through), version FROM rollup_open FINAL "
        "WHERE rollup = %(r)s AND day >= toDate(%(a)s) AND day < toDate(%(b)s)",
        {"r": rollup.name, "a": day_text(first), "b": day_text(last)},
    )
    return {int(d): (int(t), int(v)) for d, t, v in rows if int(t) > int(d) * DAY_S}


def settled_rows(rollup: Rollup, columns: str, extra: str, version: str) -> str:
    """SELECT of a city's rows of the open-day computation in the parameter `version`
    (its own partition); `extra` narrows further (slot size, range of slots)."""
    return f"""
        SELECT city, {columns} FROM {rollup.open_table} FINAL
        WHERE city = %(city)s AND version = %({version})s {extra}
    """


def rolled_rows(rollup: Rollup, columns: str, extra: str = "", days: str = "days") -> str:
    """SELECT of a city's rows of `rollup` for the days in the parameter `days` (a tuple
    of day numbers), each at its current computation. `extra` narrows further (the
    occupancy slot size, a range of slots)."""
    return f"""
        SELECT city, {columns} FROM {rollup.table} FINAL
        WHERE city = %(city)s {extra}
          AND (day, version) IN (
              SELECT day, version FROM rollup_days FINAL
              WHERE rollup = '{rollup.name}' AND toUInt32(day) IN %({days})s)
    """


# --- the job -----------------------------------------------------------------------------


class _Versions:
    """Unique, increasing computation versions (microseconds) within one process."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


_versions = _Versions()


def _counts(client: Executor, rollup: Rollup) -> dict[int, int]:
    rows = client.execute(
        f"SELECT intDiv(toUInt32({rollup.source_time}), {DAY_S}) AS d, count() "
        f"FROM {rollup.source} GROUP BY d"
    )
    return {int(d): int(n) for d, n in rows}


def compute_day(client: Executor, rollup: Rollup, day: int, source: str) -> int:
    """(Re)compute one day of one rollup for every city; returns the new version."""
    version = _versions.next()
    params = {"s0": day * DAY_S, "e0": (day + 1) * DAY_S, "kinds": sql.PARKING_KINDS}
    cols = ", ".join(rollup.columns)
    client.execute(
        f"INSERT INTO {rollup.table} ({rollup.table_columns}) "
        f"SELECT city, toDate('{day_text(day)}'), {cols}, toUInt64({version}) "
        f"FROM ({rollup.select(sql.ALL_CITIES, 's0', 'e0')})",
        params,
    )
    # Only now does the day point at the new rows: readers never see half a computation.
    client.execute(
        "INSERT INTO rollup_days (rollup, day, source, computed_at, version) VALUES",
        [(rollup.name, date(1970, 1, 1) + timedelta(days=day), source,
          datetime.now(UTC).replace(tzinfo=None, microsecond=0), version)],
    )  # fmt: skip
    return version


def compute_open(client: Executor, rollup: Rollup, day: int, through_s: int, source: str) -> int:
    """(Re)compute the settled part [day, through) of an open day of one rollup for every
    city, in a partition of its own; returns the new version."""
    version = _versions.next()
    params = {"s0": day * DAY_S, "e0": through_s, "kinds": sql.PARKING_KINDS}
    cols = ", ".join(rollup.columns)
    client.execute(
        f"INSERT INTO {rollup.open_table} ({rollup.table_columns}) "
        f"SELECT city, toDate('{day_text(day)}'), {cols}, toUInt64({version}) "
        f"FROM ({rollup.select(sql.ALL_CITIES, 's0', 'e0')})",
        params,
    )
    _record_open(client, rollup, day, through_s, source, version)
    return version


def _record_open(
    client: Executor, rollup: Rollup, day: int, through_s: int, source: str, version: int
) -> None:
    client.execute(
        "INSERT INTO rollup_open (rollup, day, through, source, computed_at, version) VALUES",
        [(rollup.name, date(1970, 1, 1) + timedelta(days=day),
          datetime.fromtimestamp(through_s, UTC).replace(tzinfo=None), source,
          datetime.now(UTC).replace(tzinfo=None, microsecond=0), version)],
    )  # fmt: skip


def drop_superseded_open(
    client: Executor, rollup: Rollup, grace_s: float = OPEN_GRACE_S, open_day: int | None = None
) -> list[int]:
    """Drop the partitions (computations) of `rollup.open_table` that no reader needs:
    superseded ones, unregistered ones (a failed run's), and those of days whose whole-day
    computation, which readers prefer, was recorded at least `grace_s` ago (their
    `rollup_open` row is first marked dropped). Only computations older than `grace_s`,
    and a superseded one only in a run after the one that superseded it (this runs before
    the open day is recomputed): a reader that planned with one a moment ago may still
    be reading it. `open_day`, the day the job is rolling up, keeps its computation
    whatever `rollup_days` says (it has a whole-day computation only when replayed, as
    the benchmark does, or from a job whose clock runs ahead). Returns the days marked
    dropped."""
    oldest = time.time_ns() // 1000 - int(grace_s * 1e6)
    whole = {
        int(d)
        for d, first in client.execute(
            "SELECT toUInt32(day), toUInt32(min(computed_at)) FROM rollup_days "
            "WHERE rollup = %(r)s GROUP BY day",
            {"r": rollup.name},
        )
        if int(first) * 1_000_000 <= oldest and int(d) != open_day
    }
    current = client.execute(
        "SELECT toUInt32(day), version, source FROM rollup_open FINAL WHERE rollup = %(r)s",
        {"r": rollup.name},
    )
    marked = sorted(int(d) for d, _, source in current if int(d) in whole and source)
    for day in marked:  # before its rows go: no reader is pointed at a dropped partition
        _record_open(client, rollup, day, day * DAY_S, "", _versions.next())
    keep = {int(v) for d, v, _ in current if int(d) not in whole}
    parts = client.execute(
        "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() "
        "AND table = %(t)s AND active",
        {"t": rollup.open_table},
    )
    for (partition,) in parts:
        version = int(partition)
        if version not in keep and version < oldest:
            client.execute(f"ALTER TABLE {rollup.open_table} DROP PARTITION {version}")
    return marked


def _settled_count(client: Executor, rollup: Rollup, day: int, through_s: int) -> int:
    return int(
        client.execute(
            f"SELECT count() FROM {rollup.source} WHERE {rollup.source_time} >= "
            f"toDateTime(%(a)s) AND {rollup.source_time} < toDateTime(%(b)s)",
            {"a": day * DAY_S, "b": through_s},
        )[0][0]
    )


def _refresh_open(
    client: Executor, rollup: Rollup, counts: Mapping[int, int], now_s: int, settle_s: int
) -> int | None:
    """Recompute the open day's settled part if what it depends on changed (or another
    hour settled); the open day, or None when nothing was computed."""
    open_day = open_through(now_s, settle_s)
    marked = drop_superseded_open(client, rollup, open_day=open_day[0] if open_day else None)
    if open_day is None:
        return None
    day, through = open_day
    rows = client.execute(
        "SELECT source FROM rollup_open FINAL WHERE rollup = %(r)s AND day = toDate(%(d)s)",
        {"r": rollup.name, "d": day_text(day)},
    )
    done = str(rows[0][0]) if rows and day not in marked else ""
    settled = _settled_count(client, rollup, day, through)
    digest = open_digest(counts, day, rollup.lookback_days, through, settled)
    if done == digest:
        return None
    compute_open(client, rollup, day, through, digest)
    return day


def refresh(
    client: Executor,
    now_s: int | None = None,
    settle_s: int = SETTLE_S,
    names: Iterable[str] | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> list[tuple[str, int]]:
    """Recompute every closed day whose base rows changed since its last computation, and
    the open day's settled part (rollups with an `open_table`) likewise. Idempotent: a
    second run with no new records and no newly settled hour computes nothing. Returns
    (rollup, day) of each computation, the open day's included."""
    now = int(time.time()) if now_s is None else now_s
    done = {
        (str(r), int(d)): str(src)
        for r, d, src in client.execute(
            "SELECT rollup, toUInt32(day), source FROM rollup_days FINAL"
        )
    }
    computed: list[tuple[str, int]] = []
    counts_of: dict[tuple[str, str], dict[int, int]] = {}
    for name in names or ROLLUPS:
        rollup = ROLLUPS[name]
        key = (rollup.source, rollup.source_time)
        if key not in counts_of:
            counts_of[key] = _counts(client, rollup)
        counts = counts_of[key]
        for day in closed_days(counts, now, settle_s):
            if stopping():
                return computed
            digest = source_digest(counts, day, rollup.lookback_days)
            if done.get((name, day)) == digest:
                continue
            compute_day(client, rollup, day, digest)
            computed.append((name, day))
        if rollup.open_table and not stopping():
            opened = _refresh_open(client, rollup, counts, now, settle_s)
            if opened is not None:
                computed.append((name, opened))
    if computed:
        log.info("rollups recomputed %d days", len(computed))
    return computed


def main(argv: list[str] | None = None) -> int:
    """`python -m dashboards.rollups [--every SECONDS]`: refresh once, or forever."""
    from clickhouse_driver import Client

    from infra.clickhouse.migrations import migrate
    from infra.settings import Settings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")
    parser.add_argument("--database", help="default: CLICKHOUSE_DATABASE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    database = args.database or settings.clickhouse.database
    migrate(settings, database)
    client = Client(**settings.clickhouse.client_kwargs(database=database))
    try:
        while True:
            started = time.monotonic()
            days = refresh(client)
            log.info("refreshed %d rollup days in %.1f s", len(days), time.monotonic() - started)
            if not args.every:
                return 0
            time.sleep(args.every)
    finally:
        client.disconnect()


if __name__ == "__main__":
    raise SystemExit(main())
