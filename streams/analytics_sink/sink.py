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

import argparse
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from dashboards.rollups import refresh as refresh_rollups
from infra.clickhouse.migrations import migrate
from infra.settings import Settings
from streams.analytics_sink.batch import Batch, Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer, key_from_env
from streams.analytics_sink.retention import apply_retention
from streams.analytics_sink.rows import (
    Meta,
    TableRows,
    Unmappable,
    map_record,
    mappers,
    unmappable_row,
)
from streams.analytics_sink.writer import Backoff, ClickHouseWriter
from streams.contract import Topics
from streams.group_consumer import group_consumer
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
    rollup_every_s: float = 300.0
    #: Retention and rollups: one process of a group does them (`--processes`: worker 0).
    housekeeping: bool = True
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
            rollup_every_s=float(env.get("ANALYTICS_ROLLUP_SECONDS", "300")),
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
    rollup_runs: int = 0
    rollup_days: int = 0


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

    # --- rollup thread ---------------------------------------------------------------------

    def _rollup_loop(self, stop: threading.Event) -> None:
        """Recompute closed days of the dashboards' daily rollups whose records changed.
        Its own thread and client: a first run over months of data takes minutes, which
        must not hold up polling (the group would drop this member)."""
        while not stop.is_set():
            try:
                days = refresh_rollups(self.writer, stopping=stop.is_set)
                self.stats.rollup_runs += 1
                self.stats.rollup_days += len(days)
            except Exception as exc:  # ClickHouse down: the next interval retries
                log.warning("rollup refresh failed: %s", (str(exc) or repr(exc)).splitlines()[0])
                self.writer.reset()
            if stop.wait(self.config.rollup_every_s):
                return

    # --- consumer thread -------------------------------------------------------------------

    def _consumer(self) -> KafkaConsumer:
        return group_consumer(
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

    def _map_run(self, topic: str, partition: int, msgs: list[Any], now: float) -> None:
        """Map a fetched run of records of one partition and add them to the batch at once
        (per-record bookkeeping in the batcher cost as much as the JSON parsing)."""
        mapper = self._mappers[topic]
        ps = self.pseudonyms
        rows: TableRows = []
        extend = rows.extend
        for msg in msgs:
            meta = Meta(topic, partition, msg.offset, msg.timestamp or 0)
            try:
                extend(map_record(mapper, msg.value, meta, ps))
            except Unmappable as exc:
                if topic == self.topics.raw:
                    # An invalid inbound event: the worker dead-letters it with its reasons.
                    self.stats.skipped += 1
                else:
                    rows.append(("dead_letters", unmappable_row(msg.value, meta, str(exc), ps)))
                    self.stats.dead_lettered += 1
                    log.warning("unmappable record %s:%d:%d: %s", topic, partition, msg.offset, exc)
        self.batcher.add_records(topic, partition, msgs[-1].offset, rows, len(msgs), now)
        self.stats.records += len(msgs)

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
        if self.config.housekeeping and self.config.rollup_every_s > 0:
            threading.Thread(
                target=self._rollup_loop, args=(stop,), name="rollups", daemon=True
            ).start()
        retention_at = 0.0 if self.config.housekeeping else float("inf")
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
                now = self.clock()
                for tp, partition_records in records.items():
                    if partition_records:
                        self._map_run(tp.topic, tp.partition, partition_records, now)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.analytics_sink")
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("ANALYTICS_SINK_PROCESSES", "1")),
        help="worker processes in one consumer group (one core each; default 1)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("ANALYTICS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.processes != 1:
        from streams.analytics_sink.processes import run_processes

        return run_processes(args.processes, stop)
    settings = Settings.from_env()
    topics = Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", ""))
    sink = AnalyticsSink(settings, topics, SinkConfig.from_env(), Pseudonymizer(key_from_env()))
    stats = sink.run(stop)
    log.info("analytics sink stopped: %s", stats)
    return 0
