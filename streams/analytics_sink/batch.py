"""Pure batching: columns per table, when a batch is due, and the offsets it covers.

The batcher owns the column lists the sink maps records into (`tables`: per table one list
per column, `rows.py`), so a drained batch is inserted as it is, without transposition.

A batch is due when it holds `max_rows` rows or its oldest row waited `max_age_s`
(ClickHouse wants few large inserts; managers want pictures seconds old). `Batch.offsets`
is, per (topic, partition), the next offset to consume after everything in the batch: the
sink commits exactly those to Kafka once every table of the batch is inserted, never
before, so a crash or a ClickHouse outage can only cause redelivery, never a gap.
Time is passed in (`now`), so this module is tested without clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.analytics_sink.rows import COLUMNS, Row, Tables, append_row, row_count

TopicPartition = tuple[str, int]


@dataclass
class Batch:
    """Columns drained from a `Batcher`, per table, and the offsets they cover."""

    tables: Tables
    offsets: dict[TopicPartition, int]
    records: int

    @property
    def row_count(self) -> int:
        return row_count(self.tables)

    def columns(self, table: str) -> list[list[Any]]:
        """The table's column lists (empty lists for a table without rows)."""
        cols = self.tables.get(table)
        return cols if cols is not None else [[] for _ in COLUMNS[table]]


@dataclass
class Batcher:
    max_rows: int = 50_000
    max_age_s: float = 1.0
    _tables: Tables = field(default_factory=dict)
    _offsets: dict[TopicPartition, int] = field(default_factory=dict)
    _records: int = 0
    _first_at: float | None = None

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.max_age_s <= 0:
            raise ValueError("max_rows must be >= 1 and max_age_s > 0")

    @property
    def tables(self) -> Tables:
        """The pending columns: the sink maps a run of records into them, then `add_run`."""
        return self._tables

    def add_run(
        self, topic: str, partition: int, last_offset: int, records: int, now: float
    ) -> None:
        """Count `records` consecutive records of topic/partition ending at `last_offset`,
        whose rows were mapped into `tables` (one call per fetched run: the hot path)."""
        if self._first_at is None:
            self._first_at = now
        self._records += records
        key = (topic, partition)
        self._offsets[key] = max(self._offsets.get(key, 0), last_offset + 1)

    def add(
        self, topic: str, partition: int, offset: int, rows: list[tuple[str, Row]], now: float
    ) -> None:
        """Take the rows of one record (possibly none) at `offset` of topic/partition."""
        self.add_records(topic, partition, offset, rows, 1, now)

    def add_records(
        self,
        topic: str,
        partition: int,
        last_offset: int,
        rows: list[tuple[str, Row]],
        records: int,
        now: float,
    ) -> None:
        """Take `(table, row)` pairs of `records` consecutive records ending at
        `last_offset` (row by row: seeding, tests and the sink's dead letters)."""
        for table, row in rows:
            if table not in COLUMNS:
                raise KeyError(f"unknown table {table!r}")
            append_row(self._tables, table, row)
        self.add_run(topic, partition, last_offset, records, now)

    @property
    def pending_rows(self) -> int:
        return row_count(self._tables)

    @property
    def empty(self) -> bool:
        return self._records == 0

    def due(self, now: float) -> bool:
        if self.empty:
            return False
        if self.pending_rows >= self.max_rows:
            return True
        assert self._first_at is not None
        return now - self._first_at >= self.max_age_s

    def wait_s(self, now: float) -> float:
        """How long until the batch becomes due by age (max_age_s when empty)."""
        if self._first_at is None:
            return self.max_age_s
        return max(0.0, self.max_age_s - (now - self._first_at))

    def drain(self) -> Batch:
        batch = Batch(tables=self._tables, offsets=self._offsets, records=self._records)
        self._tables, self._offsets = {}, {}
        self._records = 0
        self._first_at = None
        return batch

    def discard(self) -> None:
        """Forget what is pending (partitions were revoked: Kafka redelivers it)."""
        self.drain()
