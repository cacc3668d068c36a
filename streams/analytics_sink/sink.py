"""The sink process: consume the platform's topics, map, batch, insert, then commit.

One aiokafka consumer (group `ANALYTICS_SINK_GROUP`) reads every record topic; it runs on
an asyncio loop in the consumer thread, which maps each fetched run of records straight
into the columns of a `Batcher` (`rows.py`); a due batch goes to the writer thread (its
own ClickHouse client), which inserts it, retrying with backoff while ClickHouse is down.
Only when a batch is fully inserted does the consumer thread commit the batch's offsets.
While a batch waits for ClickHouse, the consumer keeps calling `getmany` (so it stays in
its group) but pauses its partitions once the next batch is full, so memory stays
bounded and nothing is read that could not be written. Nothing that blocks (ClickHouse
calls, waiting for the writer) runs on the loop itself: aiokafka heartbeats from it.

aiokafka rather than kafka-python: it decodes record batches (and checks their CRCs) in C,
~5 instead of ~15-20 µs per record here; kafka-python's pure-Python decoding was the
largest single cost of the sink (docs/analytics.md, docs/PERFORMANCE.md).

Guarantee: every record is in ClickHouse at least once; the ReplacingMergeTree tables and
FINAL/argMax queries make that exactly once in query results.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from dashboards.rollups import refresh as refresh_rollups
from infra.clickhouse.migrations import migrate
from infra.settings import Settings
from streams.analytics_sink.batch import Batch, Batcher
from streams.analytics_sink.pseudonyms import Pseudonymizer, key_from_env
from streams.analytics_sink.retention import apply_retention
from streams.analytics_sink.rows import Failed, Meta, append_row, mappers, unmappable_row
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
    rollup_every_s: float = 300.0
    #: Retention and rollups: one process of a group does them (`--processes`: worker 0).
    housekeeping: bool = True
    check_crcs: bool = True
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
            check_crcs=env.get("ANALYTICS_CHECK_CRCS", "1") == "1",
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

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # What is pending but not inserted is dropped: positions restart from the committed
        # offsets, so Kafka delivers it again (to us or to the new owner). (Runs on the
        # loop between two awaits of the consumer thread, never in the middle of mapping.)
        if not self._sink.batcher.empty:
            log.info(
                "partitions revoked: dropping %d pending rows", self._sink.batcher.pending_rows
            )
        self._sink.batcher.discard()

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))


class AnalyticsSink:
    """Consumer thread (asyncio) + writer thread; `run(stop)` until `stop` is set."""

    #: Records per `getmany`: mapped in one go on the loop (~50 ms), a fifth of a batch.
    FETCH_RECORDS = 10_000

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
        self._side_task: asyncio.Task[None] | None = None
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
        must not hold up the consumer (the group would drop this member)."""
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

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.config.group,
            client_id=f"{self.config.group}-{os.getpid()}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # aiokafka checks record CRCs in C (no measurable cost in the benchmark);
            # ANALYTICS_CHECK_CRCS=0 turns the check off.
            check_crcs=self.config.check_crcs,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )

    def _map_runs(self, fetched: dict[TopicPartition, list[ConsumerRecord]], now: float) -> None:
        """Map every fetched run of records (one per partition) into the batch's columns
        and count it in the batch at once (no await in here: no rebalance in between)."""
        tables = self.batcher.tables
        ps = self.pseudonyms
        for tp, run in fetched.items():
            if not run:
                continue
            topic, partition = tp.topic, tp.partition
            failed: Failed = []
            self._mappers[topic](run, partition, tables, ps, failed)
            for rec, reason in failed:
                if topic == self.topics.raw:
                    # An invalid inbound event: the worker dead-letters it with its reasons.
                    self.stats.skipped += 1
                    continue
                meta = Meta(topic, partition, rec.offset, rec.timestamp or 0)
                append_row(tables, "dead_letters", unmappable_row(rec.value, meta, reason, ps))
                self.stats.dead_lettered += 1
                log.warning("unmappable record %s:%d:%d: %s", topic, partition, rec.offset, reason)
            self.batcher.add_run(topic, partition, run[-1].offset, len(run), now)
            self.stats.records += len(run)

    async def _commit(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        assigned = consumer.assignment()
        offsets = {
            tp: offset
            for (t, p), offset in batch.offsets.items()
            if (tp := TopicPartition(t, p)) in assigned
        }
        self.stats.batches += 1
        self.stats.rows += batch.row_count
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # The rows are in ClickHouse; Kafka will redeliver them and they collapse.
            self.stats.commit_failures += 1
            log.warning("offset commit failed (records will be re-read): %s", exc)
            return
        if self._side_task is None or self._side_task.done():
            self._side_task = asyncio.create_task(self._record_progress(consumer, batch))

    async def _record_progress(self, consumer: AIOKafkaConsumer, batch: Batch) -> None:
        try:
            tps = [TopicPartition(t, p) for (t, p) in batch.offsets]
            ends = await consumer.end_offsets(tps)
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
            await asyncio.to_thread(
                self.writer.execute,
                "INSERT INTO sink_progress (consumer_group, topic, kafka_partition, "
                "committed_offset, end_offset, rows_written, at, version) VALUES",
                rows,
            )
        except Exception as exc:  # progress is informative only
            log.debug("could not record sink progress: %s", exc)

    def _fetch_timeout_ms(self, now: float) -> int:
        if self._to_write.full():
            return 200  # the writer is busy (or ClickHouse is down): no hurry to read more
        return max(10, int(min(0.2, self.batcher.wait_s(now)) * 1000))

    async def _commit_written(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                done = self._written.get_nowait()
            except queue.Empty:
                return
            await self._commit(consumer, done)

    def run(self, stop: threading.Event, flush_timeout_s: float = 10.0) -> SinkStats:
        """Consume until `stop` is set; then flush what is pending (within the timeout)."""
        ensure_topics(self.settings.kafka_bootstrap, self.topics, self.config.partitions)
        self._ensure_schema()
        writer = threading.Thread(target=self._write_loop, name="clickhouse-writer", daemon=True)
        writer.start()
        if self.config.housekeeping and self.config.rollup_every_s > 0:
            threading.Thread(
                target=self._rollup_loop, args=(stop,), name="rollups", daemon=True
            ).start()
        log.info(
            "analytics sink: group %s, topics %s -> ClickHouse %s:%d/%s",
            self.config.group,
            sorted(self._mappers),
            self.settings.clickhouse.host,
            self.settings.clickhouse.port,
            self.database,
        )
        asyncio.run(self._consume(stop, writer, flush_timeout_s))
        return self.stats

    async def _consume(
        self, stop: threading.Event, writer: threading.Thread, flush_timeout_s: float
    ) -> None:
        consumer = self._consumer()
        consumer.subscribe(sorted(self._mappers), listener=_Revoked(self))
        await consumer.start()
        retention_at = 0.0 if self.config.housekeeping else float("inf")
        retention: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(
                    timeout_ms=self._fetch_timeout_ms(self.clock()),
                    max_records=self.FETCH_RECORDS,
                )
                if not self.ready.is_set() and consumer.assignment():
                    self.ready.set()
                self._map_runs(fetched, self.clock())
                await self._commit_written(consumer)
                now = self.clock()
                if self.batcher.due(now) and not self._to_write.full():
                    self._to_write.put_nowait(self.batcher.drain())
                if self.batcher.pending_rows >= self.config.max_rows:
                    if waiting := consumer.assignment() - consumer.paused():
                        consumer.pause(*waiting)
                elif paused := consumer.paused():
                    consumer.resume(*paused)
                if now >= retention_at and (retention is None or retention.done()):
                    retention_at = now + self.config.retention_every_s
                    retention = asyncio.create_task(asyncio.to_thread(self._retention))
        finally:
            deadline = time.monotonic() + flush_timeout_s
            try:
                if not self.batcher.empty:
                    await asyncio.to_thread(
                        self._to_write.put, self.batcher.drain(), True, flush_timeout_s
                    )
                left = max(0.1, deadline - time.monotonic())
                await asyncio.to_thread(self._to_write.put, None, True, left)
            except queue.Full:
                pass
            await asyncio.to_thread(writer.join, max(0.1, deadline - time.monotonic()))
            self._stop.set()  # a writer still retrying gives up; those rows are not committed
            await asyncio.to_thread(writer.join, 5)
            await self._commit_written(consumer)
            for task in (self._side_task, retention):
                if task is not None:
                    await asyncio.wait([task], timeout=5)
            await consumer.stop()  # leaves the group; commits nothing (no auto-commit)
            self.writer.close()

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
        """The retention pass (a worker thread of the loop: ClickHouse may be slow)."""
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
