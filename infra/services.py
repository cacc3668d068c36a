"""Every process infra runs, in start order: the backing services, then the platform.

`core` services (Kafka, ClickHouse) are what `infra up` and the tests need. The platform's
own processes (stream worker, analytics sink, enforcement API, dashboards, demo traffic) are
started on top of them by `infra demo`, each as a plain background process with its log in
`var/log/`, configured through the same environment variables.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from infra.clickhouse.server import clickhouse_service
from infra.kafka.broker import kafka_service
from infra.process import Health, Probe, Service
from infra.settings import REPO_ROOT, Settings

API_PORT_DEFAULT = "8000"
DASHBOARDS_PORT_DEFAULT = "8501"


def http_probe(url: str, expect: str = "") -> Probe:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            body = resp.read(2048).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return Probe(Health.STARTING, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return Probe(Health.DOWN, str(exc))
    if expect and expect not in body:
        return Probe(Health.STARTING, body[:80])
    return Probe(Health.READY, url)


def core_services(settings: Settings) -> list[Service]:
    return [kafka_service(settings), clickhouse_service(settings)]


def platform_services(settings: Settings, env: dict[str, str]) -> list[Service]:
    """The product's processes for the demo; `env` carries ports and demo switches."""
    py = sys.executable
    base = {**settings.as_env(), **env, "PYTHONUNBUFFERED": "1"}
    api_port = env.get("API_PORT", API_PORT_DEFAULT)
    dash_port = env.get("DASHBOARDS_PORT", DASHBOARDS_PORT_DEFAULT)

    def proc(name: str, command: list[str], **kw: object) -> Service:
        return Service(
            name=name,
            command=command,
            log_file=settings.log_file(name),
            pid_file=settings.pid_file(name),
            env=base,
            cwd=REPO_ROOT,
            core=False,
            **kw,  # type: ignore[arg-type]
        )

    return [
        proc(
            "worker",
            [py, "-m", "streams", "worker", "-l", "info"],
            hint="stream worker (Faust); state under var/streams",
        ),
        proc("sink", [py, "-m", "streams.analytics_sink"], hint="Kafka -> ClickHouse sink"),
        proc(
            "api",
            [py, "-m", "enforcement_api", "serve", "--host", "127.0.0.1", "--port", api_port],
            address=f"127.0.0.1:{api_port}",
            # ready = its replica has caught up: before that it refuses checks with 503
            probe=lambda: http_probe(f"http://127.0.0.1:{api_port}/readyz", '"status":"ready"'),
            hint=f"enforcement API http://127.0.0.1:{api_port}/docs",
        ),
        proc(
            "dashboards",
            [
                py,
                "-m",
                "streamlit",
                "run",
                str(REPO_ROOT / "dashboards" / "Home.py"),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                dash_port,
                "--browser.gatherUsageStats",
                "false",
            ],
            address=f"127.0.0.1:{dash_port}",
            probe=lambda: http_probe(f"http://127.0.0.1:{dash_port}/_stcore/health", "ok"),
            hint=f"dashboards http://127.0.0.1:{dash_port}",
        ),
        proc("traffic", [py, "-m", "loadtest", "demo"], hint="demo traffic for every city"),
    ]
