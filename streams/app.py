"""The Faust worker: reads `events.raw`, runs the engine, publishes its records.

Thin I/O only. Per batch of events: the engine decides with state read through a write
buffer; every output is produced and acknowledged by Kafka; only then are the state
changes written to the tables (changelog topics). Both steps go through an `Outbox`
(streams/outbox.py): one record batch per topic partition, the acks awaited together.
A crash before the state write means the events are processed again and re-publish
records with the same ids, which readers de-duplicate: at-least-once with idempotent
effects (Faust's exactly-once mode is experimental and not used).

Run: `python -m streams worker` (see streams/__main__.py).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import weakref
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaProducer
from faust.stores.base import SerializedStore
from faust.streams import _current_event

from streams.cities import city_systems
from streams.contract import make_event
from streams.contract.routing import TICK_KEY
from streams.outbox import Outbox
from streams.runtime.engine import TIMERS_TABLE, Engine, Message, Publish
from streams.systems import load_rules
from streams.topology import check_changelogs, ensure_topics
from streams.worker_settings import WorkerSettings

log = logging.getLogger("streams.worker")

settings = WorkerSettings.from_env()
CITY_SYSTEMS = city_systems()
RULES = load_rules(CITY_SYSTEMS)

app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.bootstrap}",
    store=settings.store,
    datadir=settings.data_dir,
    topic_partitions=settings.partitions,
    topic_allow_declare=True,
    web_enabled=settings.web_port is not None,
    web_port=settings.web_port or 6066,
    consumer_auto_offset_reset="earliest",
    producer_linger_ms=5,
    broker_commit_interval=1.0,
    broker_session_timeout=settings.session_timeout,
    stream_buffer_maxsize=max(4096, settings.batch_max * 4),
)

raw_topic = app.topic(settings.topics.raw, key_serializer="raw", value_serializer="raw")

TABLES: dict[str, Any] = {
    name: app.Table(name, default=None, key_type=str, partitions=settings.partitions)
    for name in [*sorted(set(CITY_SYSTEMS.values())), TIMERS_TABLE]
}

engine = Engine(settings.topics, CITY_SYSTEMS, RULES, settings.partitions)


# A stream batch's records go out as one record batch per topic partition; the largest
# broker default for one batch is 1 MiB (message.max.bytes), so stay well below it.
OUTBOX_BATCH_BYTES = 512 * 1024


def _new_producer() -> AIOKafkaProducer:
    """The worker's own producer for outputs and changelog records (see streams/outbox.py).

    acks="all" as Faust's producer; no idempotence or transactions (at-least-once with
    idempotent effects, see the module docstring).
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.app_id}-outbox",
        acks="all",
        linger_ms=5,
        max_batch_size=OUTBOX_BATCH_BYTES,
    )


def _make_current(event: faust.EventT) -> None:
    # RocksDB tables pick the partition database from the current event; in a batch we
    # must say which event each read or write belongs to.
    _current_event.set(weakref.ref(event))


