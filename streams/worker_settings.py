"""The worker's settings, from environment variables with documented defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from streams.contract import Topics


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap: str
    app_id: str  # consumer group and prefix of the tables' changelog topics
    store: str  # memory:// (tests) or rocksdb:// (production)
    partitions: int
    topics: Topics
    clock: str  # "wall": tick every city each second; "events": only clock.tick events
    tick_seconds: float
    batch_max: int
    batch_within: float
    data_dir: str
    web_port: int | None
    session_timeout: float = 60.0  # seconds before a dead worker's partitions move on
    # Seconds a batch may take to get its records and its state acknowledged by Kafka;
    # past it the worker exits (see streams.app.process) instead of hanging silently.
    batch_timeout: float = 60.0

    @classmethod
    def from_env(cls) -> WorkerSettings:
        web = os.environ.get("STREAMS_WEB_PORT")
        return cls(
            bootstrap=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            app_id=os.environ.get("STREAMS_APP_ID", "platform-worker"),
            store=os.environ.get("STREAMS_STORE", "rocksdb://"),
            partitions=int(os.environ.get("STREAMS_PARTITIONS", "8")),
            topics=Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", "")),
            clock=os.environ.get("STREAMS_CLOCK", "wall"),
            tick_seconds=float(os.environ.get("STREAMS_TICK_SECONDS", "1.0")),
            batch_max=int(os.environ.get("STREAMS_BATCH_MAX", "500")),
            batch_within=float(os.environ.get("STREAMS_BATCH_WITHIN", "0.02")),
            data_dir=os.environ.get("STREAMS_DATA_DIR", "var/streams"),
            web_port=int(web) if web else None,
            session_timeout=float(os.environ.get("STREAMS_SESSION_TIMEOUT", "60")),
            batch_timeout=float(os.environ.get("STREAMS_BATCH_TIMEOUT", "60")),
        )
