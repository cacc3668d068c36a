"""Fixtures of the enforcement API tests: an app whose replica is fed in memory (no Kafka),
its audit trail a list and its event sink a list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from enforcement_api.audit import MemoryAuditTrail
from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.main import create_app
from enforcement_api.replica import ValidityIndex
from enforcement_api.services import MemoryReplica, Services
from streams.contract import Topics
from tests.enforcement_api.enf_helpers import (
    ISSUER,
    SECRET,
    Api,
    ListSink,
    city_config_dir,
    make_token,
)


@pytest.fixture(scope="session")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real tariffs and the tests' own reply texts (see enf_helpers.city_config_dir)."""
    return city_config_dir(tmp_path_factory.mktemp("cities"))


@pytest.fixture(autouse=True)
def _city_configs(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Per test, so no other package's tests ever see this folder.
    monkeypatch.setenv("PLATFORM_CONFIG_DIR", str(config_dir))


@pytest.fixture
def cities(config_dir: Path) -> CityDirectory:
    return CityDirectory()


@pytest.fixture
def api(cities: CityDirectory) -> Iterator[Api]:
    settings = ApiSettings(
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        topics=Topics("unit."),
        rate_per_s=0,
        ensure_topics=False,
    )
    index = ValidityIndex()
    audit = MemoryAuditTrail()
    sink = ListSink()
    services = Services(
        settings=settings,
        cities=cities,
        replica=MemoryReplica(index),
        audit=audit,
        events=sink,
    )
    with TestClient(create_app(services)) as client:
        yield Api(client, index, audit, sink, services, make_token)
