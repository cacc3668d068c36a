"""Benchmark of the analytics path (not a test): `python -m streams.analytics_sink.bench`.

1. mapping: records/s through the pure row mapping (one core, no I/O);
2. insert: rows/s of columnar inserts into ClickHouse (the writer alone);
3. sink: records and rows/s from Kafka through the whole sink into ClickHouse (produce
   first, then time the sink from start until everything is committed);
4. queries: every dashboard query's p50/p95 over a synthetic 10-million-event month
   (plus the tickets, payments, checks, outcomes and rides those events cause), for
   windows of 24 hours, 7 days and 30 days.

Uses the configured Kafka and ClickHouse (`infra.settings`), a throwaway database and a
unique topic prefix; drops the database at the end unless `--keep`. Results go to stdout
as a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psutil
from clickhouse_driver import Client
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from dashboards import queries, rollups
from dashboards.metrics import slot_seconds
from infra.clickhouse.migrations import migrate
from infra.settings import Settings
from streams.analytics_sink.batch import Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.rows import COLUMNS, Failed, Fetched, mappers
from streams.analytics_sink.writer import ClickHouseWriter
from streams.contract import Topics

END = datetime(2026, 11, 24, tzinfo=UTC)
#: Distinct drivers (plate + phone) of the sink benchmark's records: each sends an SMS, pays
#: and is checked every few minutes of the 5.5 hours the records span, so pseudonyms repeat
#: as in real traffic and the sink's pseudonym caches hit (docs/analytics.md).
PEOPLE = 9000
DAYS = 30
NIS_ZONES = ["red", "green", "extra"]
STATUSES = ["valid", "valid", "valid", "grace", "expired", "none", "not_required"]


# --- synthetic records (contract JSON) for the mapping and sink measurements ---------------


def record_stream(n: int, people: int = PEOPLE) -> list[tuple[str, bytes]]:
    """n records in the contract's JSON, mixed like a busy Niš morning, from `people`
    drivers (one plate and one phone number each; 0: every phone number distinct, the
    stream of the figures before 2026-12-02, where every SMS and payment paid an HMAC)."""
    out: list[tuple[str, bytes]] = []
    base = END - timedelta(hours=6)
    for i in range(n):
        at = (base + timedelta(seconds=i % 20000)).isoformat().replace("+00:00", "Z")
        plate = f"NI{i % 9000:04d}AB" if people == 0 else f"NI{i % people:04d}AB"
        phone = f"+38164{i:07d}" if people == 0 else f"+38164{i % people:07d}"
        kind = i % 5
        if kind == 0:
            body: dict[str, Any] = {
                "specversion": "1.0", "id": f"b-{i}", "source": "urn:bench", "time": at,
                "type": "sms.received", "city": "nis",
                "data": {"msisdn": phone, "to": "9181", "text": plate,
                         "operator": "mts"},
            }  # fmt: skip
            out.append(("raw", json.dumps(body).encode()))
        elif kind == 1:
            body = {
                "city": "nis", "subject_kind": "plate", "subject": plate, "owner": plate,
                "updated_at": at, "caused_by": f"b-{i}",
                "entitlements": [{
                    "ticket_id": f"t-{i}", "kind": "hourly", "product": "red_hourly",
                    "channel": "sms", "state": "confirmed", "valid_from": at,
                    "valid_until": at, "price": 6000, "currency": "RSD", "zone": "red",
                    "pin": f"{i:08d}", "plate": plate, "details": {},
                }],
            }  # fmt: skip
            out.append(("validity", json.dumps(body).encode()))
        elif kind == 2:
            body = {
                "id": f"b-{i}:charge", "city": "nis", "holder": phone,
                "purse": "operator", "kind": "charge", "amount": 6000, "currency": "RSD",
                "ticket_id": f"t-{i}", "zone": "red", "product": "red_hourly", "channel": "sms",
                "caused_by": f"b-{i}", "time": at,
            }  # fmt: skip
            out.append(("ledger", json.dumps(body).encode()))
        elif kind == 3:
            body = {
                "id": f"b-{i}", "city": "nis", "type": "sms.received", "owner": plate,
                "outcome": "accepted", "facts": {"zone": "red"}, "time": at,
            }  # fmt: skip
            out.append(("outcomes", json.dumps(body).encode()))
        else:
            body = {
                "check_id": f"c-{i}", "city": "nis", "officer": "w-1", "role": "warden",
                "subject_kind": "plate", "subject": plate, "zone": "red", "at": at,
                "answered_at": at, "status": "valid", "ticket_ids": [f"t-{i}"], "as_of": at,
            }  # fmt: skip
            out.append(("audit", json.dumps(body).encode()))
    return out


def bench_mapping(records: list[tuple[str, bytes]], run: int = 2000) -> tuple[float, int]:
    """records/s through the sink's mapping as the sink calls it: runs of `run` records of
    one topic partition mapped into a batch's columns (one core, no I/O)."""
    topics = Topics("")
    by_topic = mappers(topics)
    ps = Pseudonymizer(b"bench")
    by_name: dict[str, list[Fetched]] = {}
    for offset, (kind, value) in enumerate(records):
        by_name.setdefault(getattr(topics, kind), []).append(Fetched(offset, 0, value))
    runs = [
        (topic, fetched[first : first + run])
        for topic, fetched in by_name.items()
        for first in range(0, len(fetched), run)
    ]
    batcher = Batcher(max_rows=10_000_000, max_age_s=1)
    started = time.perf_counter()
    for topic, fetched in runs:
        failed: Failed = []
        by_topic[topic](fetched, 0, batcher.tables, ps, failed)
        batcher.add_run(topic, 0, fetched[-1].offset, len(fetched), 0.0)
    elapsed = time.perf_counter() - started
    return len(records) / elapsed, batcher.pending_rows


