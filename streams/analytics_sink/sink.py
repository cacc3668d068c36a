"""The sink process: consume the platform's topics, map, batch, insert, then commit.

One kafka-python consumer (group `ANALYTICS_SINK_GROUP`) reads every record topic; the
consumer thread maps records to rows (`rows.py`) and fills a `Batcher`; a due batch goes
to the writer thread (its own ClickHouse client), which inserts it, retrying with backoff
while ClickHouse is down. Only when a batch is fully inserted does the consumer thread
commit the batch's offsets. While a batch waits for ClickHouse, the consumer keeps polling
(so it stays in its group) but pauses its partitions once the next batch is full, so
memory stays bounded and nothing is read that could not be written.

Guarantee: every record is in ClickHouse at least once; the ReplacingMergeTree tables and
FINAL/argMax queries make that exactly once in query results.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from infra.clickhouse.migrations import migrate
from infra.settings import Settings
from streams.analytics_sink.batch import Batch, Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer, key_from_env
from streams.analytics_sink.retention import apply_retention
from streams.analytics_sink.rows import Meta, Unmappable, map_record, mappers, unmappable_row
from streams.analytics_sink.writer import Backoff, ClickHouseWriter
from streams.contract import Topics
from streams.topology import ensure_topics

log = logging.getLogger("streams.analytics_sink")


@dataclass(frozen=True)
class SinkConfig:
    """The sink's own settings (environment variables, see docs/analytics.md)."""

    group: str = "analytics-sink"
    max_rows: int = 50_000
    max_age_s: float = 1.0
    partitions: int = 8
    personal_days: int = 90
    retention_every_s: float = 3600.0
    check_crcs: bool = False
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SinkConfig:
        env = os.environ if environ is None else environ
        max_rows = int(env.get("ANALYTICS_BATCH_ROWS", "50000"))
        if not 1 <= max_rows <= 1_000_000:
            raise ValueError("ANALYTICS_BATCH_ROWS must be 1..1000000")
        return cls(
            group=env.get("ANALYTICS_SINK_GROUP", "analytics-sink"),
            max_rows=max_rows,
            max_age_s=float(env.get("ANALYTICS_BATCH_SECONDS", "1.0")),
            partitions=int(env.get("STREAMS_PARTITIONS", "8")),
            personal_days=int(env.get("ANALYTICS_PERSONAL_DAYS", "90")),
            backoff=Backoff(max_s=float(env.get("ANALYTICS_RETRY_MAX_SECONDS", "5"))),
            check_crcs=env.get("ANALYTICS_CHECK_CRCS", "0") == "1",
        )


@dataclass
class SinkStats:
    records: int = 0
    rows: int = 0
    batches: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    retries: int = 0
    commit_failures: int = 0


class _Revoked(ConsumerRebalanceListener):
    def __init__(self, sink: AnalyticsSink) -> None:
        self._sink = sink

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # What is pending but not inserted is dropped: positions restart from the committed
        # offsets, so Kafka delivers it again (to us or to the new owner).
        if not self._sink.batcher.empty:
            log.info(
                "partitions revoked: dropping %d pending rows", self._sink.batcher.pending_rows
            )
        self._sink.batcher.discard()

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))


