"""Benchmark (not a test): the pure engine alone, in one process, no Kafka.

    python -m streams.bench_engine [--events 10000] [--partitions 4] [--repeat 3]

Runs `Engine.handle` over the stream worker benchmark's traffic (streams/bench_worker.py,
same events, same keys, spread over the partitions as Kafka's default partitioner would
be stood in for by a stable hash) with a dict state store that keeps each value as JSON
bytes, as the worker's tables do. Prints events per CPU-second (`time.process_time`, holds
up under contention) and per wall-clock second, and a digest of every published record and
every state write: a change that keeps the digest keeps every output byte and decision.
The tariff kernels are compiled first, as in the worker; read the later runs all the same.
"""

from __future__ import annotations

import argparse
import hashlib
import time
import zlib
from typing import Any

import orjson

import tariff_kernel
from streams.bench_worker import traffic
from streams.cities import city_systems
from streams.contract import Topics, routing_key
from streams.runtime.engine import Engine, Message, Publish
from streams.systems import load_rules

_FAUST_JSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


class JsonStore:
    """State as JSON bytes per key, decoded on read, like the worker's tables (Faust's
    JSON codec is orjson with these options)."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], bytes] = {}
        self.digest = hashlib.sha256()

    def get(self, table: str, key: str) -> Any:
        raw = self.data.get((table, key))
        return None if raw is None else orjson.loads(raw)

    def put(self, table: str, key: str, value: Any, partition: int) -> None:
        raw = orjson.dumps(value, option=_FAUST_JSON) if value is not None else None
        self.digest.update(f"{table}|{key}|{partition}|".encode() + (raw or b"-"))
        if raw is None:
            self.data.pop((table, key), None)
        else:
            self.data[(table, key)] = raw


def run(count: int, partitions: int) -> tuple[float, float, str]:
    systems = city_systems()
    events = traffic(count)
    offsets = [0] * partitions
    messages = []
    for event in events:
        key = routing_key(event, systems[event.city])
        partition = zlib.crc32(key.encode()) % partitions
        messages.append(Message("events.raw", partition, offsets[partition], key, event.to_json()))
        offsets[partition] += 1
    engine = Engine(
        Topics(), systems, load_rules(systems), partitions, clock=lambda: events[0].time
    )
    store = JsonStore()
    out = hashlib.sha256()
    wall, cpu = time.perf_counter(), time.process_time()
    published: list[Publish] = []
    for msg in messages:
        published.extend(engine.handle(msg, store))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for pub in published:
        out.update(f"{pub.topic}|{pub.key}|{pub.partition}|".encode() + (pub.value or b"-"))
    out.update(store.digest.digest())
    return len(messages) / cpu, len(messages) / wall, out.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tariff_kernel.warm_up()  # as the worker does before its first event
    for _ in range(args.repeat):
        per_cpu, per_wall, digest = run(args.events, args.partitions)
        print(f"engine: {per_cpu:,.0f} events/CPU-s, {per_wall:,.0f} events/s wall, {digest}")


if __name__ == "__main__":
    main()