class BufferedTables:
    """Engine state store over Faust tables: reads see this batch's writes, writes wait
    until the batch's outputs are acknowledged (see module docstring)."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], tuple[Any, int, faust.EventT]] = {}
        self.current: faust.EventT | None = None

    def get(self, table: str, key: str) -> Any:
        hit = self.pending.get((table, key))
        if hit is not None:
            return hit[0]
        store = TABLES[table].data
        if isinstance(store, SerializedStore):
            # The stored bytes are the table's JSON (Faust's codec is orjson): decoding
            # them here skips Faust's codec registry and model-reconstruction lookups,
            # which cost more than the read. A value holds no Faust model, so the result
            # is the same as `store.get(key)`.
            raw = store._get(store._encode_key(key))
            return None if raw is None else orjson.loads(raw)
        return store.get(key)

    def put(self, table: str, key: str, value: Any, partition: int) -> None:
        assert self.current is not None
        self.pending[(table, key)] = (value, partition, self.current)

    async def flush(self, outbox: Outbox) -> None:
        """Write the batch's state and wait until Kafka has its changelog records.

        The batch is acknowledged (its offsets become committable) only after this: else
        an offset commit could outrun a changelog write that a crash then loses. The
        records go through the outbox (acks awaited here), not through Faust's
        `send_soon` buffer, whose flush at commit time gives up after 0.1 s.
        """
        for (table_name, key), (value, partition, event) in self.pending.items():
            _make_current(event)
            table = TABLES[table_name]
            changelog = table.changelog_topic
            # Encoded as Faust's own changelog writes are, so that recovery reads them back.
            key_bytes, _ = changelog.prepare_key(key, table.key_serializer)
            value_bytes = None  # a deleted state is a tombstone
            if value is not None:
                value_bytes, _ = changelog.prepare_value(value, table.value_serializer)
            store = table.data
            if isinstance(store, SerializedStore):
                # The store gets the changelog's bytes, encoded once: what recovery
                # writes into it from the changelog anyway.
                if value_bytes is None:
                    if store._contains(key_bytes):
                        store._del(key_bytes)
                else:
                    store._set(key_bytes, value_bytes)
            elif value is None:
                if key in store:
                    del store[key]
            else:
                store[key] = value
            await outbox.add(changelog.get_topic_name(), key_bytes, value_bytes, partition)
        self.pending.clear()
        for tp, offset in (await outbox.deliver()).items():
            # What Faust's changelog callback does: RocksDB keeps the offset it holds, so a
            # restart recovers only the changelog records after it.
            _table_of_changelog(tp.topic).data.set_persisted_offset(tp, offset)


def _table_of_changelog(topic: str) -> Any:
    for table in TABLES.values():
        if table.changelog_topic.get_topic_name() == topic:
            return table
    raise KeyError(topic)


# Exit status of a worker that cannot go on safely (EX_SOFTWARE): a batch not
# acknowledged in time, or raw records Faust never delivered.
EXIT_BATCH_STALLED = 70


@app.agent(raw_topic)
async def process(stream: faust.StreamT) -> None:
    producer = _new_producer()
    await producer.start()
    outbox = Outbox(producer)
    try:
        async for batch in stream.take_events(settings.batch_max, within=settings.batch_within):
            try:
                await asyncio.wait_for(
                    _process_batch(batch, outbox), timeout=settings.batch_timeout
                )
            except TimeoutError:
                _die_stalled(batch)
    finally:
        await producer.stop()


# Per raw partition, the offset after the last event this worker decided, within one
# consumer generation: `events.raw` is neither compacted nor transactional, so its offsets
# are contiguous and a jump means Faust's consumer skipped records (see
# docs/architecture.md, "Skipped deliveries").
_next_offset: dict[int, int] = {}
_generation: list[int] = [-1]


def _check_contiguous(event: faust.EventT) -> None:
    """Exit before deciding an event whose owner's earlier events were never delivered.

    Deciding it would use state that misses those events (e.g. an HKR-7 total without
    some tickets) and publish a wrong, paid decision. The hole is never committed (Faust
    commits only contiguous acked offsets), so a restarted worker reads it again.
    """
    if app.consumer_generation_id != _generation[0]:
        _next_offset.clear()
        _generation[0] = app.consumer_generation_id
    msg = event.message
    expected = _next_offset.get(msg.partition)
    if expected is not None and msg.offset > expected:
        log.critical(
            "%s[%d]: offsets %d..%d were never delivered to the agent: restarting",
            msg.topic,
            msg.partition,
            expected,
            msg.offset - 1,
        )
        _restart()
    if expected is None or msg.offset >= expected:
        _next_offset[msg.partition] = msg.offset + 1


async def _process_batch(batch: list[faust.EventT], outbox: Outbox) -> None:
    """Decide, publish and wait for the acks, then store the state and wait for its acks.

    The events are acknowledged to Faust (their offsets become committable) only when this
    returns: `take_events` acks a batch when the agent asks for the next one.
    """
    buffer = BufferedTables()
    publishes: list[Publish] = []
    for event in batch:
        _check_contiguous(event)
        _make_current(event)
        buffer.current = event
        msg = event.message
        key = msg.key.decode() if msg.key is not None else None
        publishes.extend(
            engine.handle(Message(msg.topic, msg.partition, msg.offset, key, msg.value), buffer)
        )
    for pub in publishes:
        key = pub.key.encode() if pub.key is not None else None
        await outbox.add(pub.topic, key, pub.value, pub.partition)
    await outbox.deliver()
    await buffer.flush(outbox)


def _die_stalled(batch: list[faust.EventT]) -> None:
    """A batch whose acks never came: stop the process at once, loudly.

    Carrying on is never safe: the batch is not acked, so later batches could not be
    committed past it (the group stalls with no error), and restarting only the agent
    would skip it. Exiting without any shutdown commits nothing more; the restarted
    worker, or the group member that takes the partitions over, re-runs the batch from
    the last committed offset and the engine's event-id memory makes that idempotent.
    """
    first = batch[0].message
    log.critical(
        "batch of %d events (first %s[%d]@%d) not acknowledged by Kafka in %.0f s: restarting",
        len(batch),
        first.topic,
        first.partition,
        first.offset,
        settings.batch_timeout,
    )
    _restart()


def _restart() -> None:
    """Replace this process by a fresh worker, committing nothing more on the way out.

    The same command line is executed again in place (same pid, so a supervisor or a
    test that holds the process sees one worker): it rejoins the group, restores the
    tables from their changelogs and reads from the last committed offsets.
    """
    logging.shutdown()
    try:
        os.execv(sys.executable, sys.orig_argv)
    finally:
        os._exit(EXIT_BATCH_STALLED)


if settings.clock == "wall":

    @app.timer(interval=settings.tick_seconds, on_leader=True)
    async def wall_clock() -> None:
        now = datetime.now(UTC)
        for city in CITY_SYSTEMS:
            tick = make_event("clock.tick", city, {}, now, source="urn:clock:wall")
            await raw_topic.send(key=TICK_KEY.encode(), value=tick.to_json())


_idle_checks: list[int] = [0, -1]  # consecutive stuck checks, processed count at last check
STUCK_CHECKS = 3


@app.timer(interval=5.0)
async def watchdog() -> None:
    """Restart a worker that has records behind it and has stopped deciding them.

    Catches a hole at the end of what Faust fetched (records skipped with nothing after
    them, which `_check_contiguous` cannot see) and any other silent stall.
    """
    processed = engine.counters.processed
    behind = []
    for tp in app.consumer.assignment():
        if tp.topic != raw_topic.get_topic_name():
            continue
        # Nothing decided yet in this generation: the committed offset is the baseline
        # (a hole can start right at it).
        decided = _next_offset.get(tp.partition, app.consumer._committed_offset.get(tp))
        if decided is not None and (app.consumer.highwater(tp) or 0) > decided:
            behind.append(tp.partition)
    stuck = bool(behind) and processed == _idle_checks[1]
    _idle_checks[0] = _idle_checks[0] + 1 if stuck else 0
    _idle_checks[1] = processed
    if _idle_checks[0] >= STUCK_CHECKS:
        log.critical("partitions %s have undecided records and no progress: restarting", behind)
        _restart()


@app.timer(interval=30.0)
async def report_counters() -> None:
    log.info("engine counters: %s", engine.counters)


def prepare() -> None:
    """Everything that must happen before the worker subscribes.

    Topics are created here, not by Faust's auto-declaration, because Faust would create
    `events.raw` with the broker's default partition count and split state across owners;
    existing changelogs of another partition count stop the worker here with the reason
    (`check_changelogs`), not in a crash on every batch.
    The tariff kernels are compiled here so the first live event never waits on Numba.

    Last, the start-up heap (modules, Faust, Numba's compiled kernels, the pydantic
    schemas: ~120 000 tracked objects) is frozen out of the cyclic garbage collector's
    reach (`gc.freeze`): it lives as long as the process, and each full collection would
    otherwise walk all of it again. Faust's RocksDB store runs a full collection per table
    at every rebalance (`Store.revoke_partitions`): ~0.1 s each, 5 tables, inside the
    group's rebalance pause, and the worker's own full collections cost the same.
    """
    import tariff_kernel

    ensure_topics(settings.bootstrap, settings.topics, settings.partitions)
    check_changelogs(
        settings.bootstrap,
        [table.changelog_topic.get_topic_name() for table in TABLES.values()],
        settings.partitions,
    )
    tariff_kernel.warm_up()
    gc.collect()  # what start-up left as garbage goes now, not frozen with the rest
    gc.freeze()
