"""The Faust worker: reads `events.raw`, runs the engine, publishes its records.

Thin I/O only. Per batch of events: the engine decides with state read through a write
buffer; every output is produced and acknowledged by Kafka; only then are the state
changes written to the tables (changelog topics). A crash before the state write means
the events are processed again and re-publish records with the same ids, which readers
de-duplicate: at-least-once with idempotent effects (Faust's exactly-once mode is
experimental and not used).

Run: `python -m streams worker` (see streams/__main__.py).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import UTC, datetime
from typing import Any

import faust
from faust.streams import _current_event

from streams.cities import city_systems
from streams.contract import make_event
from streams.contract.routing import TICK_KEY
from streams.runtime.engine import TIMERS_TABLE, Engine, Message, Publish
from streams.systems import load_rules
from streams.topology import ensure_topics
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
_output_topics: dict[str, faust.TopicT] = {}

TABLES: dict[str, Any] = {
    name: app.Table(name, default=None, key_type=str, partitions=settings.partitions)
    for name in [*sorted(set(CITY_SYSTEMS.values())), TIMERS_TABLE]
}

engine = Engine(settings.topics, CITY_SYSTEMS, RULES, settings.partitions)


def _topic(name: str) -> faust.TopicT:
    if name not in _output_topics:
        _output_topics[name] = app.topic(name, key_serializer="raw", value_serializer="raw")
    return _output_topics[name]


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
        return TABLES[table].data.get(key)

    def put(self, table: str, key: str, value: Any, partition: int) -> None:
        assert self.current is not None
        self.pending[(table, key)] = (value, partition, self.current)

    def flush(self) -> list[Any]:
        """Write the batch's state; returns the changelog sends to await before the batch
        is acknowledged (else an offset commit could outrun a changelog write that a
        crash then loses, and the events would be re-processed on stale state)."""
        sends = []
        for (table_name, key), (value, partition, event) in self.pending.items():
            _make_current(event)
            table = TABLES[table_name]
            if value is None:
                if key in table.data:
                    del table.data[key]
                sends.append(table.send_changelog(partition, key, None, value_serializer="raw"))
            else:
                table.data[key] = value
                sends.append(table.send_changelog(partition, key, value))
        self.pending.clear()
        return sends


@app.agent(raw_topic)
async def process(stream: faust.StreamT) -> None:
    async for batch in stream.take_events(settings.batch_max, within=settings.batch_within):
        buffer = BufferedTables()
        publishes: list[Publish] = []
        for event in batch:
            _make_current(event)
            buffer.current = event
            msg = event.message
            key = msg.key.decode() if msg.key is not None else None
            publishes.extend(
                engine.handle(Message(msg.topic, msg.partition, msg.offset, key, msg.value), buffer)
            )
        acks = []
        for pub in publishes:
            acks.append(
                await _topic(pub.topic).send(
                    key=pub.key.encode() if pub.key is not None else None,
                    value=pub.value,
                    partition=pub.partition,
                )
            )
        if acks:
            await asyncio.gather(*acks)
        changelog = buffer.flush()
        if changelog:
            await asyncio.gather(*changelog)


if settings.clock == "wall":

    @app.timer(interval=settings.tick_seconds, on_leader=True)
    async def wall_clock() -> None:
        now = datetime.now(UTC)
        for city in CITY_SYSTEMS:
            tick = make_event("clock.tick", city, {}, now, source="urn:clock:wall")
            await raw_topic.send(key=TICK_KEY.encode(), value=tick.to_json())


@app.timer(interval=30.0)
async def report_counters() -> None:
    log.info("engine counters: %s", engine.counters)


def prepare() -> None:
    """Everything that must happen before the worker subscribes.

    Topics are created here, not by Faust's auto-declaration, because Faust would create
    `events.raw` with the broker's default partition count and split state across owners.
    The tariff kernels are compiled here so the first live event never waits on Numba.
    """
    import tariff_kernel

    ensure_topics(settings.bootstrap, settings.topics, settings.partitions)
    tariff_kernel.warm_up()