def produce_records(settings: Settings, topics: Topics, records: list[tuple[str, bytes]]) -> None:
    from streams.topology import ensure_topics

    ensure_topics(settings.kafka_bootstrap, topics, SINK_PARTITIONS)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, batch_size=512 * 1024,
        acks=1, compression_type=None,
    )  # fmt: skip
    for i, (kind, value) in enumerate(records):
        # keyed like the workers key them (the validity topic is compacted: keys required)
        producer.send(getattr(topics, kind), value, key=f"k{i % 50_000}".encode())
    producer.flush()
    producer.close()


def delete_topics(settings: Settings, topics: Topics) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.delete_topics([getattr(topics, k) for k in
                             ("raw", "deadletter", "validity", "notifications", "ledger",
                              "outcomes", "audit")])  # fmt: skip
    except Exception as exc:  # best effort: the topics carry a throwaway prefix
        print(f"could not delete the benchmark topics: {exc}")
    admin.close()


SINK_PARTITIONS = 4  # per topic: 28 partitions to share between the sink processes


def bench_sink(
    settings: Settings, database: str, topics: Topics, expected_rows: int, processes: int
) -> dict:
    """`python -m streams.analytics_sink --processes N` as a consumer group of its own over
    the produced topics: wall-clock rate from the first rows in ClickHouse to the last (the
    group's start and first batch excluded), and rows per CPU-second of the sink processes."""
    from streams.analytics_sink.processes import run_processes

    client = Client(**settings.clickhouse.client_kwargs(database=database))
    for table in COLUMNS:
        client.execute(f"TRUNCATE TABLE {table}")
    os.environ.update({
        "CLICKHOUSE_DATABASE": database, "PLATFORM_TOPIC_PREFIX": topics.prefix,
        "ANALYTICS_SINK_GROUP": f"{topics.prefix}sink{processes}-{secrets.token_hex(2)}",
        "STREAMS_PARTITIONS": str(SINK_PARTITIONS), "ANALYTICS_ROLLUP_SECONDS": "0",
        "ANALYTICS_BATCH_ROWS": "50000", "ANALYTICS_BATCH_SECONDS": "1.0",
        "ANALYTICS_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    stop = threading.Event()
    runner = threading.Thread(target=run_processes, args=(processes, stop))
    runner.start()
    me = psutil.Process()
    cpu: dict[int, float] = {}
    main_cpu: dict[int, float] = {}  # each worker's main thread: Kafka client and mapping

    def rows_in() -> int:
        rows = client.execute(
            "SELECT sum(rows) FROM system.parts WHERE database = %(d)s AND active "
            "AND table IN %(t)s", {"d": database, "t": tuple(COLUMNS)},
        )[0][0]  # fmt: skip
        for child in me.children(recursive=True):
            try:
                times = child.cpu_times()
                cpu[child.pid] = times.user + times.system
                for thread in child.threads():
                    if thread.id == child.pid:
                        main_cpu[child.pid] = thread.user_time + thread.system_time
            except psutil.Error:
                pass
        return int(rows or 0)

    first_rows, deadline = 0, time.monotonic() + 600
    while (first_rows := rows_in()) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.perf_counter()
    # CPU from here on is spent on the same rows as the wall-clock rate (no start-up)
    cpu_first, main_first = sum(cpu.values()), sum(main_cpu.values())
    while (done := rows_in()) < expected_rows and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    runner.join()
    client.disconnect()
    return {"processes": processes, "rows": done - first_rows, "seconds": elapsed,
            "cpu_s": sum(cpu.values()), "steady_cpu_s": sum(cpu.values()) - cpu_first,
            "main_cpu_s": sum(main_cpu.values()) - main_first}  # fmt: skip


# --- the 10-million-event month for the query measurements ----------------------------------


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    start = int((END - timedelta(days=DAYS)).timestamp())
    return np.sort(rng.integers(start, int(END.timestamp()), n))


def _pick(rng: np.random.Generator, options: list[str], n: int) -> list[str]:
    return [options[i] for i in rng.integers(0, len(options), n)]


def load_month(writer: ClickHouseWriter, events: int, chunk: int = 1_000_000) -> dict[str, int]:
    """Synthetic month: `events` inbound events and the records they cause."""
    rng = np.random.default_rng(7)
    counts = dict.fromkeys(COLUMNS, 0)
    cities = ["nis", "nis", "nis", "hradec", "tarnow", "mobilet", "zcs"]
    for first in range(0, events, chunk):
        n = min(chunk, events - first)
        t = _times(rng, n)
        ids = [f"e{first + i}" for i in range(n)]
        city = _pick(rng, cities, n)
        zone = _pick(rng, NIS_ZONES, n)
        plate = [f"p{x}" for x in rng.integers(0, 200_000, n)]
        offsets = list(range(first, first + n))
        tl = t.tolist()
        writer.insert_columns("events", [
            ids, city, _pick(rng, ["sms.received", "card.tap", "parking.start", "call.missed"], n),
            ["urn:bench"] * n, tl, plate, zone, [0] * n, [0] * n, offsets, tl, offsets,
        ])  # fmt: skip
        writer.insert_columns("outcomes", [
            ids, city, ["sms.received"] * n, plate,
            _pick(rng, ["accepted"] * 8 + ["refused", "duplicate"], n),
            _pick(rng, [""] * 9 + ["HKR-6"], n), [""] * n, ["{}"] * n, tl, offsets,
        ])  # fmt: skip
        counts["events"] += n
        counts["outcomes"] += n
        # 30 % of events buy a stay or ticket, with a payment; a fifth of those extended.
        m = n * 3 // 10
        sel = rng.choice(n, m, replace=False)
        st = t[sel]
        minutes = rng.integers(15, 180, m) * 60
        tid = [f"t{first + int(i)}" for i in sel]
        scity = [city[i] for i in sel]
        szone = [zone[i] for i in sel]
        splate = [plate[i] for i in sel]
        kind = ["transit_ticket" if c == "hradec" else "ride" if c == "tarnow" else
                "app_stay" if c in ("mobilet", "zcs") else "hourly" for c in scity]  # fmt: skip
        stl, end = st.tolist(), (st + minutes).tolist()
        writer.insert_columns("entitlements", [
            scity, tid, kind, ["prod"] * m, ["sms"] * m, ["confirmed"] * m, stl, end,
            [6000] * m, ["RSD"] * m, szone, splate, ["plate"] * m, splate, [None] * m, stl,
            ["x"] * m, (st * 1_000_000).tolist(),
        ])  # fmt: skip
        ext = rng.choice(m, m // 5, replace=False)
        writer.insert_columns("entitlements", [
            [scity[i] for i in ext], [tid[i] for i in ext], [kind[i] for i in ext],
            ["prod"] * len(ext), ["sms"] * len(ext), ["confirmed"] * len(ext),
            [stl[i] for i in ext], [end[i] + 1800 for i in ext], [9000] * len(ext),
            ["RSD"] * len(ext), [szone[i] for i in ext], [splate[i] for i in ext],
            ["plate"] * len(ext), [splate[i] for i in ext], [None] * len(ext),
            [end[i] for i in ext], ["x"] * len(ext), [end[i] * 1_000_000 for i in ext],
        ])  # fmt: skip
        counts["entitlements"] += m + len(ext)
        writer.insert_columns("ledger", [
            [f"{x}:charge" for x in tid], scity, splate, ["operator"] * m,
            _pick(rng, ["charge"] * 6 + ["capture", "refund", "hold", "release"], m),
            rng.integers(100, 20000, m).tolist(), ["RSD"] * m, tid, szone, ["prod"] * m,
            _pick(rng, ["sms", "app", "card", "missed_call"], m), [None] * m, tid, stl,
            list(range(m)),
        ])  # fmt: skip
        counts["ledger"] += m
        rides = [i for i, c in enumerate(scity) if c == "tarnow"]
        r = len(rides)
        rl = [stl[i] for i in rides]
        for event, at, stops in (("check_in", rl, [-1] * r),
                                 ("check_out", [end[i] for i in rides],
                                  rng.integers(1, 29, r).tolist())):  # fmt: skip
            writer.insert_columns("rides", [
                ["tarnow"] * r, [tid[i] for i in rides], [event] * r,
                [splate[i] for i in rides], ["distance_ticket"] * r, at, ["L1"] * r, [1] * r,
                stops, [600] * r, ["PLN"] * r, rl,
            ])  # fmt: skip
        counts["rides"] += 2 * r
        # one check per ten events
        k = n // 10
        csel = rng.choice(n, k, replace=False)
        ct = t[csel].tolist()
        writer.insert_columns("checks", [
            [f"c{first + int(i)}" for i in csel], [city[i] for i in csel], ["w1"] * k,
            ["warden"] * k, ["plate"] * k, [plate[i] for i in csel], [zone[i] for i in csel],
            ct, ct, _pick(rng, STATUSES, k), [[]] * k, [None] * k, list(range(k)),
        ])  # fmt: skip
        counts["checks"] += k
        print(f"  loaded {first + n:,} events", flush=True)
    return counts


QUERY_NAMES = [
    "occupancy_5m", "visits", "revenue_hourly", "revenue_by_product", "checks_by_status",
    "checks_by_officer", "tickets_by_product", "rides_hourly", "stops_distribution",
    "transit_refunds", "refusals_hourly", "events_per_minute", "outcomes_summary",
    "dead_letters", "latest_time", "cities", "sink_lag",
]  # fmt: skip
CITY_OF = {"tickets_by_product": "hradec", "rides_hourly": "tarnow",
           "stops_distribution": "tarnow", "transit_refunds": "tarnow",
           "refusals_hourly": "hradec"}  # fmt: skip


class ServerCpu:
    """ClickHouse's CPU time (user + system, from `system.query_log`) spent on the queries
    of one client: contention on the shared VM inflates it far less than wall-clock time.
    The client must have `log_queries` set; its queries are told apart by its port."""

    def __init__(self, client: Client) -> None:
        self.client = client
        mark = f"bench-{secrets.token_hex(6)}"
        client.execute("SELECT 1", query_id=mark)
        self.port = None
        for _ in range(5):  # the log is written asynchronously, even after a flush
            client.execute("SYSTEM FLUSH LOGS")
            rows = client.execute(
                "SELECT port FROM system.query_log WHERE query_id = %(q)s LIMIT 1", {"q": mark}
            )
            if rows:
                self.port = rows[0][0]
                break
            time.sleep(0.5)

    def now(self) -> datetime:
        """The server's clock (query_log times are in whole seconds): call after a pause."""
        time.sleep(1.1)
        return self.client.execute("SELECT now()")[0][0]

    def seconds(self, since: datetime, until: datetime) -> float:
        """CPU seconds of the client's queries finished in [since, until] (nan when the
        client's port could not be found)."""
        if self.port is None:
            return float("nan")
        micros = 0
        for _ in range(5):  # the log is written asynchronously, even after a flush
            time.sleep(1.1)
            self.client.execute("SYSTEM FLUSH LOGS")
            micros = self.client.execute(
                "SELECT sum(arraySum(arrayFilter((v, n) -> n IN ('UserTimeMicroseconds', "
                "'SystemTimeMicroseconds'), ProfileEvents.Values, ProfileEvents.Names))) "
                "FROM system.query_log WHERE type = 2 AND port = %(p)s "
                "AND event_time >= %(a)s AND event_time <= %(b)s",
                {"p": self.port, "a": since, "b": until},
            )[0][0]  # fmt: skip
            if micros:
                break
        return (micros or 0) / 1e6


def time_query(
    fn: Callable[[], Any], repeat: int, cpu: ServerCpu | None = None
) -> tuple[float, float, int, float]:
    """Wall-clock p50 and p95 (s), rows, and ClickHouse CPU seconds per call (nan
    without `cpu`)."""
    fn()  # warm: first read of the columns from disk
    since = cpu.now() if cpu else None
    samples = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = len(fn())
        samples.append(time.perf_counter() - started)
    per_call = float("nan")
    if cpu and since:
        per_call = cpu.seconds(since, cpu.now()) / repeat
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, rows, per_call


ROLLUP_BACKED = {"occupancy_5m", "visits", "revenue_hourly", "revenue_by_product",
                 "events_per_minute", "outcomes_summary", "tickets_by_product",
                 "rides_hourly"}  # fmt: skip
#: Also timed on windows ending mid-day: the rollup-backed ones read their edges from the
#: base tables.
MID_DAY = ROLLUP_BACKED


def bench_rollups(client: Client) -> None:
    """The rollup job over the loaded month: a first run (every day), then a run with
    nothing changed (what the sink pays every ANALYTICS_ROLLUP_SECONDS)."""
    for what in ("first run (every closed day)", "second run (nothing changed)"):
        started = time.perf_counter()
        days = rollups.refresh(client)
        print(f"rollups, {what}: {len(days)} rollup-days in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip


def bench_queries(
    client: Client, repeat: int, base_too: bool = False, only: list[str] | None = None
) -> list[tuple[str, str, float, float, int]]:
    """Every query (or those in `only`), p50/p95 and ClickHouse CPU per call; with
    `base_too`, the rollup-backed ones also without rollups."""
    results = []
    cpu = ServerCpu(client)
    # Midnight-aligned windows, then windows ending mid-day like a live page's ("7 d~"):
    # those read a partial day at each edge from the base tables.
    mid_day = timedelta(hours=9, minutes=7)
    for span_name, span, shift in (
        ("24 h", timedelta(days=1), timedelta(0)), ("7 d", timedelta(days=7), timedelta(0)),
        ("30 d", timedelta(days=30), timedelta(0)), ("24 h~", timedelta(days=1), mid_day),
        ("7 d~", timedelta(days=7), mid_day), ("30 d~", timedelta(days=30), mid_day),
    ):  # fmt: skip
        start, end = END - span - shift, END - shift
        if shift and span_name == "24 h~":
            bench_open_day(client, int(end.timestamp()), cpu)
        for name in only or QUERY_NAMES:
            if shift and name not in MID_DAY:
                continue
            variants = [(name, {})]
            if base_too and name in ROLLUP_BACKED:
                variants.append((f"{name} (base)", {"use_rollups": False}))
            for label, more in variants:
                fn = _call(name, start, end, span, client, more)
                with _open_day(rollups.day_of(int(end.timestamp())) if shift else None):
                    p50, p95, rows, cpu_s = time_query(fn, repeat, cpu)
                results.append((span_name, label, p50, p95, rows))
                print(f"  {span_name:>5} {label:<27} p50 {p50 * 1000:7.1f} ms  "
                      f"p95 {p95 * 1000:7.1f} ms  server CPU {cpu_s * 1000:6.0f} ms/call  "
                      f"({rows} rows)", flush=True)  # fmt: skip
    return results


def bench_open_day(client: Client, now_s: int, cpu: ServerCpu) -> None:
    """The rollup job as it runs at `now_s` (the "~" windows' end): it rolls up the open
    day's settled hours (`rollups.compute_open`), which the "~" windows then read, as a
    live page would. Timed twice: the run that computes them (what a run pays whenever
    today's rows changed or another hour settled: in production nearly every run), and
    a run with nothing new."""
    for what in ("open day's settled hours", "again, nothing new"):
        since = cpu.now()
        started = time.perf_counter()
        days = rollups.refresh(client, now_s=now_s)
        wall = time.perf_counter() - started
        print(f"rollups at {datetime.fromtimestamp(now_s, UTC):%Y-%m-%d %H:%M}, {what}: "
              f"{days} in {wall:.2f} s, server CPU {cpu.seconds(since, cpu.now()):.2f} s",
              flush=True)  # fmt: skip


@contextmanager
def _open_day(day: int | None) -> Iterator[None]:
    """Time a window ending mid-day as a live page sees it: its last day is today, which
    has no whole-day computation (the month's days are all closed by now, so those are
    hidden); its settled hours come from the open-day computation `bench_open_day` made."""
    if day is None:
        yield
        return
    real = rollups.computed_days

    def before_today(client: Any, rollup: rollups.Rollup, first: int, last: int) -> list[int]:
        return [d for d in real(client, rollup, first, last) if d < day]

    rollups.computed_days = before_today  # type: ignore[assignment]
    try:
        yield
    finally:
        rollups.computed_days = real  # type: ignore[assignment]


def _call(
    name: str, start: datetime, end: datetime, span: timedelta, client: Client, more: dict
) -> Callable[[], Any]:
    """The query as its page asks it (occupancy: slots widen with the window)."""
    fn = getattr(queries, name)
    city = CITY_OF.get(name, "nis")
    if name == "latest_time":
        return lambda: [fn(city, client=client)]
    if name in ("cities", "sink_lag"):
        return lambda: fn(client=client)
    if name == "occupancy_5m":
        more = {**more, "slot_s": slot_seconds(span.total_seconds())}
    return lambda: fn(city, start, end, client=client, **more)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--sink-records", type=int, default=300_000)
    parser.add_argument(
        "--people", type=int, default=PEOPLE,
        help="distinct drivers (plate + phone) of the sink's records; 0: every phone distinct",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--skip-sink", action="store_true")
    parser.add_argument("--sink-only", action="store_true", help="stop after the sink runs")
    parser.add_argument(
        "--sink-processes", type=lambda t: [int(x) for x in t.split(",")], default=[1, 2],
        help="sink runs to time, e.g. 1,2,3 (worker processes in one group)",
    )  # fmt: skip
    parser.add_argument("--reuse", help="time the queries on this already loaded database")
    parser.add_argument(
        "--load-month", metavar="DATABASE",
        help="only load the month (and run the rollup job) into this database, kept for --reuse",
    )  # fmt: skip
    parser.add_argument(
        "--only", type=lambda t: t.split(","), help="time only these queries, e.g. visits,cities"
    )  # fmt: skip
    parser.add_argument("--no-refresh", action="store_true", help="skip the rollup job")
    parser.add_argument(
        "--compare-base", action="store_true",
        help="also time the rollup-backed queries on the base tables alone (the before)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    database = args.reuse or args.load_month or f"bench_{secrets.token_hex(3)}"
    migrate(settings, database)
    # log_queries: the query timings also report ClickHouse's CPU per call (ServerCpu)
    client = Client(
        **settings.clickhouse.client_kwargs(database=database), settings={"log_queries": 1}
    )
    version = client.execute("SELECT version()")[0][0]
    writer = ClickHouseWriter(settings.clickhouse, database)
    print(f"# Analytics benchmark: ClickHouse {version}, {psutil.cpu_count()} CPUs, "
          f"{platform.python_version()}, database {database}")  # fmt: skip
    try:
        if args.reuse:
            if not args.no_refresh:
                bench_rollups(client)
            bench_queries(client, args.repeat, base_too=args.compare_base, only=args.only)
            return 0
        if args.load_month:
            started = time.perf_counter()
            counts = load_month(writer, args.events)
            print(f"loaded {counts} in {time.perf_counter() - started:.0f} s", flush=True)
            bench_rollups(client)
            return 0
        records = record_stream(args.sink_records, args.people)
        rate, rows = bench_mapping(records)
        print(f"mapping: {rate:,.0f} records/s ({rows} rows from {len(records)} records, "
              f"{args.people or 'all distinct'} drivers' plates and phones)")  # fmt: skip
        if args.people:
            rate, _ = bench_mapping(record_stream(args.sink_records, 0))
            print(f"mapping, every phone number distinct: {rate:,.0f} records/s")

        n = 500_000
        cols = [
            [f"i{i}" for i in range(n)], ["nis"] * n, ["sms.received"] * n, ["urn:b"] * n,
            list(range(1_790_000_000, 1_790_000_000 + n)), ["x" * 32] * n, ["red"] * n,
            [0] * n, [0] * n, list(range(n)), [1_790_000_000] * n, list(range(n)),
        ]  # fmt: skip
        started = time.perf_counter()
        for _ in range(2):
            writer.insert_columns("events", cols)
        insert_rate = 2 * n / (time.perf_counter() - started)
        print(f"insert: {insert_rate:,.0f} rows/s (columnar, 500k-row inserts, events table)")
        client.execute("TRUNCATE TABLE events")

        if not args.skip_sink:
            topics = Topics(f"bench{secrets.token_hex(3)}.")
            produce_records(settings, topics, records)
            try:
                for n in args.sink_processes:
                    res = bench_sink(settings, database, topics, rows, n)
                    steady = max(res["steady_cpu_s"], 1e-9)
                    print(
                        f"sink, {n} process(es): {res['rows'] / res['seconds']:,.0f} rows/s "
                        f"wall ({res['rows']:,} rows in {res['seconds']:.1f} s from the first "
                        f"insert); {res['rows'] / steady:,.0f} rows per CPU-second of the sink "
                        f"processes over the same span ({steady:.1f} CPU-s, of which main "
                        f"threads, Kafka client and mapping, {res['main_cpu_s']:.1f}); "
                        f"{res['cpu_s']:.1f} CPU-s with start-up", flush=True,
                    )  # fmt: skip
            finally:
                delete_topics(settings, topics)
            for table in COLUMNS:
                client.execute(f"TRUNCATE TABLE {table}")
            if args.sink_only:
                return 0

        started = time.perf_counter()
        counts = load_month(writer, args.events)
        load_s = time.perf_counter() - started
        total = sum(counts.values())
        print(f"loaded {counts} = {total:,} rows in {load_s:.0f} s ({total / load_s:,.0f} rows/s)")
        bench_rollups(client)
        bench_queries(client, args.repeat, base_too=args.compare_base, only=args.only)
    finally:
        writer.close()
        if not args.keep and not args.reuse and not args.load_month:
            client.execute(f"DROP DATABASE IF EXISTS {database}")
        client.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
