"""`infra up → down → up` works twice in a row on a separate set of ports and folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from infra.process import free_port
from infra.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration


def _infra(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=240,
        check=False,
    )


def test_up_down_up_twice_with_status_telling_what_runs(services_up: Settings, tmp_path) -> None:
    import os

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "CLICKHOUSE_PORT": str(free_port()),
        "CLICKHOUSE_HTTP_PORT": str(free_port()),
        "PLATFORM_VAR_DIR": str(tmp_path / "var"),
        # The jars the session's own broker already fetched: no second download.
        "PLATFORM_CACHE_DIR": str(services_up.cache_dir),
    }
    try:
        for round_ in range(2):
            up = _infra(env, "up")
            assert up.returncode == 0, up.stderr
            assert "kafka       started" in up.stdout, up.stdout
            status = _infra(env, "status", "--json")
            assert status.returncode == 0, status.stdout + status.stderr
            states = {
                row["name"]: (row["state"], row["owner"]) for row in json.loads(status.stdout)
            }
            assert states["kafka"] == ("ready", "ours"), (round_, states)
            assert states["clickhouse"] == ("ready", "ours"), (round_, states)
            again = _infra(env, "up")
            assert "kafka       running" in again.stdout, again.stdout
            down = _infra(env, "down")
            assert down.returncode == 0 and "stopped" in down.stdout, down.stdout
            after = _infra(env, "status", "--json")
            assert after.returncode == 1
            states = {row["name"]: row["state"] for row in json.loads(after.stdout)}
            assert states["kafka"] == "stopped" and states["clickhouse"] == "stopped"
    finally:
        _infra(env, "down")


def test_a_port_held_by_another_program_is_named_not_worked_around(tmp_path) -> None:
    import os
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        env = {
            **os.environ,
            "CLICKHOUSE_HTTP_PORT": str(port),
            "CLICKHOUSE_PORT": str(free_port()),
            "KAFKA_BOOTSTRAP": "127.0.0.1:1",  # never reached: ClickHouse alone is asked
            "PLATFORM_VAR_DIR": str(tmp_path / "var"),
        }
        from infra import process
        from infra.clickhouse.server import clickhouse_service

        service = clickhouse_service(Settings.from_env(env))
        with pytest.raises(process.ServiceError) as err:
            process.start(service)
    assert str(port) in str(err.value)


def test_docker_compose_names_every_service() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) >= {
        "kafka",
        "clickhouse",
        "migrate",
        "worker",
        "sink",
        "api",
        "dashboards",
        "traffic",
    }
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
