"""One load-test run: traffic into a sink, measurements alongside, a report at the end.

`run_load(options)` wires the pieces: the traffic model (traffic.py), a sink (sinks.py),
the driver (driver.py), the sampler with lag, process and freshness probes (measure.py),
officer traffic from hey processes at a constant rate (hey.py) or Locust subprocesses
(officers.py), and writes the report (report.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loadtest.driver import DriveState, RateSchedule, drive, send_injected
from loadtest.measure import (
    FreshnessProbe,
    LagProbe,
    OutcomeWatch,
    ProcessWatch,
    Sampler,
    api_visibility,
    discover_pids,
)
from loadtest.operator import OperatorDesk
from loadtest.report import build_report, results_folder, summary_table, write_report
from loadtest.scenario import Scenario
from loadtest.sinks import ApiSink, KafkaSink, Sink
from loadtest.tokens import issue_tokens
from loadtest.traffic import Traffic, scale_for_rate, with_ticks
from streams.contract import Topics


@dataclass
class RunOptions:
    scenario: Scenario
    target: str = "kafka"  # kafka | api
    rate: float | None = None  # events/s; None: the scenario's
    duration_s: float | None = None
    ramp_s: float | None = None
    clock: str | None = None  # replay | wall; None: the scenario's
    seed: int | None = None
    start: datetime | None = None  # replay: simulated start; None: the scenario's
    cities: list[str] | None = None
    bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    partitions: int = 8
    worker_group: str | None = "platform-worker"  # None: no lag measurement
    api_url: str | None = None
    ingest_token: str | None = None
    warden_token: str | None = None
    api_batch: int = 100
    officers_rate: float = 0.0
    officers_hit_share: float | None = None
    officer_processes: int | None = None  # None: hey 10 (one URL each), Locust one per ~700/s
    officer_tool: str = "hey"  # hey (constant rate) | locust (simulated wardens)
    hey_worker_rate: float | None = None  # checks/s per hey worker; None: hey.PER_WORKER_RATE
    freshness: str = "auto"  # auto | api | outcomes | off
    drain_s: float = 0.0  # after sending, wait up to this long for the worker to catch up
    linger_ms: int = 20
    max_events: int | None = None
    id_prefix: str | None = None
    out_base: Path = Path("results")
    progress: bool = True
    pids: dict[str, int] = field(default_factory=dict)
    verify_outcomes: bool = False
    operator: bool = True  # answer Niš SMS sales with operator verdicts (NIS-9)


class Progress(threading.Thread):
    """A one-line progress bar on stderr, redrawn twice a second."""

    def __init__(self, state: DriveState, duration_s: float, lag: dict[str, float]) -> None:
        super().__init__(name="loadtest-progress", daemon=True)
        self.state = state
        self.duration_s = duration_s
        self.lag = lag
        self.stopping = threading.Event()

    def line(self) -> str:
        elapsed = self.state.elapsed()
        frac = min(1.0, elapsed / self.duration_s) if self.duration_s else 0.0
        bar = "#" * int(frac * 30)
        rate = self.state.sent / elapsed if elapsed > 0 else 0.0
        when = self.state.event_time.strftime("%a %H:%M") if self.state.event_time else "-"
        lag = self.lag.get("lag")
        lag_text = f" lag {int(lag)}" if lag is not None else ""
        return (
            f"\r[{bar:<30}] {frac * 100:5.1f}% {elapsed:6.1f}s sent {self.state.sent} "
            f"({rate:,.0f}/s) event time {when}{lag_text}   "
        )

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            sys.stderr.write(self.line())
            sys.stderr.flush()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=2)
        sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()


def count_outcomes(
    bootstrap: str, topic: str, id_prefix: str, expected: int, timeout_s: float
) -> int:
    """How many outcome records carry ids of this run (every event gets exactly one)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        client_id="loadtest-verify",
    )
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(seen) < expected:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        ident = json.loads(record.value).get("id")
                        if isinstance(ident, str) and ident.startswith(f"{id_prefix}-"):
                            seen.add(ident)
    finally:
        consumer.close()
    return len(seen)


def _officers_hit_share(opts: RunOptions) -> float:
    if opts.officers_hit_share is not None:
        return opts.officers_hit_share
    return float(opts.scenario.officers.get("hit_share", 0.7))


