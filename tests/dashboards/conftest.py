"""Seeded analytics database shared by the dashboard tests of one session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.settings import Settings
from tests.dashboards.seed import seed


@pytest.fixture(scope="session")
def seeded_database(services_up: Settings, clickhouse_database: str) -> str:
    seed(services_up, clickhouse_database)
    return clickhouse_database


@pytest.fixture
def dashboards_env(seeded_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the dashboards (in this process) at the seeded database."""
    monkeypatch.setenv("CLICKHOUSE_DATABASE", seeded_database)
    yield seeded_database
