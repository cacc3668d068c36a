"""Smoke test through the whole toolchain: kafka-python → Kafka → Faust → ClickHouse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.contract import make_event

pytestmark = pytest.mark.integration
APP = Path(__file__).with_name("smoke_faust_app.py")


def test_cloudevents_flow_from_kafka_through_faust_into_clickhouse(
    kafka_bootstrap: str, topic_prefix: str, clickhouse, clickhouse_database: str, tmp_path
) -> None:
    topic = f"{topic_prefix}smoke.events"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    ch = Client(**clickhouse.client_kwargs(database=clickhouse_database))
    ch.execute(
        "CREATE TABLE smoke_events (id String, type String, city String, time DateTime) "
        "ENGINE = MergeTree ORDER BY id"
    )
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    sent = [
        make_event(
            "sms.received",
            "nis",
            {"msisdn": "381641234567", "to": "9181", "text": f"NI{i:03d}AB", "operator": "mts"},
            start + timedelta(seconds=i),
        )
        for i in range(50)
    ]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for event in sent:
        producer.send(topic, event.to_json(), key=b"nis")
    producer.flush()
    producer.close()

    log = tmp_path / "faust.log"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CLICKHOUSE_HOST": clickhouse.host,
        "CLICKHOUSE_PORT": str(clickhouse.port),
        "SMOKE_APP_ID": f"{topic_prefix}smoke",
        "SMOKE_TOPIC": topic,
        "SMOKE_DATABASE": clickhouse_database,
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, str(APP), "worker", "-l", "info", "--without-web"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        rows: list[tuple] = []
        while time.monotonic() < deadline and len(rows) < len(sent):
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(1)
            rows = ch.execute("SELECT id, type, city, time FROM smoke_events ORDER BY time")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        ch.disconnect()
    assert [r[0] for r in rows] == [e.id for e in sent], log.read_text()[-3000:]
    assert {r[1] for r in rows} == {"sms.received"}
    assert rows[0][3] == start.replace(tzinfo=None)
