"""Measurements taken while a load test runs, sampled once a second into time series.

- `LagProbe`: the worker's consumer-group lag on `events.raw` (end offsets minus committed
  offsets, kafka-python admin), and how many events the group has committed (its rate is
  the worker's achieved throughput).
- `ProcessWatch`: CPU % and RSS of named processes (psutil), e.g. worker, API, Kafka.
- `FreshnessProbe`: writes a marker purchase and measures how long until it is visible
  (the API says the plate is valid, or, without an API, the worker's outcome for it).
- `Sampler`: a thread that samples all of these and the driver's counters.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.contract import Event, make_event

Series = dict[str, list[float]]


class LagProbe:
    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        self.group = group
        self.topic = topic
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="loadtest-lag")
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="loadtest-lag")
        self._partitions: list[Any] = []
        self.last_error: str | None = None

    def _topic_partitions(self) -> list[Any]:
        from kafka import TopicPartition

        if not self._partitions:
            ids = self.consumer.partitions_for_topic(self.topic) or set()
            self._partitions = [TopicPartition(self.topic, p) for p in sorted(ids)]
        return self._partitions

    def sample(self) -> tuple[int, int, int]:
        """(end offsets, committed offsets, lag) summed over the raw topic's partitions."""
        partitions = self._topic_partitions()
        if not partitions:
            return 0, 0, 0
        ends = self.consumer.end_offsets(partitions)
        starts = self.consumer.beginning_offsets(partitions)
        try:
            # kafka-python 3: one OffsetFetch for {group: partitions}
            committed = self.admin.list_group_offsets({self.group: partitions}).get(self.group, {})
            self.last_error = None
        except Exception as exc:  # no such group yet: nothing committed
            committed = {}
            self.last_error = repr(exc)
        end_total = sum(ends.values())
        done_total = 0
        for tp in partitions:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
            done_total += offset
        return end_total, done_total, max(0, end_total - done_total)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()
        with contextlib.suppress(Exception):
            self.admin.close()


class ProcessWatch:
    """CPU % (of one core) and RSS MiB of each named process and its children."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._psutil = psutil
        self.procs: dict[str, Any] = {}
        for name, pid in pids.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                proc.cpu_percent(None)
                self.procs[name] = proc

    def add(self, name: str, pid: int) -> None:
        with contextlib.suppress(self._psutil.Error):
            proc = self._psutil.Process(pid)
            proc.cpu_percent(None)
            self.procs[name] = proc

    def sample(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for name, proc in self.procs.items():
            try:
                cpu = proc.cpu_percent(None)
                rss = proc.memory_info().rss / 2**20
            except self._psutil.Error:
                continue
            out[name] = (cpu, rss)
        return out


def discover_pids(
    names: tuple[str, ...] = ("worker", "sink", "api", "kafka", "clickhouse"),
) -> dict[str, int]:
    """Pids of the platform's processes from infra's pid files (those that exist)."""
    found: dict[str, int] = {}
    try:
        from infra.settings import Settings

        settings = Settings.from_env()
    except Exception:
        return found
    for name in names:
        path = settings.pid_file(name)
        with contextlib.suppress(OSError, ValueError):
            found[name] = int(path.read_text().split()[0])
    # Services infra reused rather than started have no pid file: find who listens.
    ports = {"clickhouse": settings.clickhouse.port}
    with contextlib.suppress(ValueError, IndexError):
        ports["kafka"] = int(settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])
    for name, pid in listening_pids(ports).items():
        found.setdefault(name, pid)
    return found


def listening_pids(ports: dict[str, int]) -> dict[str, int]:
    """The pid listening on each named local TCP port (those psutil may see)."""
    import psutil

    wanted = {port: name for name, port in ports.items()}
    found: dict[str, int] = {}
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return found
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.pid and conn.laddr.port in wanted:
            found.setdefault(wanted[conn.laddr.port], conn.pid)
    return found


@dataclass
class FreshnessSample:
    sent_at: float  # monotonic
    visible_s: float | None  # None: not visible within the timeout
    marker_id: str
    plate: str


@dataclass
class FreshnessProbe:
    """Marker purchases (an SMS for a fresh plate) and the wait until each is visible.

    `visible(marker_event) -> bool` is asked repeatedly until true or `timeout_s`.
    """

    city: str
    short_code: str
    visible: Callable[[Event], bool]
    interval_s: float = 5.0
    timeout_s: float = 30.0
    poll_s: float = 0.05
    run_tag: str = "0000"
    samples: list[FreshnessSample] = field(default_factory=list)
    _n: int = 0

    def marker(self, at: datetime) -> Event:
        self._n += 1
        plate = f"FR{self.run_tag[:4].upper()}{self._n:05d}"
        return make_event(
            "sms.received",
            self.city,
            {"msisdn": "381600000000", "to": self.short_code, "text": plate, "operator": "probe"},
            at,
            id=f"fresh-{self.run_tag}-{self._n}",
            source="urn:loadtest:freshness",
        )

    def wait_visible(
        self, event: Event, sent_at: float, abort: threading.Event | None = None
    ) -> FreshnessSample | None:
        """Poll until visible; a timeout is a sample without a time, an abort (the run
        ended first) is no sample at all."""
        plate = event.data.text  # type: ignore[attr-defined]
        deadline = sent_at + self.timeout_s
        while time.monotonic() < deadline:
            if abort is not None and abort.is_set():
                return None
            try:
                if self.visible(event):
                    sample = FreshnessSample(sent_at, time.monotonic() - sent_at, event.id, plate)
                    self.samples.append(sample)
                    return sample
            except Exception:
                pass
            time.sleep(self.poll_s)
        sample = FreshnessSample(sent_at, None, event.id, plate)
        self.samples.append(sample)
        return sample


def api_visibility(base_url: str, token: str) -> Callable[[Event], bool]:
    """Visible when the enforcement API answers `valid` for the marker's plate at its time."""
    import httpx

    client = httpx.Client(
        base_url=base_url.rstrip("/"), headers={"authorization": f"Bearer {token}"}, timeout=5.0
    )

    def visible(event: Event) -> bool:
        plate = event.data.text  # type: ignore[attr-defined]
        at = (event.time + timedelta(minutes=1)).isoformat()
        response = client.get(f"/v1/cities/{event.city}/plates/{plate}", params={"at": at})
        if response.status_code != 200:
            return False
        body = response.json()
        return body.get("status") == "valid" or bool(body.get("entitlements"))

    return visible


