"""What the pipeline tests share: a producer of raw events and a reader of the outputs.

`city_config(cities)` gives a worker a config folder with only those cities;
`pipeline(prefix, cities)` gives a `Pipeline` on that topic prefix: `send` produces events
to events.raw the way every producer does (keyed by `routing_key`), `wait` reads the
notifications, ledger, validity and outcomes topics until a condition holds. The four
output topics are read by one consumer with no order between them, so a test waits for
every record it asserts on (`wait_for`, `wait_for_validity`), never for one record and
then looks for another.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from infra.settings import REPO_ROOT
from streams.contract import Event, Topics, routing_key
from streams.contract.routing import TICK_KEY
from streams.group_consumer import group_consumer

Record = tuple[str | None, dict | None]


@pytest.fixture
def city_config(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """`city_config(cities)`: a config folder with only those cities, so the worker runs
    just the systems under test."""

    def copy(cities: dict[str, str]) -> Path:
        target = tmp_path / "cities"
        target.mkdir(exist_ok=True)
        for city in cities:
            for path in (REPO_ROOT / "config" / "cities").glob(f"{city}.*toml"):
                shutil.copy(path, target / path.name)
        return target

    return copy


class Pipeline:
    """Produce events to events.raw and collect what the worker publishes."""

    def __init__(self, bootstrap: str, topics: Topics, cities: dict[str, str]) -> None:
        self.topics = topics
        self.cities = cities
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        names = [topics.notifications, topics.ledger, topics.validity, topics.outcomes]
        # A group reader (its offsets are not needed, but a group gives it every partition
        # of topics the worker creates later); guarded against kafka-python 3.0's lost join.
        self.consumer = group_consumer(
            *names,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            group_id=f"{topics.prefix}reader",
        )
        self.records: dict[str, list[Record]] = {n: [] for n in names}
        self.workers: list = []  # their logs go into a failure's message

    def send(self, *events: Event) -> None:
        for event in events:
            system = self.cities[event.city]
            key = TICK_KEY if event.type == "clock.tick" else routing_key(event, system)
            self.producer.send(self.topics.raw, key=key.encode(), value=event.to_json())
        self.producer.flush()

    # Generous: a worker that finds raw records skipped by Faust restarts itself in place
    # (docs/architecture.md), and each restart waits for a rebalance and a table recovery.
    def wait(
        self,
        done: Callable[[], bool],
        timeout_s: float = 180.0,
        missing: Callable[[], str] = lambda: "",
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                logs = "\n".join(w.log()[-4000:] for w in self.workers)
                raise AssertionError(
                    f"pipeline did not deliver in {timeout_s} s{missing()}\n"
                    f"{self.reader_state()}\n{logs}"
                )
            for tp_records in self.consumer.poll(timeout_ms=500).values():
                for rec in tp_records:
                    key = rec.key.decode() if rec.key is not None else None
                    value = json.loads(rec.value) if rec.value is not None else None
                    self.records[rec.topic].append((key, value))

    def wait_for(self, *event_ids: str, timeout_s: float = 180.0) -> dict[str, dict]:
        """Wait until every event's outcome is out; the outcomes by event id."""

        def missing() -> str:
            return f"; no outcome yet for {sorted(set(event_ids) - set(self.outcomes()))}"

        self.wait(lambda: set(event_ids) <= set(self.outcomes()), timeout_s, missing)
        return self.outcomes()

    def reader_state(self) -> str:
        """Where this reader is against the topics' ends: tells a worker that published
        nothing from a reader that did not read what was published."""
        assigned = self.consumer.assignment()
        try:
            ends = self.consumer.end_offsets(list(assigned))
        except Exception as exc:  # a diagnostic must not hide the failure it explains
            return f"reader: {len(assigned)} partitions assigned; end offsets unknown: {exc}"
        lines = [f"reader: {len(assigned)} partitions assigned"]
        for tp in sorted(assigned):
            lines.append(
                f"  {tp.topic}[{tp.partition}] at {self.consumer.position(tp)} of {ends[tp]}"
            )
        return "\n".join(lines)

    def wait_for_validity(
        self, key: str, holds: Callable[[dict], bool] = lambda _: True, timeout_s: float = 60.0
    ) -> dict:
        """Wait until the latest validity record of `key` exists and `holds`; that record."""

        def arrived() -> bool:
            record = self.validity(key)
            return record is not None and holds(record)

        self.wait(arrived, timeout_s)
        record = self.validity(key)
        assert record is not None
        return record

    def settle(self, done: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Give the output topics time to deliver until `done`; the caller asserts after."""
        with contextlib.suppress(AssertionError):
            self.wait(done, timeout_s)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.wait(lambda: time.monotonic() > end, timeout_s=seconds + 5)

    def outcomes(self) -> dict[str, dict]:
        return {v["id"]: v for _, v in self.records[self.topics.outcomes] if v}

    def ledger(self) -> list[dict]:
        return [v for _, v in self.records[self.topics.ledger] if v]

    def notifications(self, caused_by: str | None = None) -> list[dict]:
        found = [v for _, v in self.records[self.topics.notifications] if v]
        return [n for n in found if caused_by is None or n["caused_by"] == caused_by]

    def validity(self, key: str) -> dict | None:
        found = [v for k, v in self.records[self.topics.validity] if k == key]
        return found[-1] if found else None

    def final_validity(self) -> dict[str, dict | None]:
        """The last value of every key on the validity topic (None: tombstone)."""
        final: dict[str, dict | None] = {}
        for key, value in self.records[self.topics.validity]:
            if key is not None and "|clock|" not in key:
                final[key] = value
        return final

    def close(self) -> None:
        self.producer.close()
        self.consumer.close()


@pytest.fixture
def pipeline(kafka_bootstrap: str) -> Iterator[Callable[[str, dict[str, str]], Pipeline]]:
    """`pipeline(prefix, cities)`: a Pipeline on that prefix, closed after the test."""
    opened: list[Pipeline] = []

    def open_pipeline(prefix: str, cities: dict[str, str]) -> Pipeline:
        pipe = Pipeline(kafka_bootstrap, Topics(prefix), cities)
        opened.append(pipe)
        return pipe

    yield open_pipeline
    for pipe in opened:
        pipe.close()
