"""Seeded analytics database shared by the dashboard tests of one session.

Its own database (beside the session's `clickhouse_database`, which other tests fill), so
the figures the pages show are exactly the seeded ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.clickhouse.migrations import drop_database, migrate
from infra.settings import Settings
from tests.dashboards.seed import seed


@pytest.fixture(scope="session")
def seeded_database(services_up: Settings, clickhouse_database: str) -> Iterator[str]:
    name = f"{clickhouse_database}_dash"
    migrate(services_up, name)
    seed(services_up, name)
    yield name
    drop_database(services_up, name)


@pytest.fixture
def dashboards_env(seeded_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the dashboards (in this process) at the seeded database."""
    monkeypatch.setenv("CLICKHOUSE_DATABASE", seeded_database)
    yield seeded_database
