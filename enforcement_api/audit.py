"""The audit trail of checks (ENF-3): who looked up what, when, and what they were told.

Every lookup becomes a `CheckRecord` on the audit topic (keyed by city), which the
analytics side stores for audit and compliance statistics.

A check only puts its record on a bounded in-process deque. A background thread hands
the records, serialised, in batches through a pipe to a small forwarder process that
produces them to Kafka, one record batch per partition for each payload (aiokafka through
`streams.outbox.Outbox`, as the stream worker does). Why a process: producing costs CPU
per record, and in the API process that work (and its thread's GIL hand-offs) halved the
checks/s one process could answer (docs/PERFORMANCE.md). A slow or absent broker never
delays a warden's answer: records wait in the deque (up to `capacity`) and the pipe until
the broker is back. Records that could not be kept are counted, never logged: they name
plates and phones.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import struct
import threading
from collections import deque
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
        self.capacity = capacity
        # Appended by request handlers, taken from the other end by the audit thread: a
        # deque's append and popleft are atomic under the GIL, so a check pays ~0.1 us
        # instead of a queue.Queue's lock and condition (~2-3 us, and the thread's get
        # per record the same again).
        self._records: deque[tuple[str, bytes]] = deque()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self.forwarded = 0
        self.dropped = 0
        self.restarts = 0

    def record(self, city: str, check: bytes) -> None:
        if len(self._records) >= self.capacity:
            self.dropped += 1
            return
        self._records.append((city, check))

    @property
    def pending(self) -> int:
        return len(self._records)

    def start(self) -> None:
        if self._thread is None:
            self._spawn()
            self._thread = threading.Thread(target=self._run, name="audit-trail", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Forward what is queued, let the forwarder flush to Kafka, then stop it."""
        if self._thread is not None:
            self._stopping.set()
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
        records = self._records
        while True:
            stopping = self._stopping.is_set()  # what was recorded before stop() still goes
            while records:
                frames = []
                for _ in range(min(len(records), self.max_batch)):
                    city, value = records.popleft()
                    key = city.encode()
                    frames.append(_LENGTH.pack(len(key)) + key + _LENGTH.pack(len(value)) + value)
                self._send(b"".join(frames), len(frames))
            if stopping:
                return
            self._stopping.wait(self.interval_s)  # gather a batch instead of waking per record

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
    import asyncio

    asyncio.run(_forward(pipe, bootstrap, topic))


def _frames(payload: bytes) -> list[tuple[bytes, bytes]]:
    """The (key, value) records of one payload written by `KafkaAuditTrail._run`."""
    records = []
    offset = 0
    while offset < len(payload):
        (key_len,) = _LENGTH.unpack_from(payload, offset)
        key = payload[offset + 4 : offset + 4 + key_len]
        offset += 4 + key_len
        (value_len,) = _LENGTH.unpack_from(payload, offset)
        value = payload[offset + 4 : offset + 4 + value_len]
        offset += 4 + value_len
        records.append((key, value))
    return records


def _receive(pipe: Connection) -> bytes | None:
    try:
        return pipe.recv_bytes()
    except (EOFError, OSError):
        return None  # the API closed its end: flush and stop


async def _forward(pipe: Connection, bootstrap: str, topic: str) -> None:
    # Each payload's records go out as one record batch per partition (streams/outbox.py),
    # acknowledged before the next payload is read: kafka-python's `send` cost ~45-60 us
    # of CPU per record, which at 2 000 checks/s was a tenth of the two cores.
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from streams.outbox import Outbox

    loop = asyncio.get_running_loop()
    producer: AIOKafkaProducer | None = None
    try:
        while True:
            payload = await loop.run_in_executor(None, _receive, pipe)
            if payload is None:
                break
            records = _frames(payload)
            while True:
                try:
                    if producer is None:  # at the first record: an idle API needs no broker
                        producer = AIOKafkaProducer(
                            bootstrap_servers=bootstrap,
                            client_id="api-audit",
                            acks="all",
                            linger_ms=0,
                        )
                        await producer.start()
                    outbox = Outbox(producer)
                    for key, value in records:
                        await outbox.add(topic, key, value)
                    await outbox.deliver()
                    break
                except (KafkaError, OSError):
                    # Broker away: the API keeps queueing meanwhile. A payload is sent
                    # again whole, so some records may be written twice; the audit table
                    # keeps one row per check_id.
                    if producer is not None:
                        with contextlib.suppress(Exception):
                            await producer.stop()
                        producer = None
                    await asyncio.sleep(1.0)
    finally:
        if producer is not None:
            await producer.stop()