def _prime_hits(
    opts: RunOptions, sink: Sink, state: DriveState, count: int, moment: datetime, run_tag: str
) -> tuple[list[str], dict[str, Any]]:
    """Plates paid from `moment` on, for the hey processes' hits: `count` marker purchases
    in the freshness city (the freshness probe's SMS), sent through the run's sink before
    the run and waited for until the API knows each (the probe's visibility). hey asks one
    fixed URL per process, so a regular's plate would be judged without a stay at the
    run's start; these plates are paid, as a hit should be (`valid` inside charging
    hours; before they begin a Niš stay starts later and the answer is `not_required`)."""
    assert opts.api_url is not None
    cfg = opts.scenario.freshness
    probe = FreshnessProbe(
        city=str(cfg.get("city", "nis")),
        short_code=str(cfg.get("short_code", "9182")),
        visible=api_visibility(opts.api_url, opts.warden_token or issue_tokens("warden", 1)[0]),
        timeout_s=float(cfg.get("timeout_s", 30)),
        run_tag=f"H{run_tag}",
    )
    markers = [probe.marker(moment) for _ in range(count)]
    sent_at = time.monotonic()
    for event in markers:
        sink.send(event)
    sink.flush(10.0)
    state.markers += len(markers)
    seen = [probe.wait_visible(event, sent_at) for event in markers]
    visible = sum(1 for sample in seen if sample is not None and sample.visible_s is not None)
    info = {
        "city": probe.city,
        "plates": len(markers),
        "visible": visible,
        "wait_s": round(time.monotonic() - sent_at, 2),
    }
    return [event.data.text for event in markers], info  # type: ignore[attr-defined]


def _start_hey_officers(
    opts: RunOptions,
    duration_s: float,
    folder: Path,
    at: datetime | None,
    hey: str,
    hits: tuple[str, list[str]] | None,
) -> list[Any]:
    """hey processes at the target rate, one plate URL each (hey.py), asking about `at`;
    the hits ask about `hits` (city, plates) when given, else about regulars' plates."""
    if opts.officers_rate <= 0:
        return []
    if not opts.api_url:
        raise ValueError("officer traffic needs --api URL")
    from loadtest.hey import PER_WORKER_RATE, PROCESSES, plan_targets, start_hey
    from loadtest.officers import officer_plates

    sc = opts.scenario
    cities = [c for c in sc.officers.get("cities", ["nis"]) if c in sc.cities]
    targets = plan_targets(
        opts.officers_rate,
        _officers_hit_share(opts),
        {hits[0]: hits[1]} if hits else officer_plates(sc, cities),
        processes=opts.officer_processes or PROCESSES,
        miss_cities=cities,
        seed=sc.seed,
        per_worker_rate=opts.hey_worker_rate or PER_WORKER_RATE,
    )
    tokens = (
        [opts.warden_token]
        if opts.warden_token
        else issue_tokens("warden", len(targets), subject="loadtest-hey")
    )
    return start_hey(
        host=opts.api_url,
        tokens=tokens,
        targets=targets,
        duration_s=duration_s,
        at=at,
        folder=folder,
        hey=hey,
    )


