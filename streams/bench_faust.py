"""Benchmark (not a test): Faust's own ingestion floor, an agent that does no work.

    python -m streams.bench_faust [--events 10000] [--partitions 4]

Produces the stream worker benchmark's traffic (streams/bench_worker.py) to a fresh topic
prefix, then runs one Faust worker whose agent reads `events.raw` the way the stream
worker does (`take_events` with the worker's batch settings, raw key and value) and does
nothing with the events. It prints events per CPU-second of that process
(`time.process_time`, from its first batch to the last event) and per wall-clock second:
what Faust's consumer, conductor, stream and acks cost per event before any decision is
made. No stream worker, whatever it does, can exceed this rate per CPU-second; compare it
with the raw aiokafka passthrough of `streams.bench_worker` (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from streams.bench_worker import delete_topics, produce, traffic
from streams.contract import Topics
from streams.topology import ensure_topics
from streams.worker_settings import WorkerSettings

RESULT = "faust floor:"


def consume() -> None:
    """The do-nothing Faust worker (runs in a subprocess, see `main`)."""
    import faust

    settings = WorkerSettings.from_env()
    count = int(os.environ["BENCH_FAUST_EVENTS"])
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        datadir=settings.data_dir,
        topic_partitions=settings.partitions,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=max(4096, settings.batch_max * 4),
    )
    topic = app.topic(settings.topics.raw, key_serializer="raw", value_serializer="raw")
    seen: dict[str, Any] = {"events": 0}

    @app.agent(topic)
    async def nothing(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(settings.batch_max, within=settings.batch_within):
            if "cpu" not in seen:
                seen["cpu"], seen["wall"] = time.process_time(), time.perf_counter()
            seen["events"] += len(batch)
            if seen["events"] >= count:
                cpu = time.process_time() - seen["cpu"]
                wall = time.perf_counter() - seen["wall"]
                events = seen["events"]
                print(
                    f"{RESULT} {events} events, {events / cpu:,.0f} per CPU-s, "
                    f"{events / wall:,.0f} events/s wall",
                    flush=True,
                )
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m streams.bench_faust")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consume()
        return
    prefix = f"benchfaust{secrets.token_hex(3)}."
    topics = Topics(prefix)
    ensure_topics(args.bootstrap, topics, args.partitions)
    events = traffic(args.events)
    produce(args.bootstrap, topics.raw, events)
    print(f"load average {os.getloadavg()[0]:.1f}; {len(events)} records on {topics.raw}")
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": args.bootstrap,
        "PLATFORM_TOPIC_PREFIX": prefix,
        "STREAMS_APP_ID": f"{prefix}floor",
        "STREAMS_PARTITIONS": str(args.partitions),
        "BENCH_FAUST_EVENTS": str(len(events)),
    }
    data = env["STREAMS_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-faust-")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "streams.bench_faust", "--consume"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        # Faust's worker logs what its agents print: the line may come on either stream.
        found = [
            line[line.index(RESULT) :]
            for line in (out.stdout + out.stderr).splitlines()
            if RESULT in line
        ]
        print(found[-1] if found else f"no result:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    finally:
        delete_topics(args.bootstrap, prefix)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
