"""Retention of personal data in analytics: the sink's stand-in for a column TTL.

Debian's ClickHouse 18.16 has no TTL clause, so the pseudonym columns (and the scrubbed
raw text of dead letters) are cleared by partition: every table is partitioned by day or
month of its event time, and a partition whose whole span is older than the retention
gets `ALTER TABLE ... CLEAR COLUMN c IN PARTITION p` for each personal column. The
non-personal columns stay, so long-range revenue, occupancy and compliance figures survive
while nobody can link old rows to a vehicle or a phone any more. Works the same on current
servers. `clearable_partitions` is pure; `apply_retention` does the I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from streams.analytics_sink.writer import ClickHouseWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonalColumns:
    table: str
    time_column: str  # the partition key is toYYYYMMDD or toYYYYMM of it
    monthly: bool
    columns: tuple[str, ...]


PERSONAL: tuple[PersonalColumns, ...] = (
    PersonalColumns("events", "time", False, ("subject",)),
    PersonalColumns("entitlements", "valid_from", True, ("plate", "subject")),
    PersonalColumns("ledger", "time", False, ("holder",)),
    PersonalColumns("notifications", "time", False, ("recipient",)),
    PersonalColumns("checks", "answered_at", False, ("subject",)),
    PersonalColumns("rides", "at", True, ("card",)),
    PersonalColumns("outcomes", "time", False, ("owner", "facts")),
    PersonalColumns("dead_letters", "received_at", False, ("raw",)),
)


def partition_end(partition: str, monthly: bool) -> date:
    """The first day after the span of a partition id ('20261124' or '202611')."""
    if monthly:
        year, month = int(partition[:4]), int(partition[4:6])
        return date(year + month // 12, month % 12 + 1, 1)
    day = date(int(partition[:4]), int(partition[4:6]), int(partition[6:8]))
    return day + timedelta(days=1)


def clearable_partitions(
    partitions: Iterable[str], monthly: bool, today: date, keep_days: int
) -> list[str]:
    """Partitions whose every row is older than `keep_days` days before `today`."""
    cutoff = today - timedelta(days=keep_days)
    return sorted(p for p in set(partitions) if partition_end(p, monthly) <= cutoff)


def apply_retention(writer: ClickHouseWriter, today: date, keep_days: int) -> list[str]:
    """Clear personal columns of old partitions; returns 'table/partition' cleared."""
    cleared: list[str] = []
    for spec in PERSONAL:
        parts = writer.execute(
            "SELECT DISTINCT partition FROM system.parts "
            "WHERE database = currentDatabase() AND table = %(t)s AND active",
            {"t": spec.table},
        )
        fn = "toYYYYMM" if spec.monthly else "toYYYYMMDD"
        for partition in clearable_partitions(
            (p[0] for p in parts), spec.monthly, today, keep_days
        ):
            still = " OR ".join(f"{c} != ''" for c in spec.columns)
            [(left,)] = writer.execute(
                f"SELECT count() FROM {spec.table} "
                f"WHERE {fn}({spec.time_column}) = {int(partition)} AND ({still})"
            )
            if not left:
                continue
            for column in spec.columns:
                writer.execute(
                    f"ALTER TABLE {spec.table} CLEAR COLUMN {column} IN PARTITION {int(partition)}"
                )
            cleared.append(f"{spec.table}/{partition}")
            log.info("retention: cleared %s of %s/%s", spec.columns, spec.table, partition)
    return cleared
