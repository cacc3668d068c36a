"""Writing to Kafka from the API: one shared producer, created when first needed.

The API must start and answer checks from its replica even while the broker is away, so
the producer is created lazily and re-created after a failure instead of at import time.
Every write waits for the broker's acknowledgement (`acks=all`): ingestion answers 202
only for what Kafka has stored. (The audit trail has its own forwarder, audit.py.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


class KafkaUnavailable(Exception):
    """The broker could not take the records in time."""


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes


class SharedProducer:
    """A kafka-python producer shared by request threads (it is thread-safe)."""

    def __init__(self, bootstrap: str, *, max_block_ms: int = 2000, client_id: str = "api") -> None:
        self.bootstrap = bootstrap
        self.max_block_ms = max_block_ms
        self.client_id = client_id
        self._producer = None
        self._lock = threading.Lock()

    def _get(self):  # -> KafkaProducer
        with self._lock:
            if self._producer is None:
                from kafka import KafkaProducer
                from kafka.errors import KafkaError

                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.bootstrap,
                        client_id=self.client_id,
                        acks="all",
                        linger_ms=2,
                        retries=3,
                        max_block_ms=self.max_block_ms,
                        request_timeout_ms=3000,
                        delivery_timeout_ms=5000,
                        bootstrap_timeout_ms=self.max_block_ms,
                    )
                except (KafkaError, OSError) as exc:
                    raise KafkaUnavailable(f"cannot connect to Kafka: {exc}") from None
            return self._producer

    def _discard(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # closing a broken producer may itself fail; it is gone anyway
                log.debug("closing a failed producer", exc_info=True)

    def send_and_wait(self, messages: Sequence[Message], timeout_s: float) -> None:
        """Produce every message and wait until the broker has stored all of them."""
        from kafka.errors import KafkaError

        producer = self._get()
        try:
            futures = [producer.send(m.topic, key=m.key, value=m.value) for m in messages]
            producer.flush(timeout=timeout_s)
            for future in futures:
                future.get(timeout=timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._discard()
            raise KafkaUnavailable(f"Kafka did not acknowledge: {type(exc).__name__}") from None

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)
