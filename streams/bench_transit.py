"""Throughput of the transit rules through the in-memory engine (no Kafka).

`python -m streams.bench_transit [n]`: feeds `n` demo events per transit city (plus the
clock ticks of a demo day) through `Replay` (the worker's engine and rules, state in
dicts, 8 partitions) and prints events per second. This measures the pure decision
layer: parsing, idempotency, rules, tariff-kernel fares and record building; Kafka I/O
is not included. Results and the machine go into docs/transit.md.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from streams.demo_transit import demo_events
from streams.runtime.replay import Replay
from streams.systems import load_rules
from tariff_kernel import warm_up

CITIES = {"hradec": "missed_call", "tarnow": "card_fare"}
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def run(n: int) -> dict[str, float]:
    warm_up()
    rules = load_rules(CITIES)
    rates = {}
    for city in CITIES:
        events = demo_events(city, START, n, seed=1, ticks=True)
        replay = Replay(CITIES, rules, partitions=8)
        replay.feed(*events[:20])  # first decisions: lazy imports, template caches
        began = time.perf_counter()
        replay.feed(*events[20:])
        rates[city] = (len(events) - 20) / (time.perf_counter() - began)
    return rates


if __name__ == "__main__":  # pragma: no cover - a benchmark, run by hand
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    for city, rate in run(count).items():
        print(f"{city}: {rate:,.0f} events/s (n={count} + clock ticks, Replay, 8 partitions)")
