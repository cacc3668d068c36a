"""Producing one stream batch's records: a record batch per topic partition, acks awaited once.

The worker publishes several records per event (outcome, ledger entry, validity,
notification) and a changelog record per owner state it changes. Sent one by one through
Faust's `Topic.send`, every record paid for a Faust future message, its sensors, a producer
future of its own and aiokafka's partitioner: that was most of the worker's produce path.
An `Outbox` appends the records to one aiokafka `BatchBuilder` per topic partition, hands
each builder whole to the producer (`send_batch`) and waits for all the acks at once.

Within a partition the records keep the order they were added in (a partition's builders
are submitted one after the other, each only once the previous one is queued). A keyed
record goes where Kafka's default partitioner puts it (murmur2 of the key, as the Java
client, Faust and aiokafka do), so compaction and per-key order hold as before.

`send_batch`, unlike aiokafka's `send`, does not wait for metadata: it refuses a partition
its producer does not know yet (a topic created a moment ago, partitions added since the
last refresh). The outbox waits for the partition to be known before it hands over a batch.
"""

from __future__ import annotations

import asyncio
import random

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata, TopicPartition

# Keys repeat (an owner has many events), and murmur2 is pure Python: remember the hashes,
# forgetting them all now and then so that memory stays bounded.
_HASH_MEMORY = 100_000
# How long a partition may stay unknown to the producer's metadata before delivery fails.
_METADATA_WAIT_S = 30.0


class UnknownPartition(Exception):
    """A partition the broker's metadata still did not list after `_METADATA_WAIT_S`."""


class Outbox:
    """Records to produce, grouped by topic partition until `deliver` sends them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partition_counts: dict[str, int] = {}
        self._hashes: dict[bytes, int] = {}
        self._builders: dict[TopicPartition, list[BatchBuilder]] = {}

    async def add(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        """Queue one record; `partition` None lets the key choose, as Kafka's clients do."""
        if partition is None:
            partition = await self._partition_for(topic, key)
        tp = TopicPartition(topic, partition)
        builders = self._builders.get(tp)
        if builders is None:
            builders = self._builders[tp] = [self._producer.create_batch()]
        if builders[-1].append(timestamp=None, key=key, value=value) is None:
            # Full: the record starts the partition's next batch (a first record always fits).
            builders.append(self._producer.create_batch())
            builders[-1].append(timestamp=None, key=key, value=value)

    def __len__(self) -> int:
        return sum(b.record_count() for builders in self._builders.values() for b in builders)

    async def deliver(self) -> dict[TopicPartition, int]:
        """Send everything queued and wait until Kafka has acknowledged all of it.

        Returns the offset of the last record written to each partition. Raises what the
        producer raised if any batch failed (after aiokafka's own retries); some other
        batches may then have been written, which at-least-once processing allows.
        """
        queued, self._builders = self._builders, {}
        submitted = await asyncio.gather(
            *(self._submit(tp, builders) for tp, builders in queued.items())
        )
        acks = [ack for batch_acks in submitted for ack in batch_acks]
        written: list[RecordMetadata] = await asyncio.gather(*acks)
        last: dict[TopicPartition, int] = {}
        counts = [b.record_count() for builders in queued.values() for b in builders]
        for meta, count in zip(written, counts, strict=True):
            tp = TopicPartition(meta.topic, meta.partition)
            last[tp] = max(last.get(tp, -1), meta.offset + count - 1)
        return last

    async def _submit(
        self, tp: TopicPartition, builders: list[BatchBuilder]
    ) -> list[asyncio.Future[RecordMetadata]]:
        await self._known(tp)
        acks = []
        for builder in builders:
            # Closed, so that the producer's own `send` never adds records to it.
            builder.close()
            acks.append(await self._producer.send_batch(builder, tp.topic, partition=tp.partition))
        return acks

    async def _known(self, tp: TopicPartition) -> None:
        """Return once the producer's metadata lists `tp` (at once, almost always)."""
        client = self._producer.client
        if tp.partition in (client.cluster.partitions_for_topic(tp.topic) or ()):
            return
        deadline = asyncio.get_running_loop().time() + _METADATA_WAIT_S
        pause = 0.05
        while True:
            await self._producer.partitions_for(tp.topic)  # waits while the topic is unknown
            if tp.partition in (client.cluster.partitions_for_topic(tp.topic) or ()):
                self._partition_counts.pop(tp.topic, None)  # counted again when next needed
                return
            if asyncio.get_running_loop().time() > deadline:
                raise UnknownPartition(f"{tp.topic}[{tp.partition}] not in the broker's metadata")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
            await client.force_metadata_update()

    async def _partition_for(self, topic: str, key: bytes | None) -> int:
        count = self._partition_counts.get(topic)
        if count is None:
            count = self._partition_counts[topic] = len(await self._producer.partitions_for(topic))
        if key is None:
            return random.randrange(count)
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= _HASH_MEMORY:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed % count
