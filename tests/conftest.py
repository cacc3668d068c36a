"""Fixtures every test package shares: the real Kafka and ClickHouse, unique names, workers.

Integration tests (`@pytest.mark.integration`) get the services through `infra` — started
when nothing answers, reused when they already run — and fail, never skip, when they cannot
start. Each test session works under its own topic prefix and ClickHouse database, so
sessions and engineers sharing a machine never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import process
from infra.process import end_child, free_port
from infra.services import core_services
from infra.settings import REPO_ROOT, ClickHouseSettings, Settings

SESSION_TAG = secrets.token_hex(3)


@pytest.fixture(scope="session")
def infra_settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def services_up(infra_settings: Settings) -> Settings:
    """Kafka and ClickHouse answering (started if needed, with the schema applied)."""
    for service in core_services(infra_settings):
        try:
            process.start(service)
        except process.ServiceError as exc:
            pytest.fail(f"infra could not start {service.name}: {exc}", pytrace=False)
    return infra_settings


@pytest.fixture(scope="session")
def kafka_bootstrap(services_up: Settings) -> str:
    return services_up.kafka_bootstrap


@pytest.fixture(scope="session")
def topic_prefix(kafka_bootstrap: str) -> Iterator[str]:
    """A topic-name prefix no other test session uses (`PLATFORM_TOPIC_PREFIX`).

    At the end of the session its topics and the changelogs of its workers are deleted:
    a broker shared by many sessions otherwise collects thousands of topics, and every
    client then decodes them all in each metadata answer.
    """
    prefix = f"t{SESSION_TAG}."
    yield prefix
    if os.environ.get("PLATFORM_TEST_KEEP_TOPICS") == "1":  # to read them after a failure
        return
    delete_session_topics(kafka_bootstrap, (prefix, f"worker-{SESSION_TAG}-"))


def delete_session_topics(bootstrap: str, prefixes: tuple[str, ...]) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-cleanup")
    try:
        doomed = [t for t in admin.list_topics() if t.startswith(prefixes)]
        for start in range(0, len(doomed), 100):
            admin.delete_topics(doomed[start : start + 100])
    finally:
        admin.close()


@pytest.fixture(scope="session")
def clickhouse(services_up: Settings) -> ClickHouseSettings:
    return services_up.clickhouse


@pytest.fixture(scope="session")
def clickhouse_database(services_up: Settings) -> Iterator[str]:
    """A fresh database with the product's schema, dropped after the session."""

    from infra.clickhouse.migrations import drop_database, migrate

    name = f"test_{SESSION_TAG}"
    migrate(services_up, name)
    yield name
    drop_database(services_up, name)


@dataclass
class WorkerProcess:
    """A `python -m streams worker` subprocess started by a test."""

    popen: subprocess.Popen[bytes]
    log_file: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self, timeout_s: float = 30.0) -> None:
        end_child(self.popen, grace_s=timeout_s)


def _assigned(log: str, raw_topic: str) -> bool:
    ready = log.rfind("[^Worker]: Ready")
    assignment = log.rfind("Setting newly assigned partitions")
    return ready >= 0 and assignment >= 0 and raw_topic in log[assignment:]


@pytest.fixture
def run_worker(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start stream workers for this test: `run_worker(STREAMS_CLOCK="events", ...)`.

    Waits until Faust reports the worker ready (subscribed, tables recovered); every worker
    of one test shares an app id (one consumer group) unless the test passes its own.
    """
    started: list[WorkerProcess] = []
    app_id = f"worker-{SESSION_TAG}-{secrets.token_hex(2)}"

    # Generous: a fresh clone compiles the tariff kernels (Numba) in the first worker.
    def start(timeout_s: float = 180.0, **overrides: str) -> WorkerProcess:
        index = len(started)
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PLATFORM_TOPIC_PREFIX": topic_prefix,
            "STREAMS_APP_ID": app_id,
            "STREAMS_CLOCK": "events",
            "STREAMS_DATA_DIR": str(tmp_path / f"worker{index}"),
            "STREAMS_WEB_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        log_file = tmp_path / f"worker{index}.log"
        with log_file.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker", "-l", "info"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(popen, log_file, env)
        started.append(worker)
        deadline = time.monotonic() + timeout_s
        raw_topic = f"{env['PLATFORM_TOPIC_PREFIX']}events.raw"
        # Ready alone is not enough: a worker that joined before the topic was visible
        # reports Ready with no partitions and would sit idle; wait for its assignment.
        while not _assigned(worker.log(), raw_topic):
            if popen.poll() is not None:
                pytest.fail(f"worker exited ({popen.returncode}):\n{worker.log()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker not ready in {timeout_s} s:\n{worker.log()[-4000:]}")
            time.sleep(0.5)
        return worker

    yield start
    for worker in reversed(started):
        worker.stop()
