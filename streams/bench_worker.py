"""Benchmark (not a test): one stream worker against a raw aiokafka passthrough.

    python -m streams.bench_worker [--events 20000] [--partitions 4]

Produces the same demo traffic of all five cities (keyed by owner, no clock ticks) to a
fresh topic prefix, then measures on the same broker in the same run:

1. passthrough: one aiokafka consumer reading `events.raw` from the start and producing
   every record unchanged to another topic, awaiting the acks — what Kafka and the client
   library cost with no work at all;
2. the worker: `python -m streams worker` on the same records (parse, route, decide, price,
   publish outcomes/ledger/validity/notifications, write state to changelogs), timed from
   its partition assignment until its committed offsets reach the end of `events.raw`.

Prints both rates and the ratio, by wall clock and per CPU-second of the measuring
process (the passthrough's own process, the worker process with all its threads): on a
shared machine the CPU-second rates hold up better under contention. Results go into
docs/PERFORMANCE.md with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from streams.cities import city_systems
from streams.contract import Event, Topics, routing_key
from streams.demo_parking import demo_events as parking_events
from streams.demo_transit import demo_events as transit_events
from streams.topology import ensure_topics

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday morning: charging in force


def traffic(total: int) -> list[Event]:
    systems = city_systems()
    per_city = max(1, total // len(systems))
    events: list[Event] = []
    for seed, city in enumerate(sorted(systems)):
        make = transit_events if systems[city] in ("missed_call", "card_fare") else parking_events
        events.extend(make(city, START, per_city, seed))
    return events


def produce(bootstrap: str, topic: str, events: list[Event]) -> None:
    systems = city_systems()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    for event in events:
        key = routing_key(event, systems[event.city]).encode()
        producer.send(topic, event.to_json(), key=key)
    producer.flush()
    producer.close()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    ends = consumer.end_offsets(parts)
    consumer.close()
    return {tp.partition: off for tp, off in ends.items()}


async def passthrough(bootstrap: str, source: str, target: str, count: int) -> tuple[float, float]:
    """Records per second of wall clock and per CPU-second of this process."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-pass-{secrets.token_hex(3)}",
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()
    seen = 0
    started = None
    cpu_started = 0.0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            acks = []
            for records in batches.values():
                if started is None and records:
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                for record in records:
                    acks.append(await producer.send(target, record.value, key=record.key))
            if acks:
                await asyncio.gather(*acks)
                await consumer.commit()
            seen += len(acks)
        wall = time.perf_counter() - (started or time.perf_counter())
        cpu = time.process_time() - cpu_started
    finally:
        await consumer.stop()
        await producer.stop()
    return seen / wall, seen / cpu


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        offsets = admin.list_group_offsets({group: wanted}).get(group, {})
    finally:
        admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values() if meta is not None)


def run_worker(
    bootstrap: str, prefix: str, count: int, partitions: int
) -> tuple[float, float, str]:
    """Events per second of wall clock and per CPU-second of the worker process, its log."""
    app_id = f"bench-worker-{secrets.token_hex(3)}"
    raw = f"{prefix}events.raw"
    data = tempfile.mkdtemp(prefix="bench-worker-")
    log = Path(data) / "worker.log"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "PLATFORM_TOPIC_PREFIX": prefix,
        "STREAMS_APP_ID": app_id,
        "STREAMS_CLOCK": "events",
        "STREAMS_PARTITIONS": str(partitions),
        "STREAMS_DATA_DIR": data,
        "STREAMS_WEB_PORT": "0",
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams", "worker", "-l", "info", "--without-web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        while "Setting newly assigned partitions" not in log.read_text(errors="replace"):
            if worker.poll() is not None:
                raise SystemExit(f"worker exited:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        started = time.perf_counter()
        process = psutil.Process(worker.pid)
        cpu_started = sum(process.cpu_times()[:2])
        done = 0
        while done < count:
            time.sleep(0.25)
            done = committed(bootstrap, app_id, raw, partitions)
            if worker.poll() is not None:
                raise SystemExit(f"worker exited:\n{log.read_text()[-3000:]}")
        wall = time.perf_counter() - started
        cpu = sum(process.cpu_times()[:2]) - cpu_started
        return count / wall, count / cpu, str(log)
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streams.bench_worker")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    args = parser.parse_args(argv)
    prefix = f"bench{secrets.token_hex(3)}."
    topics = Topics(prefix)
    ensure_topics(args.bootstrap, topics, args.partitions)
    events = traffic(args.events)
    produce(args.bootstrap, topics.raw, events)
    count = sum(end_offsets(args.bootstrap, topics.raw).values())
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{count} records on {topics.raw} ({args.partitions} partitions), five cities")
    target = f"{prefix}passthrough"
    pass_rate, pass_cpu = asyncio.run(passthrough(args.bootstrap, topics.raw, target, count))
    print(f"aiokafka passthrough : {pass_rate:>10,.0f} records/s  {pass_cpu:>10,.0f} per CPU-s")
    worker_rate, worker_cpu, log = run_worker(args.bootstrap, prefix, count, args.partitions)
    print(f"stream worker        : {worker_rate:>10,.0f} events/s   {worker_cpu:>10,.0f} per CPU-s")
    wall_ratio, cpu_ratio = worker_rate / pass_rate, worker_cpu / pass_cpu
    print(f"worker / passthrough : {wall_ratio:>10.0%}            {cpu_ratio:>10.0%}")
    print(f"worker log: {log}")
    delete_topics(args.bootstrap, prefix)


def delete_topics(bootstrap: str, prefix: str) -> None:
    """The benchmark's topics and its worker's changelogs go when it is done."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        doomed = [t for t in admin.list_topics() if t.startswith((prefix, "bench-worker-"))]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


if __name__ == "__main__":
    main()