class AnalyticsSink:
    """Consumer thread + writer thread; `run(stop)` until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        config: SinkConfig,
        pseudonyms: Pseudonymizer,
        database: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.config = config
        self.pseudonyms = pseudonyms
        self.database = database or settings.clickhouse.database
        self.clock = clock
        self.batcher = Batcher(config.max_rows, config.max_age_s)
        self.stats = SinkStats()
        self.writer = ClickHouseWriter(settings.clickhouse, self.database)
        self._mappers = mappers(topics)
        self._to_write: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._written: queue.Queue[Batch] = queue.Queue()
        self._stop = threading.Event()
        self.ready = threading.Event()

    # --- writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = self._to_write.get()
            if batch is None:
                return
            ok = self.writer.insert_until_done(
                batch, self.config.backoff, self._stop.is_set, self._on_retry
            )
            if not ok:
                return  # stopping: not committed, Kafka redelivers it to the next run
            self._written.put(batch)

    def _on_retry(self, attempt: int, delay: float, exc: Exception) -> None:
        self.stats.retries += 1
        log.warning(
            "ClickHouse insert failed (attempt %d), retrying in %.1f s: %s",
            attempt,
            delay,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )

    # --- consumer thread -------------------------------------------------------------------

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.config.group,
            client_id=f"{self.config.group}-{os.getpid()}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            # kafka-python verifies record CRCs in pure Python: 18k instead of 120k records/s
            # on one core (docs/analytics.md). TCP and the broker's own checks on write
            # guard the bytes; a corrupt record would still fail JSON parsing and be kept
            # as a dead letter. ANALYTICS_CHECK_CRCS=1 turns the check back on.
            check_crcs=self.config.check_crcs,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )

    def _map(self, msg: object) -> None:
        topic, partition, offset = msg.topic, msg.partition, msg.offset  # type: ignore[attr-defined]
        meta = Meta(topic, partition, offset, msg.timestamp or 0)  # type: ignore[attr-defined]
        value = msg.value  # type: ignore[attr-defined]
        try:
            rows = map_record(self._mappers[topic], value, meta, self.pseudonyms)
        except Unmappable as exc:
            if topic == self.topics.raw:
                # An invalid inbound event: the worker dead-letters it with its reasons.
                rows = []
                self.stats.skipped += 1
            else:
                rows = [("dead_letters", unmappable_row(value, meta, str(exc), self.pseudonyms))]
                self.stats.dead_lettered += 1
                log.warning("unmappable record %s:%d:%d: %s", topic, partition, offset, exc)
        self.batcher.add(topic, partition, offset, rows, self.clock())
        self.stats.records += 1

    def _commit(self, consumer: KafkaConsumer, batch: Batch) -> None:
        assigned = consumer.assignment()
        offsets = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
            for (t, p), o in batch.offsets.items()
            if TopicPartition(t, p) in assigned
        }
        self.stats.batches += 1
        self.stats.rows += batch.row_count
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except KafkaError as exc:
            # The rows are in ClickHouse; Kafka will redeliver them and they collapse.
            self.stats.commit_failures += 1
            log.warning("offset commit failed (records will be re-read): %s", exc)
            return
        self._record_progress(consumer, batch)

    def _record_progress(self, consumer: KafkaConsumer, batch: Batch) -> None:
        try:
            tps = [TopicPartition(t, p) for (t, p) in batch.offsets]
            ends = consumer.end_offsets(tps)
            now = datetime.now(UTC)
            stamp = int(now.timestamp())
            version = int(now.timestamp() * 1_000_000)
            rows = [
                (
                    self.config.group,
                    tp.topic,
                    tp.partition,
                    batch.offsets[(tp.topic, tp.partition)],
                    ends.get(tp, 0),
                    batch.row_count,
                    stamp,
                    version,
                )
                for tp in tps
            ]
            self.writer.execute(
                "INSERT INTO sink_progress (consumer_group, topic, kafka_partition, "
                "committed_offset, end_offset, rows_written, at, version) VALUES",
                rows,
            )
        except Exception as exc:  # progress is informative only
            log.debug("could not record sink progress: %s", exc)

    def _poll_timeout_ms(self, now: float) -> int:
        if self._to_write.full():
            return 200  # the writer is busy (or ClickHouse is down): no hurry to read more
        return max(10, int(min(0.2, self.batcher.wait_s(now)) * 1000))

    def _commit_written(self, consumer: KafkaConsumer) -> None:
        while True:
            try:
                done = self._written.get_nowait()
            except queue.Empty:
                return
            self._commit(consumer, done)

    def run(self, stop: threading.Event, flush_timeout_s: float = 10.0) -> SinkStats:
        """Consume until `stop` is set; then flush what is pending (within the timeout)."""
        ensure_topics(self.settings.kafka_bootstrap, self.topics, self.config.partitions)
        self._ensure_schema()
        consumer = self._consumer()
        consumer.subscribe(sorted(self._mappers), listener=_Revoked(self))
        writer = threading.Thread(target=self._write_loop, name="clickhouse-writer", daemon=True)
        writer.start()
        retention_at = 0.0
        paused = False
        log.info(
            "analytics sink: group %s, topics %s -> ClickHouse %s:%d/%s",
            self.config.group,
            sorted(self._mappers),
            self.settings.clickhouse.host,
            self.settings.clickhouse.port,
            self.database,
        )
        try:
            while not stop.is_set():
                records = consumer.poll(timeout_ms=self._poll_timeout_ms(self.clock()))
                if not self.ready.is_set() and consumer.assignment():
                    self.ready.set()
                for partition_records in records.values():
                    for msg in partition_records:
                        self._map(msg)
                self._commit_written(consumer)
                now = self.clock()
                if self.batcher.due(now) and not self._to_write.full():
                    self._to_write.put_nowait(self.batcher.drain())
                full = self.batcher.pending_rows >= self.config.max_rows
                if full and not paused:
                    consumer.pause(*consumer.assignment())
                    paused = True
                elif not full and paused:
                    consumer.resume(*consumer.paused())
                    paused = False
                if now >= retention_at:
                    retention_at = now + self.config.retention_every_s
                    self._retention()
        finally:
            deadline = time.monotonic() + flush_timeout_s
            try:
                if not self.batcher.empty:
                    self._to_write.put(self.batcher.drain(), timeout=flush_timeout_s)
                self._to_write.put(None, timeout=max(0.1, deadline - time.monotonic()))
            except queue.Full:
                pass
            writer.join(timeout=max(0.1, deadline - time.monotonic()))
            self._stop.set()  # a writer still retrying gives up; those rows are not committed
            writer.join(timeout=5)
            self._commit_written(consumer)
            consumer.close(autocommit=False)
            self.writer.close()
        return self.stats

    def _ensure_schema(self) -> None:
        """Apply pending migrations (infra does too; this covers a sink started alone).
        ClickHouse being down is not fatal: the inserts retry until it is back."""
        try:
            applied = migrate(self.settings, self.database)
        except Exception as exc:
            log.warning("could not apply the ClickHouse schema now (will retry inserts): %s", exc)
            return
        if applied:
            log.info("applied migrations %s", applied)

    def _retention(self) -> None:
        try:
            cleared = apply_retention(
                self.writer, datetime.now(UTC).date(), self.config.personal_days
            )
        except Exception as exc:  # retried at the next interval
            log.warning("retention pass failed: %s", exc)
            self.writer.reset()
            return
        if cleared:
            log.info("retention cleared personal columns of %s", cleared)


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("ANALYTICS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env()
    topics = Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", ""))
    sink = AnalyticsSink(settings, topics, SinkConfig.from_env(), Pseudonymizer(key_from_env()))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stats = sink.run(stop)
    log.info("analytics sink stopped: %s", stats)
    return 0
