"""Retention: which partitions' personal columns are old enough to be cleared."""

from __future__ import annotations

from datetime import date

from streams.analytics_sink.retention import PERSONAL, clearable_partitions, partition_end
from streams.analytics_sink.rows import COLUMNS


def test_daily_partition_is_cleared_once_the_whole_day_is_older_than_retention() -> None:
    today = date(2026, 11, 24)
    parts = ["20260824", "20260825", "20260826", "20261124"]
    assert clearable_partitions(parts, False, today, keep_days=90) == ["20260824", "20260825"]


def test_monthly_partition_waits_for_its_last_day() -> None:
    assert partition_end("202612", True) == date(2027, 1, 1)
    assert clearable_partitions(["202608", "202609"], True, date(2026, 11, 30), 90) == ["202608"]
    assert clearable_partitions(["202608", "202609"], True, date(2026, 12, 30), 90) == [
        "202608",
        "202609",
    ]


def test_every_personal_column_exists_and_is_a_table_of_the_sink() -> None:
    for spec in PERSONAL:
        assert set(spec.columns) <= set(COLUMNS[spec.table])
        assert spec.time_column in COLUMNS[spec.table]
