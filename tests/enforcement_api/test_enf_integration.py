"""The API on real Kafka: replica from the validity topic, audit and ingestion topics,
two replicas agreeing, and an absent broker answered with the NIS-8 reply."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from enforcement_api.audit import KafkaAuditTrail
from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.main import create_app, kafka_services
from streams.contract import CheckRecord, ClockMark, Topics, clock_key, format_time
from tests.enforcement_api.enf_helpers import (
    ISSUER,
    NIS_UNAVAILABLE_SR,
    SECRET,
    SMS,
    ent,
    make_token,
    record,
    utc,
)

pytestmark = pytest.mark.integration

TUE9 = utc("2026-11-24T09:00")
WARDEN = make_token("warden", "nis", subject="W-int")
INGEST = make_token("ingest", "nis", subject="gw-int")


@pytest.fixture(scope="module")
def topics(topic_prefix: str) -> Topics:
    return Topics(f"{topic_prefix}enf.")


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=0)
    yield p
    p.close()


def settings_for(bootstrap: str, topics: Topics, **kw) -> ApiSettings:
    return ApiSettings(
        kafka_bootstrap=bootstrap,
        topics=topics,
        partitions=2,
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        rate_per_s=0,
        **kw,
    )


def start_api(bootstrap: str, topics: Topics, **kw) -> TestClient:
    services = kafka_services(settings_for(bootstrap, topics, **kw), CityDirectory())
    return TestClient(create_app(services))


def wait_ready(client: TestClient, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return response.json()
        time.sleep(0.1)
    pytest.fail(f"replica not ready: {client.get('/readyz').text}")


def plate(client: TestClient, number: str, moment) -> dict:
    response = client.get(
        f"/v1/cities/nis/plates/{number}",
        params={"at": format_time(moment)},
        headers={"Authorization": f"Bearer {WARDEN}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def read_topic(bootstrap: str, topic: str, until, timeout_s: float = 15.0) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen: list = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=200).values():
                seen.extend(messages)
            if until(seen):
                return seen
        pytest.fail(f"{topic}: expected records did not arrive ({len(seen)} seen)")
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def loaded(kafka_bootstrap: str, topics: Topics, producer: KafkaProducer) -> Iterator[Topics]:
    """The product's topics (2 partitions) with Niš plates on the validity topic; deleted
    after the module."""
    from kafka.admin import KafkaAdminClient

    from streams.topology import ensure_topics

    created = ensure_topics(kafka_bootstrap, topics, 2)
    verdict = TUE9 + timedelta(minutes=3)
    records = [
        record("NI123AB", [ent("n1", TUE9), ent("n2", TUE9 + timedelta(hours=1))]),
        record("NI777ŠĐ", [ent("n3", TUE9, state="revoked", revoked_at=verdict)]),
        record("NI555XX", [ent("n4", TUE9)]),
    ]
    for rec in records:
        producer.send(topics.validity, key=rec.key.encode(), value=rec.to_json())
    producer.send(topics.validity, key=records[2].key.encode(), value=None)  # tombstone
    mark = ClockMark(city="nis", partition=0, reached=TUE9 + timedelta(hours=1, minutes=5))
    producer.send(topics.validity, key=clock_key("nis", "raw", 0).encode(), value=mark.to_json())
    producer.flush()
    yield topics
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.delete_topics(created)
    finally:
        admin.close()


def test_enf1_replica_answers_from_the_validity_topic_with_as_of(kafka_bootstrap, loaded):
    """Every status value, near misses and a batch, answered from a replica fed by Kafka."""
    with start_api(kafka_bootstrap, loaded) as client:
        ready = wait_ready(client)
        assert ready["replica"]["subjects"] == 2  # the tombstoned plate is gone
        body = plate(client, "NI123AB", TUE9 + timedelta(minutes=30))
        assert body["status"] == "valid"
        assert body["valid_until"] == format_time(TUE9 + timedelta(hours=2))
        assert body["as_of"] == format_time(TUE9 + timedelta(hours=1, minutes=5))
        end = TUE9 + timedelta(hours=2)
        assert plate(client, "NI123AB", end + timedelta(minutes=2))["status"] == "grace"
        expired = plate(client, "NI123AB", end + timedelta(hours=1))
        assert (expired["status"], expired["expired_at"]) == ("expired", format_time(end))
        assert plate(client, "NI123AB", utc("2026-11-29T11:00"))["status"] == "not_required"
        assert plate(client, "NI777ŠĐ", TUE9 + timedelta(minutes=5))["status"] == "revoked"
        assert plate(client, "NI555XX", TUE9 + timedelta(minutes=5))["status"] == "none"
        near = plate(client, "NI123A8", TUE9 + timedelta(minutes=30))
        assert [s["plate"] for s in near["suggestions"]] == ["NI123AB"]
        batch = client.post(
            "/v1/cities/nis/plates:check",
            json={
                "plates": ["NI123AB", "NI777ŠĐ", "BG999ZZ"],
                "at": format_time(TUE9 + timedelta(minutes=10)),
            },
            headers={"Authorization": f"Bearer {WARDEN}"},
        )
        assert batch.status_code == 200, batch.text
        assert [r["status"] for r in batch.json()["results"]] == ["valid", "revoked", "none"]


def test_enf1_a_new_record_reaches_the_answer_and_two_replicas_agree(
    kafka_bootstrap, loaded, producer
):
    with (
        start_api(kafka_bootstrap, loaded) as one,
        start_api(kafka_bootstrap, loaded) as two,
    ):
        wait_ready(one)
        wait_ready(two)
        moment = TUE9 + timedelta(hours=2, minutes=10)
        assert plate(one, "NI900ZZ", moment)["status"] == "none"
        fresh = record("NI900ZZ", [ent("n9", TUE9 + timedelta(hours=2))])
        producer.send(loaded.validity, key=fresh.key.encode(), value=fresh.to_json())
        producer.flush()
        deadline = time.monotonic() + 10
        while plate(one, "NI900ZZ", moment)["status"] != "valid":
            assert time.monotonic() < deadline, "new validity record never reached the API"
            time.sleep(0.05)
        while plate(two, "NI900ZZ", moment)["status"] != "valid":
            assert time.monotonic() < deadline, "second replica never got the record"
            time.sleep(0.05)
        for number in ("NI123AB", "NI777ŠĐ", "NI900ZZ", "NI555XX", "NI123A8"):
            a, b = plate(one, number, moment), plate(two, number, moment)
            a.pop("check_id"), b.pop("check_id")
            assert a == b


def test_enf3_each_check_lands_on_the_audit_topic(kafka_bootstrap, loaded):
    with start_api(kafka_bootstrap, loaded) as client:
        wait_ready(client)
        answer = plate(client, "NI123AB", TUE9 + timedelta(minutes=30))
        check_id = answer["check_id"]

    def found(messages):
        return any(json.loads(m.value)["check_id"] == check_id for m in messages)

    messages = read_topic(kafka_bootstrap, loaded.audit, found)
    audit = next(
        CheckRecord.from_json(m.value)
        for m in messages
        if json.loads(m.value)["check_id"] == check_id
    )
    assert (audit.officer, audit.subject, audit.status) == ("W-int", "NI123AB", "valid")
    assert format_time(audit.as_of) == answer["as_of"]
    assert audit.at == TUE9 + timedelta(minutes=30)


def test_ingest_stores_events_on_events_raw_keyed_by_owner(kafka_bootstrap, loaded):
    event = {**SMS, "id": f"sms-int-{time.time_ns()}"}
    with start_api(kafka_bootstrap, loaded) as client:
        response = client.post(
            "/v1/events", json=event, headers={"Authorization": f"Bearer {INGEST}"}
        )
        assert response.status_code == 202, response.text

    def found(messages):
        return any(json.loads(m.value)["id"] == event["id"] for m in messages)

    messages = read_topic(kafka_bootstrap, loaded.raw, found)
    stored = next(m for m in messages if json.loads(m.value)["id"] == event["id"])
    assert stored.key == b"nis|NI123AB"


def test_nis8_kafka_unavailable_gives_503_with_the_reply_text(topics):
    from tests.conftest import free_port

    dead = f"127.0.0.1:{free_port()}"
    with start_api(dead, topics, ensure_topics=False, ingest_timeout_s=2) as client:
        response = client.post(
            "/v1/events", json=SMS, headers={"Authorization": f"Bearer {INGEST}"}
        )
        assert response.status_code == 503
        assert response.json()["reply"] == NIS_UNAVAILABLE_SR
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


def test_enf3_the_audit_trail_forwards_every_record_keyed_by_city_in_order(kafka_bootstrap, loaded):
    """ENF-3: the forwarder process writes each payload as record batches per partition;
    every record arrives once, under its city's key, in the order it was recorded."""
    trail = KafkaAuditTrail(kafka_bootstrap, loaded.audit, interval_s=0.01, max_batch=700)
    run = f"fwd-{time.time_ns()}"
    cities = ("nis", "hradec", "tarnow")
    sent = [(cities[i % 3], json.dumps({"check_id": f"{run}-{i}"}).encode()) for i in range(3000)]
    trail.start()
    for city, value in sent:
        trail.record(city, value)
    trail.stop()
    assert trail.forwarded == 3000 and trail.dropped == 0

    def ours(messages):
        return [m for m in messages if json.loads(m.value)["check_id"].startswith(run)]

    messages = ours(read_topic(kafka_bootstrap, loaded.audit, lambda ms: len(ours(ms)) >= 3000))
    assert len(messages) == 3000
    for city in cities:
        got = [m.value for m in messages if m.key == city.encode()]
        assert got == [value for c, value in sent if c == city]


def test_enf3_a_full_audit_queue_counts_what_it_could_not_keep():
    """ENF-3: a broker away for long must not grow the API without bound: past its
    capacity the trail counts dropped records (never logs them: they name plates)."""
    trail = KafkaAuditTrail("127.0.0.1:1", "unused", capacity=2)
    for n in range(3):
        trail.record("nis", b'{"check_id":"c%d"}' % n)
    assert (trail.pending, trail.dropped) == (2, 1)
