"""Everything a request handler uses, built once per process and held on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from enforcement_api.audit import AuditTrail
from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.core.security import RateLimiter, TokenVerifier
from enforcement_api.kafka_io import Message
from enforcement_api.metrics import ApiMetrics
from enforcement_api.replica import ReplicaStatus, ValidityIndex


class Replica(Protocol):
    index: ValidityIndex

    @property
    def ready(self) -> bool: ...

    def status(self) -> ReplicaStatus: ...


class MemoryReplica:
    """An index fed directly (API tests, the benchmark's data load): caught up unless a
    test says otherwise (`caught_up=False`, a process that is still reading the topic)."""

    def __init__(self, index: ValidityIndex | None = None, *, caught_up: bool = True) -> None:
        self.index = index if index is not None else ValidityIndex()
        self.caught_up = caught_up

    @property
    def ready(self) -> bool:
        return self.caught_up

    def status(self) -> ReplicaStatus:
        return ReplicaStatus(ready=self.caught_up, lag=0, connected=False)


class EventSink(Protocol):
    def send_and_wait(self, messages: list[Message], timeout_s: float) -> None: ...


@dataclass
class Services:
    settings: ApiSettings
    cities: CityDirectory
    replica: Replica
    audit: AuditTrail
    events: EventSink
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    verifier: TokenVerifier = field(init=False)
    limiter: RateLimiter = field(init=False)
    closers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.verifier = TokenVerifier(self.settings.verification_secrets, self.settings.jwt_issuer)
        self.limiter = RateLimiter(self.settings.rate_per_s, self.settings.rate_burst)

    @property
    def index(self) -> ValidityIndex:
        return self.replica.index

    def replica_state(self) -> dict[str, Any]:
        status = self.replica.status()
        index = self.index
        state: dict[str, Any] = {
            "ready": status.ready,
            "lag": status.lag,
            "connected": status.connected,
            "subjects": len(index),
            "as_of": index.as_of_by_city(),
        }
        pending = getattr(self.audit, "pending", None)
        if pending is not None:
            state["audit_pending"] = pending
            state["audit_dropped"] = getattr(self.audit, "dropped", 0)
        return state
