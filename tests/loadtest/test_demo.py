"""`python -m loadtest demo` on real Kafka: wall-clock traffic for every city lands on
`events.raw`, keyed by its owner, each event exactly once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from loadtest.demo import run_demo
from loadtest.scenario import SCENARIO_DIR, load_scenario
from streams.contract import Topics, parse_event, routing_key

pytestmark = pytest.mark.integration


def test_demo_traffic_reaches_events_raw_keyed_by_owner(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    # the demo scenario, thirty times busier, so a few seconds carry every city
    text = (SCENARIO_DIR / "demo.toml").read_text()
    busy = re.sub(
        r"arrivals_per_hour = (\d+)", lambda m: f"arrivals_per_hour = {int(m[1]) * 30}", text
    )
    scenario_file = tmp_path / "busy-demo.toml"
    scenario_file.write_text(busy)
    prefix = f"{topic_prefix}demo."
    state = run_demo(
        str(scenario_file),
        bootstrap=kafka_bootstrap,
        topic_prefix=prefix,
        duration_s=8,
        partitions=2,
    )
    assert state.sent > 20
    systems = load_scenario(scenario_file).systems()
    consumer = KafkaConsumer(
        Topics(prefix).raw,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        records = list(consumer)
    finally:
        consumer.close()
    assert len(records) == state.sent
    ids = set()
    for record in records:
        event = parse_event(json.loads(record.value))
        assert record.key.decode() == routing_key(event, systems[event.city])
        ids.add(event.id)
    assert len(ids) == len(records)
    assert {json.loads(r.value)["city"] for r in records} == set(systems)
