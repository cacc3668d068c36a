"""The audit trail of checks (ENF-3): who looked up what, when, and what they were told.

Every lookup becomes a `CheckRecord` on the audit topic (keyed by city), which the
analytics side stores for audit and compliance statistics.

A check only puts its record on a bounded in-process queue. A background thread hands
the records, serialised, in batches through a pipe to a small forwarder process that
produces them to Kafka. Why a process: kafka-python spends ~45 us of CPU per record, and
in the API process that work (and its thread's GIL hand-offs) halved the checks/s one
process could answer (docs/PERFORMANCE.md). A slow or absent broker never delays a
warden's answer: records wait in the queue (up to `capacity`) and the pipe until the
broker is back. Records that could not be queued are counted, never logged: they name
plates and phones.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import struct
import threading
import time
from multiprocessing.connection import Connection
from typing import Protocol

from streams.contract import CheckRecord

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")


class AuditTrail(Protocol):
    def record(self, city: str, check: bytes) -> None:
        """Queue one serialised `CheckRecord` (`Lookup.audit_json`) of `city`."""
        ...


class MemoryAuditTrail:
    """Keeps records in a list (API tests without Kafka), parsed: every record written
    must be a valid `CheckRecord`."""

    def __init__(self) -> None:
        self.records: list[CheckRecord] = []

    def record(self, city: str, check: bytes) -> None:
        parsed = CheckRecord.from_json(check)
        if parsed.city != city:
            raise ValueError("an audit record is keyed by its own city")
        self.records.append(parsed)


class KafkaAuditTrail:
    """Check records to the audit topic through a forwarder process (see module docstring)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        capacity: int = 100_000,
        interval_s: float = 0.1,
        max_batch: int = 5_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.interval_s = interval_s
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self.forwarded = 0
        self.dropped = 0
        self.restarts = 0

    def record(self, city: str, check: bytes) -> None:
        try:
            self._queue.put_nowait((city, check))
        except queue.Full:
            self.dropped += 1

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is None:
            self._spawn()
            self._thread = threading.Thread(target=self._run, name="audit-trail", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Forward what is queued, let the forwarder flush to Kafka, then stop it."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None
        if self._pipe is not None:
            self._pipe.close()  # end of input: the forwarder flushes and exits
            self._pipe = None
        if self._process is not None:
            self._process.join(timeout_s)
            if self._process.is_alive():
                log.warning("audit forwarder did not finish in %.0f s; stopping it", timeout_s)
                self._process.terminate()
                self._process.join(5)
            self._process = None

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=forward,
            args=(reader, self.bootstrap, self.topic),
            name="audit-forwarder",
            daemon=True,
        )
        process.start()
        reader.close()
        self._process, self._pipe = process, writer

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [c for c in batch if c is not None]
            if records:
                frames = []
                for city, value in records:
                    key = city.encode()
                    frames.append(_LENGTH.pack(len(key)) + key + _LENGTH.pack(len(value)) + value)
                self._send(b"".join(frames), len(records))
            if batch[-1] is None:
                return
            time.sleep(self.interval_s)  # gather the next batch instead of waking per record

    def _send(self, payload: bytes, count: int) -> None:
        for _ in range(3):
            try:
                assert self._pipe is not None
                self._pipe.send_bytes(payload)
                self.forwarded += count
                return
            except (OSError, AssertionError):
                log.warning("audit forwarder gone; starting a new one")
                self.restarts += 1
                if self._process is not None:
                    self._process.join(1)
                self._spawn()
        self.dropped += count


def forward(pipe: Connection, bootstrap: str, topic: str) -> None:
    """The forwarder process: produce every framed record from `pipe` to `topic`."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    producer = None
    while True:
        try:
            payload = pipe.recv_bytes()
        except (EOFError, OSError):
            break
        while producer is None:  # created at the first record: an idle API needs no broker
            try:
                producer = KafkaProducer(
                    bootstrap_servers=bootstrap,
                    client_id="api-audit",
                    acks="all",
                    linger_ms=20,
                    batch_size=256 * 1024,
                    retries=5,
                )
            except (KafkaError, OSError):
                time.sleep(1.0)  # broker away: the API keeps queueing meanwhile
        offset = 0
        while offset < len(payload):
            (key_len,) = _LENGTH.unpack_from(payload, offset)
            key = payload[offset + 4 : offset + 4 + key_len]
            offset += 4 + key_len
            (value_len,) = _LENGTH.unpack_from(payload, offset)
            value = payload[offset + 4 : offset + 4 + value_len]
            offset += 4 + value_len
            while True:
                try:
                    producer.send(topic, key=key, value=value)
                    break
                except KafkaError:
                    time.sleep(0.5)  # buffer full or no metadata: wait for the broker
    if producer is not None:
        producer.flush(timeout=30)
        producer.close(timeout=10)
