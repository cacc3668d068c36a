"""The real Kafka and ClickHouse infra starts answer like the product needs them to."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from infra.clickhouse.migrations import migrate
from infra.settings import REPO_ROOT
from streams.group_consumer import group_consumer

pytestmark = pytest.mark.integration


def test_kafka_round_trip_on_a_fresh_topic(kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = f"{topic_prefix}infra.smoke.{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for i in range(10):
        producer.send(topic, key=str(i).encode(), value=f"v{i}".encode())
    producer.flush()
    producer.close()
    consumer = group_consumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
        group_id=f"{topic}.g",
    )
    seen = sorted(m.value.decode() for m in consumer)
    consumer.close()
    assert seen == sorted(f"v{i}" for i in range(10))
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.delete_topics([topic])
    admin.close()


def test_clickhouse_migrations_apply_once(services_up, clickhouse_database: str) -> None:
    assert migrate(services_up, clickhouse_database) == []  # the fixture already applied them
    client = Client(**services_up.clickhouse.client_kwargs(database=clickhouse_database))
    try:
        (version,) = client.execute("SELECT version()")[0]
        applied = client.execute("SELECT count() FROM schema_migrations")[0][0]
    finally:
        client.disconnect()
    assert version.startswith(("18.", "2"))
    assert applied == len(list((REPO_ROOT / "infra/clickhouse/migrations").glob("*.sql")))


def test_infra_status_reports_both_core_services_ready(services_up) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra", "status", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        env={**services_up.as_env(), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "kafka"' in result.stdout and '"state": "ready"' in result.stdout
