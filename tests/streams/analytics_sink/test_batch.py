"""Batching: thresholds by rows and age, the columns per table, the offsets to commit."""

from __future__ import annotations

import pytest

from streams.analytics_sink.batch import Batcher
from streams.analytics_sink.rows import COLUMNS


def note(i: int) -> tuple[str, tuple]:
    width = len(COLUMNS["notifications"])
    return ("notifications", tuple(f"{i}:{c}" for c in range(width)))


def test_not_due_until_max_rows() -> None:
    batcher = Batcher(max_rows=3, max_age_s=10)
    for offset in range(2):
        batcher.add("t", 0, offset, [note(offset)], now=0.0)
    assert not batcher.due(now=1.0)
    batcher.add("t", 0, 2, [note(2)], now=1.0)
    assert batcher.due(now=1.0)


def test_due_by_age_of_the_oldest_row() -> None:
    batcher = Batcher(max_rows=100, max_age_s=1.0)
    assert not batcher.due(now=5.0)  # empty is never due
    batcher.add("t", 0, 0, [note(0)], now=5.0)
    assert not batcher.due(now=5.9)
    assert batcher.wait_s(now=5.4) == pytest.approx(0.6)
    assert batcher.due(now=6.0)


def test_records_without_rows_still_advance_offsets() -> None:
    """A tombstone or a clock mark gives no row but must be committed past."""
    batcher = Batcher(max_rows=10, max_age_s=1)
    batcher.add("validity", 2, 7, [], now=0.0)
    assert batcher.due(now=1.0)
    batch = batcher.drain()
    assert batch.offsets == {("validity", 2): 8}
    assert batch.row_count == 0 and batch.records == 1


def test_offsets_are_next_to_read_per_partition() -> None:
    batcher = Batcher(max_rows=10, max_age_s=1)
    batcher.add("ledger", 0, 10, [note(1)], now=0.0)
    batcher.add("ledger", 1, 4, [note(2)], now=0.0)
    batcher.add("ledger", 0, 11, [note(3)], now=0.0)
    batch = batcher.drain()
    assert batch.offsets == {("ledger", 0): 12, ("ledger", 1): 5}
    assert batcher.empty and batcher.pending_rows == 0
    assert batcher.drain().offsets == {}


def test_rows_added_as_pairs_land_in_their_columns() -> None:
    batcher = Batcher(max_rows=10, max_age_s=1)
    batcher.add("t", 0, 0, [note(1), note(2)], now=0.0)
    columns = batcher.drain().columns("notifications")
    assert len(columns) == len(COLUMNS["notifications"])
    assert columns[0] == ["1:0", "2:0"]
    assert columns[-1] == ["1:9", "2:9"]


def test_discard_forgets_pending_rows_and_offsets() -> None:
    batcher = Batcher(max_rows=10, max_age_s=1)
    batcher.add("t", 0, 0, [note(1)], now=0.0)
    batcher.discard()
    assert batcher.empty and not batcher.due(now=100.0)


def test_unknown_table_is_refused() -> None:
    with pytest.raises(KeyError):
        Batcher().add("t", 0, 0, [("nope", ())], now=0.0)


def test_a_fetched_run_counts_every_record_and_commits_past_its_last() -> None:
    """The sink adds a partition's fetched records in one call: a run of five records of
    which two gave no row still counts five records and commits past the fifth."""
    batcher = Batcher(max_rows=10, max_age_s=1)
    batcher.add_records("ledger", 3, 104, [note(1), note(2), note(3)], records=5, now=0.0)
    batcher.add_records("ledger", 3, 106, [], records=2, now=0.0)
    batch = batcher.drain()
    assert batch.offsets == {("ledger", 3): 107}
    assert batch.records == 7 and batch.row_count == 3


def test_a_run_with_an_unknown_table_is_refused() -> None:
    batcher = Batcher(max_rows=10, max_age_s=1)
    with pytest.raises(KeyError):
        batcher.add_records("t", 0, 1, [("nope", ())], records=1, now=0.0)


def test_a_mapped_run_counts_its_rows_and_records() -> None:
    """The sink maps a run into `tables`, then counts it: rows come from the columns."""
    batcher = Batcher(max_rows=2, max_age_s=10)
    cols = batcher.tables.setdefault("notifications", [[] for _ in COLUMNS["notifications"]])
    for value, column in zip(note(1)[1], cols, strict=True):
        column.append(value)
    batcher.add_run("notifications", 1, 41, records=3, now=0.0)
    assert batcher.pending_rows == 1 and not batcher.due(now=1.0)
    batcher.add("notifications", 1, 42, [note(2)], now=1.0)
    assert batcher.due(now=1.0)
    batch = batcher.drain()
    assert batch.records == 4 and batch.row_count == 2
    assert batch.offsets == {("notifications", 1): 43}
    assert batch.columns("notifications")[0] == ["1:0", "2:0"]
    assert batch.columns("ledger") == [[] for _ in COLUMNS["ledger"]]
