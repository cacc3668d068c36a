"""The sink's column lists agree with the SQL migrations (names and order)."""

from __future__ import annotations

import re

from infra.clickhouse.migrations import migration_files, statements
from streams.analytics_sink.rows import COLUMNS

CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\) ENGINE", re.S)
FORBIDDEN_ON_18_16 = ("DateTime64", "LowCardinality", " TTL ", "OVER (", "JSONExtract")


def tables() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in migration_files():
        for statement in statements(path.read_text()):
            match = CREATE.search(statement)
            if match:
                cols = [line.strip().split()[0] for line in match.group(2).split(",\n")]
                found[match.group(1)] = cols
    return found


def test_columns_match_the_migrations() -> None:
    sql = tables()
    for table, columns in COLUMNS.items():
        assert sql[table] == list(columns), table


def test_migrations_avoid_what_clickhouse_18_16_lacks() -> None:
    for path in migration_files():
        text = "\n".join(statements(path.read_text()))  # comments may name them
        for word in FORBIDDEN_ON_18_16:
            assert word not in text, f"{path.name} uses {word.strip()}"
