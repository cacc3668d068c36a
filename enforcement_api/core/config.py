"""The API's settings, from environment variables with documented defaults.

| variable | default | meaning |
|---|---|---|
| `KAFKA_BOOTSTRAP` | 127.0.0.1:9092 | broker (read through `infra.settings`) |
| `PLATFORM_TOPIC_PREFIX` | (empty) | prefix of every topic name |
| `STREAMS_PARTITIONS` | 8 | partitions of topics the API creates if missing |
| `API_HOST` / `API_PORT` | 127.0.0.1 / 8000 | where `serve` listens |
| `API_JWT_SECRET` | a dev-only value | HS256 key that signs and verifies tokens |
| `API_JWT_PREVIOUS_SECRETS` | (empty) | comma-separated older keys still accepted |
| `API_JWT_ISSUER` | parking-platform | `iss` claim issued and required |
| `API_TOKEN_TTL_S` | 28800 (a shift) | default lifetime of issued tokens |
| `API_RATE_PER_S` | 50 | requests per second per token (0: no limit) |
| `API_RATE_BURST` | 100 | bucket size of the per-token limit |
| `API_MAX_BATCH` | 1000 | plates per batch check, events per ingest call |
| `API_INGEST_TIMEOUT_S` | 5 | how long ingestion waits for Kafka's ack |
| `API_ENSURE_TOPICS` | 1 | create missing topics at start (compacted etc.) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.settings import Settings as InfraSettings
from streams.contract import Topics

# Only for a developer's laptop and tests: `serve` warns loudly when it is in use.
DEV_JWT_SECRET = "dev-only-secret-do-not-use-in-production-0123456789"


@dataclass(frozen=True)
class ApiSettings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    topics: Topics = field(default_factory=Topics)
    partitions: int = 8
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: str = DEV_JWT_SECRET
    jwt_previous_secrets: tuple[str, ...] = ()
    jwt_issuer: str = "parking-platform"
    token_ttl_s: int = 8 * 3600
    rate_per_s: float = 50.0
    rate_burst: int = 100
    max_batch: int = 1000
    ingest_timeout_s: float = 5.0
    ensure_topics: bool = True

    @property
    def uses_dev_secret(self) -> bool:
        return self.jwt_secret == DEV_JWT_SECRET

    @property
    def verification_secrets(self) -> tuple[str, ...]:
        return (self.jwt_secret, *self.jwt_previous_secrets)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        previous = tuple(s.strip() for s in get("API_JWT_PREVIOUS_SECRETS", "").split(",") if s)
        return cls(
            kafka_bootstrap=InfraSettings.from_env(env).kafka_bootstrap,
            topics=Topics(prefix=env.get("PLATFORM_TOPIC_PREFIX", "")),
            partitions=int(get("STREAMS_PARTITIONS", "8")),
            host=get("API_HOST", "127.0.0.1"),
            port=int(get("API_PORT", "8000")),
            jwt_secret=get("API_JWT_SECRET", DEV_JWT_SECRET),
            jwt_previous_secrets=previous,
            jwt_issuer=get("API_JWT_ISSUER", "parking-platform"),
            token_ttl_s=int(get("API_TOKEN_TTL_S", str(8 * 3600))),
            rate_per_s=float(get("API_RATE_PER_S", "50")),
            rate_burst=int(get("API_RATE_BURST", "100")),
            max_batch=int(get("API_MAX_BATCH", "1000")),
            ingest_timeout_s=float(get("API_INGEST_TIMEOUT_S", "5")),
            ensure_topics=get("API_ENSURE_TOPICS", "1") not in ("0", "false", "no"),
        )
