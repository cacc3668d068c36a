"""Applies the product's ClickHouse schema: `migrations/NNN_name.sql`, each once, in order.

Applied migrations are recorded in `schema_migrations` of the target database, so running
this on every start is cheap and a new file is applied exactly once. A file may hold several
statements separated by `;` at the end of a line (ClickHouse's native protocol takes one
statement per query).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from infra.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(p for p in directory.glob("*.sql"))
    for path in files:
        if not NAME.match(path.name):
            raise ValueError(f"{path}: migration names look like 001_events.sql")
    return files


def statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip()]


def drop_database(settings: Settings, database: str) -> None:
    """Drop `database` if it exists (test and benchmark databases)."""
    from clickhouse_driver import Client

    admin = Client(**settings.clickhouse.client_kwargs(database="default"))
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {database}")
    finally:
        admin.disconnect()


def migrate(settings: Settings, database: str) -> list[str]:
    """Create `database` if needed and apply pending migrations; the names applied."""
    from clickhouse_driver import Client

    ch = settings.clickhouse
    admin = Client(**ch.client_kwargs(database="default"))
    try:
        admin.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        admin.execute(
            f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
            "(name String, applied_at DateTime) ENGINE = TinyLog"
        )
        done = {row[0] for row in admin.execute(f"SELECT name FROM {database}.schema_migrations")}
    finally:
        admin.disconnect()
    applied: list[str] = []
    client = Client(**ch.client_kwargs(database=database))
    try:
        for path in migration_files():
            if path.name in done:
                continue
            for statement in statements(path.read_text()):
                client.execute(statement)
            client.execute(
                f"INSERT INTO {database}.schema_migrations (name, applied_at) VALUES",
                [(path.name, _now())],
            )
            applied.append(path.name)
    finally:
        client.disconnect()
    return applied


def _now() -> datetime:
    # clickhouse-driver writes naive datetimes as they are; the server's zone is UTC.
    return datetime.now(UTC).replace(tzinfo=None)
