"""Prometheus metrics of one API process (`GET /metrics`).

Request latency per route template (never the raw path: it would carry plates), checks
by status, ingestion results, and the replica's health read at scrape time: ready, lag
behind the topic's end offsets, subjects held and how old `as_of` is per city.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "enforcement_api_request_seconds",
            "Time to answer a request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.responses = Counter(
            "enforcement_api_responses",
            "Responses by route template and HTTP status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.checks = Counter(
            "enforcement_api_checks",
            "Checks answered, by subject kind and status (ENF-3 statistics)",
            ["kind", "status"],
            registry=self.registry,
        )
        self.ingested = Counter(
            "enforcement_api_ingest_events",
            "Events posted to /v1/events, by result",
            ["result"],
            registry=self.registry,
        )
        self._check_counters: dict[tuple[str, str], Any] = {}

    def count_check(self, kind: str, status: str) -> None:
        """One check answered; the labelled child is looked up once per (kind, status)."""
        counter = self._check_counters.get((kind, status))
        if counter is None:
            counter = self._check_counters[(kind, status)] = self.checks.labels(kind, status)
        counter.inc()

    def observe_replica(self, read: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(_ReplicaCollector(read))


class _ReplicaCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self._read()
        yield GaugeMetricFamily(
            "enforcement_api_replica_ready", "1 when caught up", value=float(state["ready"])
        )
        if state.get("lag") is not None:
            yield GaugeMetricFamily(
                "enforcement_api_replica_lag_messages",
                "Validity messages not yet applied",
                value=float(state["lag"]),
            )
        yield GaugeMetricFamily(
            "enforcement_api_replica_subjects", "Subjects held", value=float(state["subjects"])
        )
        age = GaugeMetricFamily(
            "enforcement_api_replica_as_of_age_seconds",
            "Wall clock minus the newest event time applied, per city",
            labels=["city"],
        )
        now = datetime.now(UTC)
        for city, as_of in sorted(state.get("as_of", {}).items()):
            age.add_metric([city], (now - as_of).total_seconds())
        yield age
        if "audit_pending" in state:
            yield GaugeMetricFamily(
                "enforcement_api_audit_pending",
                "Check records waiting for Kafka",
                value=float(state["audit_pending"]),
            )
            yield GaugeMetricFamily(
                "enforcement_api_audit_dropped",
                "Check records lost (queue full)",
                value=float(state["audit_dropped"]),
            )


class TimingMiddleware:
    """Pure ASGI middleware: latency and status per route template (cheap, no plates)."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # labelled children, looked up once per (method, route[, status]), not per request
        self._timers: dict[tuple[str, str], Any] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            timer = self._timers.get((method, template))
            if timer is None:
                timer = self._timers[(method, template)] = self.metrics.request_seconds.labels(
                    method, template
                )
            timer.observe(elapsed)
            key = (method, template, status[0])
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = self.metrics.responses.labels(
                    method, template, str(status[0])
                )
            counter.inc()
