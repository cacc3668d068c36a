"""Where generated events go: straight to Kafka's `events.raw`, or through `POST /v1/events`.

Both count what they sent and what the other side acknowledged, so the report can compare
what was produced with what the pipeline saw. The Kafka sink keys every event with
`routing_key(event, system)` (ticks: `tick`) like every producer of the product must.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any, Protocol

from streams.contract import Event, routing_key


class Sink(Protocol):
    sent: int
    acked: int
    failed: int
    by_type: Counter[str]

    def send(self, event: Event) -> None: ...

    def flush(self, timeout_s: float = 30.0) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


class KafkaSink:
    """kafka-python producer with batching and linger; acks counted from callbacks."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        systems: dict[str, str],
        *,
        linger_ms: int = 20,
        batch_size: int = 256 * 1024,
        acks: str | int = "all",
        compression: str | None = None,
    ) -> None:
        from kafka import KafkaProducer

        self.topic = topic
        self.systems = systems
        self.linger_ms = linger_ms
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="loadtest",
            acks=acks,
            linger_ms=linger_ms,
            batch_size=batch_size,
            compression_type=compression,
            max_in_flight_requests_per_connection=5,
        )
        self.sent = 0
        self.acked = 0
        self.failed = 0
        self.errors: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self._lock = threading.Lock()

    def key(self, event: Event) -> str:
        return routing_key(event, self.systems[event.city])

    def _ok(self, _meta: Any) -> None:
        with self._lock:
            self.acked += 1

    def _err(self, exc: BaseException) -> None:
        with self._lock:
            self.failed += 1
            self.errors[type(exc).__name__] += 1

    def send(self, event: Event) -> None:
        future = self.producer.send(self.topic, key=self.key(event).encode(), value=event.to_json())
        future.add_callback(self._ok)
        future.add_errback(self._err)
        self.sent += 1
        self.by_type[event.type] += 1

    def flush(self, timeout_s: float = 30.0) -> None:
        self.producer.flush(timeout=timeout_s)

    def close(self) -> None:
        self.producer.close(timeout=10)

    def describe(self) -> dict[str, Any]:
        return {"target": "kafka", "topic": self.topic, "linger_ms": self.linger_ms}


class ApiSink:
    """Batches events into `POST /v1/events` calls with an `ingest` token (202 = stored)."""

    def __init__(
        self, base_url: str, token: str, *, batch: int = 100, timeout_s: float = 10.0
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.batch = batch
        self.client = httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            timeout=timeout_s,
        )
        self.sent = 0
        self.acked = 0
        self.failed = 0
        self.errors: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self.latencies_ms: list[float] = []
        self._buffer: list[dict[str, Any]] = []

    def send(self, event: Event) -> None:
        self._buffer.append(event.to_cloudevent())
        self.sent += 1
        self.by_type[event.type] += 1
        if len(self._buffer) >= self.batch:
            self._post()

    def _post(self) -> None:
        if not self._buffer:
            return
        body = json.dumps({"events": self._buffer}, ensure_ascii=False).encode()
        count = len(self._buffer)
        self._buffer = []
        started = time.perf_counter()
        try:
            response = self.client.post("/v1/events", content=body)
        except Exception as exc:
            self.failed += count
            self.errors[type(exc).__name__] += count
            return
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code == 202:
            self.acked += count
        else:
            self.failed += count
            self.errors[f"HTTP {response.status_code}"] += count

    def flush(self, timeout_s: float = 30.0) -> None:
        self._post()

    def close(self) -> None:
        self._post()
        self.client.close()

    def describe(self) -> dict[str, Any]:
        return {"target": "api", "url": self.base_url, "batch": self.batch}
