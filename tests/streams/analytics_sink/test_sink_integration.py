"""The sink on real Kafka and ClickHouse: exactly once in query results under redelivery,
and no row missing when ClickHouse is stopped during a stream and started again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer

from infra import process
from infra.clickhouse.server import clickhouse_service
from infra.process import free_port
from infra.settings import REPO_ROOT, Settings
from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.analytics_sink.sink import AnalyticsSink, SinkConfig
from streams.contract import Topics
from tests.streams.analytics_sink import records as r

pytestmark = pytest.mark.integration

#: How long ClickHouse stays down in the outage test. The issue asks for 60 s; the default
#: keeps CI short. docs/analytics.md explains why the short outage proves the long one;
#: `ANALYTICS_OUTAGE_SECONDS=60 pytest -m integration -k outage` runs the full minute.
OUTAGE_S = float(os.environ.get("ANALYTICS_OUTAGE_SECONDS", "12"))
PARTITIONS = 2


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.5)


class SinkThread:
    def __init__(self, settings: Settings, topics: Topics, group: str, database: str) -> None:
        config = SinkConfig(group=group, max_rows=10_000, max_age_s=0.5, partitions=PARTITIONS)
        self.sink = AnalyticsSink(settings, topics, config, Pseudonymizer(b"k"), database)
        self.stop_event = threading.Event()
        # daemon: a test failing before stop() must not keep the session from exiting
        self.thread = threading.Thread(target=self.sink.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def ch(services_up: Settings, clickhouse_database: str) -> Iterator[Client]:
    client = Client(**services_up.clickhouse.client_kwargs(database=clickhouse_database))
    yield client
    client.disconnect()


def produce(bootstrap: str, messages: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for topic, value, key in messages:
        producer.send(topic, value, key=key)
    producer.flush()
    producer.close()


def test_rows_exactly_once_in_query_results_under_redelivery(
    services_up: Settings, topic_prefix: str, clickhouse_database: str, ch: Client
) -> None:
    topics = Topics(f"{topic_prefix}sink.")
    batch: list[tuple[str, bytes | None, bytes]] = []
    expected = {
        "events": 120,
        "entitlements": 60 + 2 * 20,  # stays, and two tickets per ride
        "rides": 2 * 20,
        "ledger": 60,
        "notifications": 60,
        "checks": 40,
        "outcomes": 30,
        "dead_letters": 10,
    }
    for i in range(120):
        batch.append((topics.raw, r.sms_event(i).to_json(), b"nis"))
    for i in range(60):
        batch.append((topics.validity, r.stay(i).to_json(), f"k{i}".encode()))
        batch.append((topics.ledger, r.charge(i).to_json(), b"h"))
        batch.append((topics.notifications, r.notification(i).to_json(), b"n"))
    for i in range(20):
        batch.append((topics.validity, r.ride(i).to_json(), f"c{i}".encode()))
    for i in range(40):
        batch.append((topics.audit, r.check(i).to_json(), b"nis"))
    for i in range(30):
        batch.append((topics.outcomes, r.outcome(i).to_json(), b"o"))
    for i in range(10):
        batch.append((topics.deadletter, r.dead_letter(i).to_json(), b"d"))
    batch.append((topics.validity, r.clock_mark().to_json(), b"nis|clock|x|0"))
    batch.append((topics.validity, None, b"k0"))  # a tombstone: no rows, no error
    batch.append((topics.raw, b"{not an event", b"x"))  # the worker dead-letters this one

    group = f"sink-{topic_prefix}a"
    first = SinkThread(services_up, topics, group, clickhouse_database)
    wait_for(first.sink.ready.is_set, 60, "the sink to join its group")
    produce(services_up.kafka_bootstrap, batch + batch)  # every record published twice

    def count(table: str, final: bool = True) -> int:
        return ch.execute(f"SELECT count() FROM {table}{' FINAL' if final else ''}")[0][0]

    wait_for(lambda: first.sink.stats.records >= 2 * len(batch), 60, "the sink to read all")
    wait_for(lambda: first.sink.stats.batches > 0 and first.sink._written.empty(), 10, "commit")
    first.stop()
    assert first.sink.stats.skipped == 2  # the unreadable raw event, twice
    for table, n in expected.items():
        assert count(table) == n, table

    # The same group again: offsets were committed after the inserts, nothing is re-read.
    again = SinkThread(services_up, topics, group, clickhouse_database)
    wait_for(again.sink.ready.is_set, 60, "the sink to rejoin")
    time.sleep(2)
    again.stop()
    assert again.sink.stats.records == 0

    # A new group re-reads everything: a full redelivery of every record.
    other = SinkThread(services_up, topics, f"sink-{topic_prefix}b", clickhouse_database)
    wait_for(lambda: other.sink.stats.records >= 2 * len(batch), 90, "the redelivery")
    other.stop()
    for table, n in expected.items():
        assert count(table) == n, table
        assert count(table, final=False) >= 2 * n  # the copies are there, FINAL hides them
    revenue = ch.execute("SELECT sum(amount) FROM ledger FINAL WHERE kind = 'charge'")[0][0]
    assert revenue == 60 * 6000


@pytest.fixture
def own_clickhouse(tmp_path: Path) -> Iterator[Settings]:
    """A ClickHouse server of this test alone (other ports, own data), so it can be stopped
    without disturbing anybody sharing the machine's server."""
    base = Settings.from_env()
    settings = replace(
        base,
        var_dir=tmp_path / "var",
        clickhouse=replace(
            base.clickhouse, port=free_port(), http_port=free_port(), database="outage"
        ),
    )
    service = clickhouse_service(settings)
    try:
        process.start(service)
    except process.ServiceError as exc:
        pytest.fail(f"could not start a ClickHouse for the outage test: {exc}", pytrace=False)
    yield settings
    process.stop(service)