def _start_officers(
    opts: RunOptions, duration_s: float, folder: Path, clock_file: Path | None
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """Locust officer processes sharing the target rate, each with its own wardens."""
    if opts.officers_rate <= 0:
        return []
    if not opts.api_url:
        raise ValueError("officer traffic needs --api URL")
    from loadtest.officers import officer_processes, officer_users

    scenario_path = opts.scenario.path
    if scenario_path is None:
        raise ValueError("officer traffic needs a scenario loaded from a file")
    hit_share = _officers_hit_share(opts)
    processes = opts.officer_processes or officer_processes(opts.officers_rate)
    share = opts.officers_rate / processes
    started = []
    for n in range(processes):
        tokens = (
            [opts.warden_token]
            if opts.warden_token
            else issue_tokens("warden", officer_users(share), subject=f"loadtest-p{n}")
        )
        out = folder / f"officers-{n}.json"
        command = [
            sys.executable,
            "-m",
            "loadtest",
            "officers",
            "--tool",
            "locust",
            "--scenario",
            str(scenario_path),
            "--api",
            opts.api_url,
            "--rate",
            str(share),
            "--duration",
            str(duration_s),
            "--hit-share",
            str(hit_share),
            "--seed",
            str(n),
            "--out",
            str(out),
        ]
        if clock_file is not None:
            # replay: wardens ask about the simulated moment the traffic has reached (?at=)
            command += ["--clock-file", str(clock_file)]
        env = {**os.environ, "LOADTEST_WARDEN_TOKENS": ",".join(tokens)}
        popen = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append((popen, out))
    return started


def _collect_officers(
    started: list[tuple[subprocess.Popen[bytes], Path]], duration_s: float, rate: float
) -> dict[str, Any] | None:
    from loadtest.officers import merge

    if not started:
        return None
    results, errors = [], []
    for popen, out in started:
        try:
            _, err = popen.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            popen.kill()
            _, err = popen.communicate()
        if out.exists():
            results.append(json.loads(out.read_text()))
        else:
            errors.append(err.decode(errors="replace")[-2000:])
    if not results:
        return {"error": "\n".join(errors), "requests": 0}
    merged = merge(results, duration_s, rate)
    if errors:
        merged["process_errors"] = errors
    return merged


def run_load(opts: RunOptions) -> tuple[dict[str, Any], Path]:
    sc = opts.scenario
    clock = opts.clock or sc.clock
    rate = sc.rate if opts.rate is None else opts.rate
    duration_s = sc.duration_s if opts.duration_s is None else opts.duration_s
    ramp_s = sc.ramp_s if opts.ramp_s is None else opts.ramp_s
    seed = sc.seed if opts.seed is None else opts.seed
    cities = opts.cities or sc.city_ids()
    run_tag = secrets.token_hex(3)
    if opts.officer_tool not in ("hey", "locust"):
        raise ValueError(f"unknown officer tool {opts.officer_tool!r} (hey or locust)")
    hey_binary: str | None = None
    if opts.officers_rate > 0 and opts.officer_tool == "hey":
        from loadtest.hey import ensure_hey

        hey_binary = ensure_hey()  # before anything starts: installs hey, or says why not
    id_prefix = opts.id_prefix or f"lt{run_tag}"
    topics = Topics(opts.topic_prefix)
    systems = {c: sc.cities[c].system for c in cities}

    if clock == "wall":
        start = datetime.now(UTC)
        scale = scale_for_rate(sc, rate, start, cities) if rate > 0 else 1.0
        traffic = Traffic(
            sc,
            start=start,
            seed=seed,
            id_prefix=id_prefix,
            scale=scale,
            cities=cities,
            track_sms_senders=opts.operator,
        )
        events = iter(traffic)
    else:
        start = opts.start or sc.start
        scale = 1.0
        traffic = Traffic(
            sc,
            start=start,
            seed=seed,
            id_prefix=id_prefix,
            cities=cities,
            track_sms_senders=opts.operator,
        )
        events = with_ticks(traffic, cities, start, sc.tick_seconds, id_prefix=id_prefix)

    if opts.target == "kafka":
        from streams.topology import ensure_topics

        ensure_topics(opts.bootstrap, topics, opts.partitions)
        sink: Sink = KafkaSink(opts.bootstrap, topics.raw, systems, linger_ms=opts.linger_ms)
    elif opts.target == "api":
        if not opts.api_url:
            raise ValueError("--target api needs --api URL")
        sink = ApiSink(
            opts.api_url, opts.ingest_token or issue_tokens("ingest", 1)[0], batch=opts.api_batch
        )
    else:
        raise ValueError(f"unknown target {opts.target!r}")

    lag = LagProbe(opts.bootstrap, opts.worker_group, topics.raw) if opts.worker_group else None
    pids = {"loadtest": os.getpid(), **discover_pids(), **opts.pids}
    watch = ProcessWatch(pids)
    state = DriveState()

    def read() -> dict[str, float]:
        return {
            "sent": sink.sent,
            "acked": sink.acked,
            "failed": sink.failed,
            "event_time": state.event_time.timestamp() if state.event_time else float("nan"),
        }

    sampler = Sampler(read, lag, watch)

    # Freshness: markers through the same sink, visibility from the API or the outcomes.
    fresh_cfg = sc.freshness
    fresh_mode = opts.freshness
    if fresh_mode == "auto":
        fresh_mode = "api" if opts.api_url else ("outcomes" if opts.worker_group else "off")
    fresh_city = str(fresh_cfg.get("city", "nis"))
    if fresh_city not in cities:
        fresh_mode = "off"
    probe: FreshnessProbe | None = None
    outcome_watch: OutcomeWatch | None = None
    if fresh_mode != "off":
        if fresh_mode == "api":
            if not opts.api_url:
                raise ValueError("--freshness api needs --api URL")
            visible = api_visibility(
                opts.api_url, opts.warden_token or issue_tokens("warden", 1)[0]
            )
        else:
            outcome_watch = OutcomeWatch(opts.bootstrap, topics.outcomes)
            visible = outcome_watch.visible
        short_code = str(fresh_cfg.get("short_code", "9182"))
        if short_code not in sc.cities[fresh_city].facts.sms_codes:
            raise ValueError(
                f"[freshness] short_code {short_code!r} is not a short code of {fresh_city!r}"
            )
        probe = FreshnessProbe(
            city=fresh_city,
            short_code=short_code,
            visible=visible,
            interval_s=float(fresh_cfg.get("interval_s", 5)),
            timeout_s=float(fresh_cfg.get("timeout_s", 30)),
            run_tag=run_tag,
        )
    fresh_points: list[dict[str, Any]] = []
    fresh_abort = threading.Event()

    def freshness_loop() -> None:
        assert probe is not None
        while not state.done and not state.stop.is_set():
            box: queue.Queue[tuple[Any, float]] = queue.Queue()
            state.markers_in.put((probe.marker, lambda ev, ts, box=box: box.put((ev, ts))))
            try:
                event, sent_at = box.get(timeout=probe.timeout_s)
            except queue.Empty:
                return
            sample = probe.wait_visible(event, sent_at, fresh_abort)
            if sample is None:
                return
            fresh_points.append(
                {
                    "t": round(sent_at - sampler.started_at, 3),
                    "visible_s": None if sample.visible_s is None else round(sample.visible_s, 4),
                    "marker_id": sample.marker_id,
                }
            )
            if state.stop.wait(probe.interval_s):
                return

    reject_share = {
        c: float(sc.cities[c].get("operator_rejects", default=0.0))
        for c in cities
        if systems[c] == "sms_parking"
    }
    desk: OperatorDesk | None = None
    if opts.operator and reject_share:
        desk = OperatorDesk(
            opts.bootstrap,
            topics.outcomes,
            traffic.sms_senders,
            state.injected.put,
            reject_share=reject_share,
            id_prefix=id_prefix,
            seed=seed,
            wall_clock=clock == "wall",
        )
        desk.start()

    officers_dir = Path(tempfile.mkdtemp(prefix="loadtest-officers-"))
    clock_file = officers_dir / "event-time" if clock == "replay" else None

    def read_and_publish_clock() -> dict[str, float]:
        values = read()
        if clock_file is not None and state.event_time is not None:
            tmp = clock_file.with_suffix(".tmp")
            tmp.write_text(state.event_time.isoformat())
            tmp.replace(clock_file)  # atomic: the officers never read half a time
        return values

    sampler.read = read_and_publish_clock
    officer_procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    hey_procs: list[Any] = []
    primed: dict[str, Any] | None = None
    if hey_binary is not None:
        # hey cannot follow the replay clock check by check: every check asks about one
        # moment, a minute after the run's start (simulated or real), see docs/loadtest.md
        from loadtest.hey import PROCESSES, split_hits

        moment = start if clock == "replay" else datetime.now(UTC)
        hit_count, _ = split_hits(opts.officer_processes or PROCESSES, _officers_hit_share(opts))
        hits: tuple[str, list[str]] | None = None
        if hit_count and opts.api_url and str(fresh_cfg.get("city", "nis")) in cities:
            plates, primed = _prime_hits(opts, sink, state, hit_count, moment, run_tag)
            hits = (primed["city"], plates)
        hey_procs = _start_hey_officers(
            opts, duration_s, officers_dir, moment + timedelta(minutes=1), hey_binary, hits
        )
        for n, process in enumerate(hey_procs):
            watch.add(f"hey{n}", process.popen.pid)
    else:
        officer_procs = _start_officers(opts, duration_s, officers_dir, clock_file)
        for n, (popen, _) in enumerate(officer_procs):
            watch.add(f"officers{n}", popen.pid)

    progress = Progress(state, duration_s, sampler.latest) if opts.progress else None
    sampler.start()
    fresh_thread = threading.Thread(target=freshness_loop, daemon=True) if probe else None
    if progress:
        progress.start()
    if fresh_thread:
        fresh_thread.start()
    started_wall = datetime.now(UTC)
    try:
        drive(
            events,
            sink,
            state,
            duration_s=duration_s,
            schedule=RateSchedule(rate, ramp_s),
            clock=clock,
            max_events=opts.max_events,
        )
    except KeyboardInterrupt:
        state.stop.set()
    sending_s = state.elapsed()
    if desk is not None:
        # Verdicts already made still go out; sales the worker answers from here on get
        # none (the report counts what was sent).
        desk.stop()
        send_injected(state, sink)
        sink.flush()
    state.done = True
    state.stop.set()  # the freshness loop sends no new marker from here on
    drain: dict[str, Any] = {}
    if lag is not None and opts.drain_s > 0:
        drain_started = time.monotonic()
        remaining = None
        while time.monotonic() - drain_started < opts.drain_s:
            with contextlib.suppress(Exception):
                remaining = lag.sample()[2]
                sampler.latest["lag"] = remaining
                if remaining == 0:
                    break
            time.sleep(0.5)
        drain = {
            "drain_s": round(time.monotonic() - drain_started, 2),
            "lag_after_drain": remaining,
        }
    if fresh_thread:
        # The marker in flight gets the drain time to show up, then the probe gives up.
        fresh_thread.join(timeout=opts.drain_s if lag is not None else 2.0)
        fresh_abort.set()
        fresh_thread.join(timeout=5)
    if progress:
        progress.stop()
    sampler.stop()
    if hey_procs:
        from loadtest.hey import collect_hey

        officers = collect_hey(
            hey_procs,
            duration_s=duration_s,
            rate=opts.officers_rate,
            hit_share=_officers_hit_share(opts),
        )
        if primed is not None:
            officers["primed_hits"] = primed
    else:
        officers = _collect_officers(officer_procs, duration_s, opts.officers_rate)
    # the officers' raw output (hey's CSV: megabytes a minute) is in the report now
    shutil.rmtree(officers_dir, ignore_errors=True)
    sink.close()
    if lag is not None:
        lag.close()
    if outcome_watch is not None:
        outcome_watch.close()

    by_city: dict[str, int] = {}
    for key, n in traffic.sessions.items():
        by_city[key] = n
    data_events = state.sent - state.ticks
    counts = {
        "sent": sink.sent,
        "acked": sink.acked,
        "failed": sink.failed,
        "errors": dict(getattr(sink, "errors", {})),
        "generated": state.sent,
        "ticks": state.ticks,
        "markers": state.markers,
        "operator_verdicts": {
            "accepted": desk.accepted if desk else 0,
            "rejected": desk.rejected if desk else 0,
            "sent": state.injected_sent,
        },
        "data_events": data_events,
        "by_type": dict(sink.by_type),
        "sessions_by_city": by_city,
        "session_kinds": dict(traffic.kinds),
    }
    pipeline: dict[str, Any] | None = dict(drain) if drain else None
    if opts.verify_outcomes:  # outcomes are on Kafka whichever way the events went in
        seen = count_outcomes(
            opts.bootstrap,
            topics.outcomes,
            id_prefix,
            data_events,
            timeout_s=max(30.0, opts.drain_s),
        )
        pipeline = {**(pipeline or {}), "outcomes_expected": data_events, "outcomes_seen": seen}
    run_info = {
        "started": started_wall.isoformat(),
        "clock": clock,
        "target": opts.target,
        "rate": rate,
        "ramp_s": ramp_s,
        "duration_s": duration_s,
        "elapsed_s": round(sending_s, 3),
        "seed": seed,
        "scale": scale,
        "cities": cities,
        "id_prefix": id_prefix,
        "topic": topics.raw,
        "worker_group": opts.worker_group,
        "sink": sink.describe(),
        "freshness": fresh_mode,
        "officers_rate": opts.officers_rate,
        "officer_tool": opts.officer_tool if opts.officers_rate > 0 else None,
        "simulated_from": start.isoformat(),
        "simulated_to": state.event_time.isoformat() if state.event_time else None,
        # a shared machine: the load average says how much of it the run really had
        "host": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
    }
    if isinstance(sink, ApiSink):
        from loadtest.officers import percentiles

        run_info["ingest_latency_ms"] = percentiles(sink.latencies_ms)
    report = build_report(
        scenario={
            "name": sc.name,
            "path": str(sc.path) if sc.path else None,
            "description": sc.description,
        },
        run=run_info,
        counts=counts,
        series=sampler.series,
        freshness=fresh_points if probe else None,
        officers=officers,
        pipeline=pipeline,
    )
    folder = results_folder(opts.out_base)
    write_report(report, folder)
    return report, folder


def print_summary(report: dict[str, Any], folder: Path) -> None:
    print(summary_table(report))
    plots = ", ".join(p.name for p in sorted(folder.glob("*.png")))
    print(f"report: {folder}/report.json (plots: {plots})")
