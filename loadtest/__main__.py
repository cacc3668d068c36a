"""Command line of the load-test kit (docs/loadtest.md).

python -m loadtest run --scenario city-day --rate 500 --duration 60 [--target kafka|api]
python -m loadtest demo
python -m loadtest generate --scenario city-day --count 20      (events as JSON lines)
python -m loadtest officers --scenario city-day --api URL --rate 2000 --duration 30 --tool hey
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip()
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-24T10:00:00+01:00")
    return moment


def _pid(text: str) -> tuple[str, int]:
    name, _, pid = text.partition("=")
    if not name or not pid.isdigit():
        raise argparse.ArgumentTypeError("use NAME=PID")
    return name, int(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="one load test with measurements and a report")
    run.add_argument("--scenario", required=True, help="file, or a name in loadtest/scenarios")
    run.add_argument("--rate", type=float, help="events/s (0: unpaced); default: scenario's")
    run.add_argument("--duration", type=_duration, help="e.g. 60, 90s, 5m; default: scenario's")
    run.add_argument("--ramp", type=_duration, help="seconds from 0 to the rate")
    run.add_argument("--clock", choices=["replay", "wall"], help="default: scenario's")
    run.add_argument("--target", choices=["kafka", "api"], default="kafka")
    run.add_argument("--seed", type=int)
    run.add_argument(
        "--start",
        type=_moment,
        help="replay: simulated start with offset, e.g. 2026-11-24T10:00:00+01:00",
    )
    run.add_argument("--city", action="append", help="only these cities (repeatable)")
    run.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    run.add_argument("--topic-prefix", default=os.environ.get("PLATFORM_TOPIC_PREFIX", ""))
    run.add_argument(
        "--partitions", type=int, default=int(os.environ.get("STREAMS_PARTITIONS", "8"))
    )
    run.add_argument(
        "--worker-group",
        default=os.environ.get("STREAMS_APP_ID", "platform-worker"),
        help="the worker's consumer group, for lag ('' to skip)",
    )
    run.add_argument("--api", help="enforcement API base URL, e.g. http://127.0.0.1:8000")
    run.add_argument("--ingest-token", default=os.environ.get("LOADTEST_INGEST_TOKEN"))
    run.add_argument("--warden-token", default=os.environ.get("LOADTEST_WARDEN_TOKEN"))
    run.add_argument("--api-batch", type=int, default=100, help="events per POST /v1/events")
    run.add_argument("--officers", type=float, default=0.0, help="plate checks/s against --api")
    run.add_argument("--hit-share", type=float, help="share of checks for plates that parked")
    run.add_argument(
        "--officer-tool",
        choices=["hey", "locust"],
        default="hey",
        help="hey: constant rate, installed with apt when missing; locust: simulated wardens",
    )
    run.add_argument(
        "--officer-processes",
        type=int,
        help="hey processes, one plate URL each (default 10); Locust: default one per 700/s",
    )
    run.add_argument(
        "--hey-worker-rate",
        type=float,
        default=None,
        help="checks/s of each hey worker (default 10): lower means more concurrent wardens, "
        "each waiting for its answer, so a slower API still gets the full rate",
    )
    run.add_argument("--freshness", choices=["auto", "api", "outcomes", "off"], default="auto")
    run.add_argument(
        "--drain", type=_duration, default=30.0, help="wait for the worker after sending"
    )
    run.add_argument("--linger-ms", type=int, default=20)
    run.add_argument("--max-events", type=int)
    run.add_argument(
        "--verify-outcomes", action="store_true", help="count this run's outcome records"
    )
    run.add_argument(
        "--no-operator",
        action="store_true",
        help="do not answer Niš SMS sales with operator verdicts (NIS-9)",
    )
    run.add_argument("--pid", type=_pid, action="append", default=[], help="NAME=PID to watch")
    run.add_argument("--out", type=Path, default=Path("results"))
    run.add_argument("--no-progress", action="store_true")

    demo = sub.add_parser("demo", help="gentle real-time traffic for every city, until stopped")
    demo.add_argument("--scenario", default="demo")
    demo.add_argument("--duration", type=_duration, default=float("inf"))

    gen = sub.add_parser("generate", help="print a scenario's events as CloudEvents JSON lines")
    gen.add_argument("--scenario", required=True)
    gen.add_argument("--count", type=int, default=20)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--ticks", action="store_true", help="interleave clock.tick events")

    off = sub.add_parser("officers", help="warden plate checks, hey or Locust (alone)")
    off.add_argument("--tool", choices=["hey", "locust"], default="hey")
    off.add_argument("--processes", type=int, help="hey processes, one plate URL each")
    off.add_argument("--at", type=_moment, help="hey: the moment every check asks about")
    off.add_argument("--hey-worker-rate", type=float, default=None, help="checks/s per hey worker")
    off.add_argument("--scenario", required=True)
    off.add_argument("--api", required=True)
    off.add_argument("--rate", type=float, required=True)
    off.add_argument("--duration", type=_duration, required=True)
    off.add_argument("--hit-share", type=float, default=0.7)
    off.add_argument("--users", type=int, help="Locust: simulated wardens")
    off.add_argument("--seed", type=int, default=0, help="added to the scenario's seed")
    off.add_argument("--out", type=Path, required=True)
    off.add_argument(
        "--clock-file", type=Path, help="file holding the run's event time (replay runs)"
    )

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # selector timing chatter
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per POST otherwise

    if args.command == "run":
        from loadtest.run import RunOptions, print_summary, run_load
        from loadtest.scenario import load_scenario

        options = RunOptions(
            scenario=load_scenario(args.scenario),
            target=args.target,
            rate=args.rate,
            duration_s=args.duration,
            ramp_s=args.ramp,
            clock=args.clock,
            seed=args.seed,
            start=args.start,
            cities=args.city,
            bootstrap=args.bootstrap,
            topic_prefix=args.topic_prefix,
            partitions=args.partitions,
            worker_group=args.worker_group or None,
            api_url=args.api,
            ingest_token=args.ingest_token,
            warden_token=args.warden_token,
            api_batch=args.api_batch,
            officers_rate=args.officers,
            officers_hit_share=args.hit_share,
            officer_processes=args.officer_processes,
            officer_tool=args.officer_tool,
            hey_worker_rate=args.hey_worker_rate,
            freshness=args.freshness,
            drain_s=args.drain,
            linger_ms=args.linger_ms,
            max_events=args.max_events,
            out_base=args.out,
            progress=not args.no_progress,
            pids=dict(args.pid),
            verify_outcomes=args.verify_outcomes,
            operator=not args.no_operator,
        )
        report, folder = run_load(options)
        print_summary(report, folder)
        return 0 if report["summary"]["events_failed"] == 0 else 1

    if args.command == "demo":
        from loadtest.demo import run_demo

        run_demo(args.scenario, duration_s=args.duration)
        return 0

    if args.command == "generate":
        from loadtest.scenario import load_scenario
        from loadtest.traffic import Traffic, with_ticks

        sc = load_scenario(args.scenario)
        traffic = Traffic(sc, seed=args.seed)
        stream = (
            with_ticks(traffic, sc.city_ids(), sc.start, sc.tick_seconds)
            if args.ticks
            else iter(traffic)
        )
        for _, event in zip(range(args.count), stream, strict=False):
            sys.stdout.write(json.dumps(event.to_cloudevent(), ensure_ascii=False) + "\n")
        return 0

    if args.command == "officers":
        from loadtest.officers import officer_plates, officer_users, run_officers
        from loadtest.scenario import load_scenario
        from loadtest.tokens import issue_tokens

        listed = os.environ.get("LOADTEST_WARDEN_TOKENS") or os.environ.get(
            "LOADTEST_WARDEN_TOKEN", ""
        )
        tokens = [t for t in listed.split(",") if t]
        sc = load_scenario(args.scenario)
        cities = [c for c in sc.officers.get("cities", ["nis"]) if c in sc.cities]
        if args.tool == "hey":
            from loadtest.hey import (
                PER_WORKER_RATE,
                PROCESSES,
                collect_hey,
                ensure_hey,
                plan_targets,
                start_hey,
            )

            binary = ensure_hey()
            targets = plan_targets(
                args.rate,
                args.hit_share,
                officer_plates(sc, cities),
                processes=args.processes or PROCESSES,
                seed=sc.seed + args.seed,
                per_worker_rate=args.hey_worker_rate or PER_WORKER_RATE,
            )
            started = start_hey(
                host=args.api,
                tokens=tokens or issue_tokens("warden", len(targets), subject="loadtest-hey"),
                targets=targets,
                duration_s=args.duration,
                at=args.at,
                folder=args.out.parent / f"{args.out.stem}-hey",
                hey=binary,
            )
            result = collect_hey(
                started,
                duration_s=args.duration,
                rate=args.rate,
                hit_share=args.hit_share,
                out=args.out,
            )
            print(json.dumps({k: v for k, v in result.items() if k != "series"}, indent=1))
            return 0
        if not tokens:
            tokens = issue_tokens("warden", args.users or officer_users(args.rate))
        result = run_officers(
            host=args.api,
            tokens=tokens,
            rate=args.rate,
            duration_s=args.duration,
            plates=officer_plates(sc, cities),
            hit_share=args.hit_share,
            seed=sc.seed + args.seed,
            out=args.out,
            users=args.users,
            clock_file=args.clock_file,
        )
        print(json.dumps({k: v for k, v in result.items() if k != "series"}, indent=1))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
