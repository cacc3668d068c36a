"""The ASGI application: `create_app(services)` for tests, `create_app_from_env()` to serve.

A served process creates any missing topics (so the validity topic is compacted even when
the API starts before the workers), follows the validity topic into its replica, and
writes audit records and ingested events to Kafka. Uvicorn's access log is off: paths
carry plates and phone numbers; the metrics record route templates instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from enforcement_api.api.hot import HotPlateRoutes
from enforcement_api.api.routes import events, health, plates, tickets
from enforcement_api.audit import KafkaAuditTrail
from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.kafka_io import SharedProducer
from enforcement_api.metrics import TimingMiddleware
from enforcement_api.replica import KafkaReplica
from enforcement_api.services import Services

log = logging.getLogger(__name__)

DESCRIPTION = """
Enforcement API of the parking and transit payment platform.

* **Wardens** check plates (ENF-1): `valid`, `grace`, `expired`, `revoked`,
  `not_required` or `none`, with the evidence and near-miss suggestions.
* **Inspectors** verify transit tickets by code or phone (HKR-9) and city cards (TRN-10).
* **Gateways** post CloudEvents to `/v1/events`.

Every answer carries `as_of`, the newest event time this process's replica has applied.
Every check is recorded for audit (ENF-3). Authenticate with `Authorization: Bearer <JWT>`
(`python -m enforcement_api token --role warden --city nis --subject W-17`).
"""


def create_app(services: Services, *, hot_routes: bool = True) -> TimingMiddleware:
    """The API over `services`: the FastAPI app behind the hot plate routes (api/hot.py),
    all of it timed per route template. `hot_routes=False` leaves the plate checks to
    FastAPI's own routes (tests compare both ways of answering).

    The hot routes sit in front of the FastAPI app, not in its middleware stack: FastAPI
    0.165 looks up its OpenTelemetry providers on every request before its stack runs.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for component in services.closers:
            start = getattr(component, "start", None)
            if start is not None:
                start()
        try:
            yield
        finally:
            for component in reversed(services.closers):
                try:
                    (getattr(component, "stop", None) or component.close)()
                except Exception:
                    log.warning("stopping %s failed", type(component).__name__, exc_info=True)

    app = FastAPI(
        title="Enforcement API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = services
    services.metrics.observe_replica(services.replica_state)
    app.include_router(health.router)
    app.include_router(plates.router)
    app.include_router(tickets.router)
    app.include_router(events.router)
    served: Any = HotPlateRoutes(app, services) if hot_routes else app
    return TimingMiddleware(served, metrics=services.metrics)


def kafka_services(settings: ApiSettings, cities: CityDirectory | None = None) -> Services:
    """Services backed by Kafka: the replica, the audit trail and the event producer."""
    if settings.ensure_topics:
        _ensure_topics(settings)
    producer = SharedProducer(settings.kafka_bootstrap)
    replica = KafkaReplica(settings.kafka_bootstrap, settings.topics.validity)
    audit = KafkaAuditTrail(settings.kafka_bootstrap, settings.topics.audit)
    services = Services(
        settings=settings,
        cities=cities or CityDirectory(),
        replica=replica,
        audit=audit,
        events=producer,
    )
    services.closers.extend([producer, replica, audit])
    return services


def create_app_from_env() -> TimingMiddleware:
    # The replica and audit threads wake a few times a second; each wake-up makes the
    # request loop hand over the GIL, by default only after 5 ms. A shorter interval turns
    # those hand-overs into sub-millisecond pauses instead of 5 ms stalls of every check.
    sys.setswitchinterval(0.0005)
    settings = ApiSettings.from_env()
    if settings.uses_dev_secret:
        log.warning("API_JWT_SECRET is not set: using the development key (never in production)")
    cities = CityDirectory()
    cities.warm_up()
    return create_app(kafka_services(settings, cities))


def _ensure_topics(settings: ApiSettings) -> None:
    from streams.topology import ensure_topics

    try:
        ensure_topics(settings.kafka_bootstrap, settings.topics, settings.partitions)
    except Exception as exc:  # the broker may come later; the replica keeps retrying
        log.warning("could not check the topics (%s); continuing", type(exc).__name__)
