"""The worker's outbox against the real Kafka: records land where Kafka's default
partitioner puts them, in the order added, and `deliver` reports the offsets written."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from kafka.admin import KafkaAdminClient, NewTopic

from streams.outbox import Outbox

pytestmark = pytest.mark.integration

PARTITIONS = 3


def _create_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-outbox")
    try:
        admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        admin.close()


async def _read_all(bootstrap: str, topic: str, count: int) -> list:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list = []
    try:
        async with asyncio.timeout(30):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def _send_through_outbox(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, int | None]], **kw
) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **kw)
    await producer.start()
    try:
        outbox = Outbox(producer)
        for key, value, partition in records:
            await outbox.add(topic, key, value, partition)
        assert len(outbox) == len(records)
        written = await outbox.deliver()
        assert len(outbox) == 0
        return {tp.partition: offset for tp, offset in written.items()}
    finally:
        await producer.stop()


def test_keyed_records_land_on_the_default_partition_in_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}outbox-{secrets.token_hex(3)}"
    _create_topic(kafka_bootstrap, topic)
    sent = [(f"nis|NI{i % 17:03d}AB".encode(), f"v{i}".encode(), None) for i in range(120)]
    sent.append((b"nis|NI000AB", None, None))  # a tombstone keeps its key and no value
    sent.append((b"tick@1", b"pinned", 1))  # an explicit partition wins over the key

    last = asyncio.run(_send_through_outbox(kafka_bootstrap, topic, sent))
    got = asyncio.run(_read_all(kafka_bootstrap, topic, len(sent)))

    choose = DefaultPartitioner()
    everything = list(range(PARTITIONS))
    expected: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
    for key, value, partition in sent:
        where = partition if partition is not None else choose(key, everything, everything)
        expected.setdefault(where, []).append((key, value))
    for partition, records in expected.items():
        on_partition = sorted((r for r in got if r.partition == partition), key=lambda r: r.offset)
        assert [(r.key, r.value) for r in on_partition] == records
        assert last[partition] == on_partition[-1].offset


def test_a_partition_larger_than_one_batch_keeps_its_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}outbox-{secrets.token_hex(3)}"
    _create_topic(kafka_bootstrap, topic)
    # About 40 KB for one partition through 4 KB batches: ten builders, sent one by one.
    sent = [(b"k", f"{i:05d}".encode() * 80, 0) for i in range(100)]

    last = asyncio.run(_send_through_outbox(kafka_bootstrap, topic, sent, max_batch_size=4096))
    got = asyncio.run(_read_all(kafka_bootstrap, topic, len(sent)))

    assert [r.value for r in sorted(got, key=lambda r: r.offset)] == [v for _, v, _ in sent]
    assert last == {0: max(r.offset for r in got)}


def test_outbox_waits_for_a_partition_its_producer_does_not_know_yet(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """`send_batch` refuses a partition missing from the producer's metadata (a topic just
    created, or partitions added since the last refresh: the demo's worker crashed on it
    at start-up). The outbox refreshes the metadata and delivers."""
    from kafka.admin import NewPartitions

    topic = f"{topic_prefix}outbox-grow-{secrets.token_hex(3)}"
    _create_topic(kafka_bootstrap, topic)

    async def run() -> dict:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            assert await producer.partitions_for(topic) == set(range(PARTITIONS))
            admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="test-outbox")
            try:
                admin.create_partitions({topic: NewPartitions(total_count=PARTITIONS + 1)})
            finally:
                admin.close()
            # the producer's metadata is minutes from its next refresh: it lists 3 partitions
            assert PARTITIONS not in producer.client.cluster.partitions_for_topic(topic)
            outbox = Outbox(producer)
            await outbox.add(topic, b"k", b"to the new partition", PARTITIONS)
            written = await outbox.deliver()
            return {tp.partition: offset for tp, offset in written.items()}
        finally:
            await producer.stop()

    assert asyncio.run(run()) == {PARTITIONS: 0}
    (record,) = asyncio.run(_read_all(kafka_bootstrap, topic, 1))
    assert (record.partition, record.value) == (PARTITIONS, b"to the new partition")
