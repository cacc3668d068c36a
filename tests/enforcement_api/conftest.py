"""Fixtures of the enforcement API tests: an app whose replica is fed in memory (no Kafka),
its audit trail a list and its event sink a list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from enforcement_api.audit import MemoryAuditTrail
from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.main import create_app
from enforcement_api.replica import ValidityIndex
from enforcement_api.services import MemoryReplica, Services
from streams.contract import Topics
from tests.enforcement_api.enf_helpers import ISSUER, SECRET, Api, FixedKernel, ListSink, make_token


@pytest.fixture
def api() -> Iterator[Api]:
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
        cities=CityDirectory(FixedKernel()),
        replica=MemoryReplica(index),
        audit=audit,
        events=sink,
    )
    with TestClient(create_app(services)) as client:
        yield Api(client, index, audit, sink, services, make_token)