def test_outage_clickhouse_down_during_a_stream_loses_no_row(
    own_clickhouse: Settings, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = replace(own_clickhouse, kafka_host=kafka_bootstrap.rpartition(":")[0],
                       kafka_port=int(kafka_bootstrap.rpartition(":")[2]))  # fmt: skip
    service = clickhouse_service(settings)
    prefix = f"{topic_prefix}outage."
    log_file = tmp_path / "sink.log"
    env = {
        **os.environ,
        **settings.as_env(),
        "PLATFORM_TOPIC_PREFIX": prefix,
        "ANALYTICS_SINK_GROUP": f"sink-{prefix}",
        "ANALYTICS_BATCH_SECONDS": "0.5",
        "ANALYTICS_RETRY_MAX_SECONDS": "2",
        "STREAMS_PARTITIONS": str(PARTITIONS),
        "PYTHONUNBUFFERED": "1",
    }
    with log_file.open("wb") as log:
        sink = subprocess.Popen(
            [sys.executable, "-m", "streams.analytics_sink"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    topics = Topics(prefix)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    sent = 0

    def send(n: int) -> None:
        nonlocal sent
        for _ in range(n):
            producer.send(topics.raw, r.sms_event(sent).to_json(), key=b"nis")
            sent += 1
        producer.flush()

    ch = Client(**settings.clickhouse.client_kwargs())
    try:
        wait_for(lambda: "assigned" in log_file.read_text(), 60, "the sink to subscribe")
        for _ in range(6):  # a stream: ~100 events a second
            send(50)
            time.sleep(0.5)
        # Generous: under load the first batch (and the rollup job's first run) take a while.
        wait_for(lambda: ch.execute("SELECT count() FROM events")[0][0] > 0, 90, "first rows")
        ch.disconnect()
        process.stop(service)
        down_until = time.monotonic() + OUTAGE_S
        while time.monotonic() < down_until:  # the stream goes on while ClickHouse is down
            send(50)
            time.sleep(0.5)
        process.start(service)
        for _ in range(6):
            send(50)
            time.sleep(0.5)

        def all_there() -> bool:
            assert sink.poll() is None, log_file.read_text()[-3000:]
            return ch.execute("SELECT count() FROM events FINAL")[0][0] >= sent

        wait_for(all_there, 60, f"all {sent} events in ClickHouse")
        ids = {row[0] for row in ch.execute("SELECT event_id FROM events FINAL")}
        assert ids == {f"sms-{i}" for i in range(sent)}
        assert "retrying" in log_file.read_text()  # it really was down mid-stream
    finally:
        producer.close()
        sink.terminate()
        sink.wait(timeout=30)
        ch.disconnect()
    assert sink.returncode == 0, log_file.read_text()[-3000:]


def test_processes_share_the_partitions_as_one_group_and_write_every_row_once(
    services_up: Settings, topic_prefix: str, clickhouse_database: str, tmp_path: Path
) -> None:
    """`--processes 2`: two workers, one consumer group; every record published twice is
    in ClickHouse once (query results), both workers held partitions, SIGTERM stops all."""
    database = f"{clickhouse_database}_procs"
    prefix = f"{topic_prefix}procs."
    log_file = tmp_path / "sink.log"
    env = {
        **os.environ,
        **services_up.as_env(),
        "CLICKHOUSE_DATABASE": database,
        "PLATFORM_TOPIC_PREFIX": prefix,
        "ANALYTICS_SINK_GROUP": f"sink-{prefix}",
        "ANALYTICS_BATCH_SECONDS": "0.5",
        "ANALYTICS_ROLLUP_SECONDS": "0",
        "STREAMS_PARTITIONS": str(PARTITIONS),
        "PYTHONUNBUFFERED": "1",
    }
    with log_file.open("wb") as log:
        sink = subprocess.Popen(
            [sys.executable, "-m", "streams.analytics_sink", "--processes", "2"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    topics = Topics(prefix)
    ch = Client(**services_up.clickhouse.client_kwargs(database="default"))
    try:

        def both_assigned() -> bool:
            text = log_file.read_text()
            assert sink.poll() is None, text[-3000:]
            return all(
                any(f"[{i}]: assigned" in line and "assigned 0 " not in line
                    for line in text.splitlines())
                for i in (0, 1)
            )  # fmt: skip

        wait_for(both_assigned, 90, "both workers to hold partitions")
        events = [(topics.raw, r.sms_event(i).to_json(), f"k{i}".encode()) for i in range(400)]
        produce(services_up.kafka_bootstrap, events + events)

        def count() -> int:
            return ch.execute(f"SELECT count() FROM {database}.events FINAL")[0][0]

        wait_for(lambda: count() >= 400, 60, "all 400 events")
        ids = {row[0] for row in ch.execute(f"SELECT event_id FROM {database}.events FINAL")}
        assert ids == {f"sms-{i}" for i in range(400)}
        partitions = ch.execute(f"SELECT uniqExact(kafka_partition) FROM {database}.events")
        assert partitions[0][0] == PARTITIONS

        # A worker killed outright is started again; records sent meanwhile all arrive.
        workers = [
            p for p in psutil.Process(sink.pid).children() if "spawn_main" in " ".join(p.cmdline())
        ]  # (not multiprocessing's resource tracker)
        assert len(workers) == 2
        workers[-1].kill()
        more = [(topics.raw, r.sms_event(i).to_json(), f"k{i}".encode()) for i in range(400, 500)]
        produce(services_up.kafka_bootstrap, more)
        wait_for(lambda: "restarting" in log_file.read_text(), 30, "the worker's restart")
        wait_for(lambda: count() >= 500, 90, "the events sent around the restart")
        ids = {row[0] for row in ch.execute(f"SELECT event_id FROM {database}.events FINAL")}
        assert ids == {f"sms-{i}" for i in range(500)}
    finally:
        sink.terminate()
        sink.wait(timeout=60)
        ch.execute(f"DROP DATABASE IF EXISTS {database}")
        ch.disconnect()
    text = log_file.read_text()
    assert sink.returncode == 0, text[-3000:]
    assert "worker 0 stopped" in text and "worker 1 stopped" in text, text[-3000:]


def test_a_member_joining_mid_stream_loses_and_skips_nothing(
    services_up: Settings, topic_prefix: str, clickhouse_database: str, ch: Client
) -> None:
    """A second sink joins the group while the first is mid-stream (pending rows, a batch
    at the writer): the first drops what it had not inserted, commits only partitions it
    still holds, and every event is in ClickHouse once; in the end the group's committed
    offsets reach the end of every partition, and a restart re-reads nothing."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    topics = Topics(f"{topic_prefix}join.")
    group = f"sink-{topic_prefix}join"
    ch.execute("TRUNCATE TABLE events")
    total = 3000
    first = SinkThread(services_up, topics, group, clickhouse_database)
    wait_for(first.sink.ready.is_set, 60, "the first sink to join")
    producer = KafkaProducer(bootstrap_servers=services_up.kafka_bootstrap, linger_ms=5)

    def stream() -> None:
        for i in range(total):
            producer.send(topics.raw, r.sms_event(i).to_json(), key=f"k{i}".encode())
            if i % 100 == 99:
                producer.flush()
                time.sleep(0.2)  # ~500 events a second for 6 s
        producer.flush()

    streaming = threading.Thread(target=stream)
    streaming.start()
    wait_for(lambda: first.sink.stats.records >= 600, 60, "the first sink mid-stream")
    second = SinkThread(services_up, topics, group, clickhouse_database)
    streaming.join()
    producer.close()

    def count() -> int:
        return ch.execute("SELECT count() FROM events FINAL")[0][0]

    wait_for(lambda: count() >= total, 90, f"all {total} events")
    assert first.sink.stats.records > 0 and second.sink.stats.records > 0
    ids = {row[0] for row in ch.execute("SELECT event_id FROM events FINAL")}
    assert ids == {f"sms-{i}" for i in range(total)}

    admin = KafkaAdminClient(bootstrap_servers=services_up.kafka_bootstrap)
    ends_reader = KafkaConsumer(bootstrap_servers=services_up.kafka_bootstrap)
    tps = [TopicPartition(topics.raw, p) for p in range(PARTITIONS)]
    ends = ends_reader.end_offsets(tps)

    def all_committed() -> bool:
        committed = admin.list_group_offsets(group)[group]
        return all(tp in committed and committed[tp].offset == ends[tp] for tp in tps)

    try:
        wait_for(all_committed, 60, "the group's offsets to reach the end")
    finally:
        ends_reader.close()
        admin.close()
    first.stop()
    second.stop()
    again = SinkThread(services_up, topics, group, clickhouse_database)
    wait_for(again.sink.ready.is_set, 60, "a restarted sink to join")
    time.sleep(2)
    again.stop()
    assert again.sink.stats.records == 0
    assert count() == total
