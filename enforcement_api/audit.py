"""The audit trail of checks (ENF-3): who looked up what, when, and what they were told.

Every lookup becomes a `CheckRecord` on the audit topic (keyed by city), which the
analytics side stores for audit and compliance statistics. The request only puts the
record on a bounded queue; a background thread produces it, so a slow or absent broker
never delays a warden's answer, and records wait in the queue (up to `capacity`) until
the broker is back. Records that could not be queued are counted, never logged: they
name plates and phones.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Protocol

from enforcement_api.kafka_io import KafkaUnavailable, Message, SharedProducer
from streams.contract import CheckRecord

log = logging.getLogger(__name__)


class AuditTrail(Protocol):
    def record(self, check: CheckRecord) -> None: ...


class MemoryAuditTrail:
    """Keeps records in a list (API tests without Kafka)."""

    def __init__(self) -> None:
        self.records: list[CheckRecord] = []

    def record(self, check: CheckRecord) -> None:
        self.records.append(check)


class KafkaAuditTrail:
    """Produces check records to the audit topic from a background thread."""

    def __init__(self, producer: SharedProducer, topic: str, capacity: int = 100_000) -> None:
        self.producer = producer
        self.topic = topic
        self._queue: queue.Queue[CheckRecord | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self.produced = 0
        self.dropped = 0
        self.retries = 0

    def record(self, check: CheckRecord) -> None:
        try:
            self._queue.put_nowait(check)
        except queue.Full:
            self.dropped += 1

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-trail", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None
            try:
                self.producer.flush(timeout_s)
            except Exception:
                log.warning("audit: %d records may not have reached Kafka", self.pending)

    def _run(self) -> None:
        stop = threading.Event()
        while True:
            check = self._queue.get()
            if check is None:
                return
            message = Message(self.topic, check.city.encode(), check.to_json())
            delay = 0.2
            while True:
                try:
                    self.producer.send(message)
                    self.produced += 1
                    break
                except KafkaUnavailable:
                    self.retries += 1
                    if self._queue.qsize() and self._queue.queue[-1] is None:
                        self.dropped += 1 + self._queue.qsize() - 1
                        return  # shutting down with the broker away: nothing more to do
                    stop.wait(delay)
                    delay = min(delay * 2, 5.0)