class OutcomeWatch:
    """Visible when the worker has published the marker's outcome (no API needed)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            client_id="loadtest-outcomes",
            auto_offset_reset="latest",
            enable_auto_commit=False,
            group_id=None,
        )
        self.seen: set[str] = set()
        self._lock = threading.Lock()
        # Join the topic now, so markers sent from here on are read from their offsets.
        self.consumer.poll(timeout_ms=1000)
        self.consumer.seek_to_end()
        for tp in self.consumer.assignment():
            self.consumer.position(tp)

    def visible(self, event: Event) -> bool:
        with self._lock:
            if event.id in self.seen:
                return True
            for records in self.consumer.poll(timeout_ms=50).values():
                for record in records:
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        ident = json.loads(record.value).get("id")
                        if isinstance(ident, str) and ident.startswith("fresh-"):
                            self.seen.add(ident)
            return event.id in self.seen

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()


class Sampler(threading.Thread):
    """Samples counters once per `interval_s` into `series` until stopped."""

    def __init__(
        self,
        read: Callable[[], dict[str, float]],
        lag: LagProbe | None,
        watch: ProcessWatch | None,
        interval_s: float = 1.0,
    ) -> None:
        super().__init__(name="loadtest-sampler", daemon=True)
        self.read = read
        self.lag = lag
        self.watch = watch
        self.interval_s = interval_s
        self.series: Series = {"t": []}
        self.latest: dict[str, float] = {}
        self.stopping = threading.Event()
        self.started_at = time.monotonic()

    def _put(self, name: str, value: float) -> None:
        self.latest[name] = value
        column = self.series.setdefault(name, [float("nan")] * (len(self.series["t"]) - 1))
        column.append(value)

    def sample_once(self) -> None:
        self.series["t"].append(round(time.monotonic() - self.started_at, 3))
        for name, value in self.read().items():
            self._put(name, value)
        if self.lag is not None:
            try:
                end, done, lag = self.lag.sample()
                self._put("raw_end", end)
                self._put("worker_committed", done)
                self._put("lag", lag)
            except Exception:
                for name in ("raw_end", "worker_committed", "lag"):
                    self._put(name, float("nan"))
        if self.watch is not None:
            for name, (cpu, rss) in self.watch.sample().items():
                self._put(f"cpu:{name}", cpu)
                self._put(f"rss:{name}", rss)
        width = len(self.series["t"])
        for column in self.series.values():
            while len(column) < width:
                column.append(float("nan"))

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            self.sample_once()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.sample_once()
