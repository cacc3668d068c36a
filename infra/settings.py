"""Connection settings and local paths for every part of the platform, read from the environment.

This is the one place that knows the environment variables naming Kafka, ClickHouse and the
local working folders; the streams workers, the API, the dashboards, the load generator and the
tests all ask here instead of reading ``os.environ`` themselves.

| variable                | default          | meaning                                             |
|-------------------------|------------------|-----------------------------------------------------|
| ``KAFKA_BOOTSTRAP``     | 127.0.0.1:9092   | the broker's PLAINTEXT listener (host:port)         |
| ``KAFKA_CONTROLLER_PORT`` | 9093           | the KRaft controller listener of a broker we start  |
| ``CLICKHOUSE_HOST``     | 127.0.0.1        | ClickHouse host                                     |
| ``CLICKHOUSE_PORT``     | 9000             | ClickHouse native (TCP) port                        |
| ``CLICKHOUSE_HTTP_PORT`` | 8123            | ClickHouse HTTP port                                |
| ``CLICKHOUSE_DATABASE`` | platform         | the product's database                              |
| ``CLICKHOUSE_USER``     | default          | ClickHouse user                                     |
| ``CLICKHOUSE_PASSWORD`` | (empty)          | ClickHouse password                                 |
| ``PLATFORM_VAR_DIR``    | <checkout>/var   | data, logs (``log/``) and pid files (``run/``)      |
| ``PLATFORM_CACHE_DIR``  | <checkout>/.cache | downloaded jars                                    |

Call the accessors at the time you connect (not at import time), so a test or a script that
changes the environment first is honoured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

#: The checkout this package lives in: relative default folders hang off it, not off the
#: current directory, so ``python -m infra`` behaves the same wherever it is started from.
REPO_ROOT = Path(__file__).resolve().parent.parent

KAFKA_VERSION = "3.9.2"

DEFAULTS: dict[str, str] = {
    "KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "KAFKA_CONTROLLER_PORT": "9093",
    "CLICKHOUSE_HOST": "127.0.0.1",
    "CLICKHOUSE_PORT": "9000",
    "CLICKHOUSE_HTTP_PORT": "8123",
    "CLICKHOUSE_DATABASE": "platform",
    "CLICKHOUSE_USER": "default",
    "CLICKHOUSE_PASSWORD": "",
    "PLATFORM_VAR_DIR": str(REPO_ROOT / "var"),
    "PLATFORM_CACHE_DIR": str(REPO_ROOT / ".cache"),
}


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


@dataclass(frozen=True)
class ClickHouseSettings:
    """Where ClickHouse is and which database the product uses."""

    host: str
    port: int
    http_port: int
    database: str
    user: str
    password: str

    def client_kwargs(self, database: str | None = None) -> dict[str, object]:
        """Keyword arguments for ``clickhouse_driver.Client`` (optionally another database)."""
        return {
            "host": self.host,
            "port": self.port,
            "database": database or self.database,
            "user": self.user,
            "password": self.password,
        }


@dataclass(frozen=True)
class Settings:
    """Everything infra needs to start, find and talk to the services of one checkout."""

    kafka_host: str
    kafka_port: int
    kafka_controller_port: int
    clickhouse: ClickHouseSettings
    var_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            value = env.get(name, "").strip()
            return value or DEFAULTS[name]

        kafka_host, kafka_port = _host_port("KAFKA_BOOTSTRAP", get("KAFKA_BOOTSTRAP"))
        return cls(
            kafka_host=kafka_host,
            kafka_port=kafka_port,
            kafka_controller_port=_port("KAFKA_CONTROLLER_PORT", get("KAFKA_CONTROLLER_PORT")),
            clickhouse=ClickHouseSettings(
                host=get("CLICKHOUSE_HOST"),
                port=_port("CLICKHOUSE_PORT", get("CLICKHOUSE_PORT")),
                http_port=_port("CLICKHOUSE_HTTP_PORT", get("CLICKHOUSE_HTTP_PORT")),
                database=_identifier("CLICKHOUSE_DATABASE", get("CLICKHOUSE_DATABASE")),
                user=get("CLICKHOUSE_USER"),
                password=env.get("CLICKHOUSE_PASSWORD", ""),
            ),
            var_dir=Path(get("PLATFORM_VAR_DIR")).resolve(),
            cache_dir=Path(get("PLATFORM_CACHE_DIR")).resolve(),
        )

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def data_dir(self, service: str) -> Path:
        return self.var_dir / service

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for a child process (worker, API, ...)."""
        ch = self.clickhouse
        return {
            "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
            "CLICKHOUSE_HOST": ch.host,
            "CLICKHOUSE_PORT": str(ch.port),
            "CLICKHOUSE_HTTP_PORT": str(ch.http_port),
            "CLICKHOUSE_DATABASE": ch.database,
            "CLICKHOUSE_USER": ch.user,
            "CLICKHOUSE_PASSWORD": ch.password,
            "PLATFORM_VAR_DIR": str(self.var_dir),
            "PLATFORM_CACHE_DIR": str(self.cache_dir),
        }

    def with_database(self, database: str) -> Settings:
        """The same settings pointing at another ClickHouse database (tests use throwaway ones)."""
        return replace(
            self,
            clickhouse=replace(self.clickhouse, database=_identifier("database", database)),
        )


def settings() -> Settings:
    """The settings in force now (read from the environment at each call)."""
    return Settings.from_env()


def kafka_bootstrap() -> str:
    """``host:port`` of the Kafka broker, for kafka-python, aiokafka and Faust."""
    return settings().kafka_bootstrap


def faust_broker_url() -> str:
    """The broker URL in Faust's form (``kafka://host:port``)."""
    return f"kafka://{kafka_bootstrap()}"


def clickhouse_settings() -> ClickHouseSettings:
    """Where ClickHouse is and which database the product uses."""
    return settings().clickhouse


def var_dir() -> Path:
    return settings().var_dir


def cache_dir() -> Path:
    return settings().cache_dir


def _port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SettingsError(f"{name}={value!r} is not a port number (1-65535)")
    return port


def _host_port(name: str, value: str) -> tuple[str, int]:
    if "," in value:
        raise SettingsError(f"{name}={value!r}: give one broker (host:port); infra runs one")
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise SettingsError(f"{name}={value!r} is not host:port")
    return host, _port(name, port)


def _identifier(name: str, value: str) -> str:
    # Database names go into SQL unquoted (CREATE DATABASE, USE): keep them plain.
    if not value.replace("_", "").isalnum() or not value.isascii() or value[0].isdigit():
        raise SettingsError(f"{name}={value!r}: use letters, digits and _ (not first a digit)")
    return value
