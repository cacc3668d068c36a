"""A short load test against the real Kafka, a real stream worker and a real API process.

Checks that the report's counts match what was produced: every generated event acked by
Kafka is on `events.raw` (end offsets), the worker's consumer group committed all of them
(lag 0 after the drain), every data event of the run got exactly one outcome record, and
the operator desk answered Niš sales with verdicts (NIS-9) that the worker processed too;
and that hey's plate checks against `python -m enforcement_api serve` reach the report
(hits on plates the run paid for, misses on plates nobody did). The ClickHouse sink is
not part of this test (see docs/loadtest.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from infra.process import end_child, free_port
from infra.settings import REPO_ROOT
from loadtest.run import RunOptions, run_load
from loadtest.scenario import load_scenario

pytestmark = pytest.mark.integration


def _messages_on(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="loadtest-count")
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        ends = consumer.end_offsets(parts)
        starts = consumer.beginning_offsets(parts)
        return sum(ends[tp] - starts[tp] for tp in parts)
    finally:
        consumer.close()


@contextmanager
def serve_api(bootstrap: str, prefix: str, log: Path) -> Iterator[str]:
    """`python -m enforcement_api serve` on a free port, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "PLATFORM_TOPIC_PREFIX": prefix,
        "STREAMS_PARTITIONS": "2",
        "API_RATE_PER_S": "0",  # hey sends one token's checks per process
    }
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "enforcement_api", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if popen.poll() is not None:
                pytest.fail(f"API exited ({popen.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"API not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        end_child(popen, grace_s=30)


def test_short_scenario_counts_match_kafka_and_worker_outcomes(
    kafka_bootstrap: str, topic_prefix: str, run_worker, tmp_path: Path
) -> None:
    prefix = f"{topic_prefix}lt."
    worker = run_worker(PLATFORM_TOPIC_PREFIX=prefix, STREAMS_PARTITIONS="2")
    with serve_api(kafka_bootstrap, prefix, tmp_path / "api.log") as api_url:
        report, folder = run_load(
            RunOptions(
                scenario=load_scenario("city-day"),
                start=datetime.fromisoformat("2026-11-24T10:00:00+01:00"),  # Niš charges
                target="kafka",
                rate=150,
                duration_s=8,
                ramp_s=2,
                bootstrap=kafka_bootstrap,
                topic_prefix=prefix,
                partitions=2,
                worker_group=worker.env["STREAMS_APP_ID"],
                freshness="outcomes",
                drain_s=150,  # the machine is shared: give a busy worker time
                out_base=tmp_path,
                progress=False,
                verify_outcomes=True,
                api_url=api_url,
                officers_rate=60,  # hey: 6 processes at 10 checks/s, 4 on paid plates
                officer_processes=6,
                officers_hit_share=0.7,
                officer_tool="hey",
            )
        )
    counts = report["counts"]
    assert counts["sent"] > 500
    assert counts["failed"] == 0
    assert counts["acked"] == counts["sent"]
    summary = report["summary"]
    pipeline = summary["pipeline"]
    # The worker caught up with everything (its committed offsets reach the topic's end)...
    assert pipeline["lag_after_drain"] == 0, summary
    # ...and every data event of the run has exactly one outcome record.
    assert pipeline["outcomes_seen"] == pipeline["outcomes_expected"] == counts["data_events"]
    assert counts["generated"] + counts["markers"] == counts["sent"]
    # Everything the sink counted is on the topic: generated events (ticks included),
    # injected verdicts and freshness markers, plus the worker's copy of each tick to every
    # partition (streams/runtime/engine.py broadcasts ticks); nobody else uses this prefix.
    on_topic = _messages_on(kafka_bootstrap, f"{prefix}events.raw")
    assert on_topic == counts["sent"] + counts["ticks"] * 2
    assert report["series"]["worker_committed"][-1] == on_topic  # the lag plot ends at 0
    verdicts = counts["operator_verdicts"]
    assert verdicts["sent"] == verdicts["accepted"] + verdicts["rejected"] > 0  # NIS-9
    assert (folder / "report.json").exists()
    assert any(folder.glob("*.png"))
    fresh = summary["freshness_s"]
    assert fresh["markers"] >= 1 and fresh["not_visible"] == 0
    # hey's checks: all answered, hits on the plates the run paid for, misses on none
    api = summary["api"]
    assert api["tool"] == "hey"
    assert api["requests"] > 0 and api["errors"] == 0
    officers = report["officers"]
    assert officers["primed_hits"]["visible"] == officers["primed_hits"]["plates"] == 4
    urls = officers["urls"]
    assert sum(u["requests"] for u in urls) == api["requests"]
    assert {u["answer_after_run"] for u in urls if u["kind"] == "hit"} == {"valid"}
    assert {u["answer_after_run"] for u in urls if u["kind"] == "miss"} == {"none"}
