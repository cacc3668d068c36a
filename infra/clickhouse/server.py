"""The ClickHouse server as a plain process, from Debian's `clickhouse-server` package.

`clickhouse_service(settings)` describes it for `infra.process`: before a start it installs
the package with apt when the binary is missing, writes a config of its own (loopback only,
data under `var/clickhouse`, the ports from the settings) and starts the server with it —
the system-wide service and its config are never touched. It is ready when it answers
`SELECT 1` over HTTP; then the product's database is created and its migrations applied.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

from infra.apt import apt_install
from infra.process import Health, Probe, Service, ServiceError
from infra.settings import Settings

BINARY_CANDIDATES = ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse")
APT_PACKAGE = "clickhouse-server"


def find_binary() -> list[str] | None:
    for candidate in BINARY_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            # The all-in-one `clickhouse` binary needs the sub-command.
            return [path, "server"] if os.path.basename(path) == "clickhouse" else [path]
    return None


def install() -> list[str]:
    """Install Debian's package when no server binary exists; the binary's command."""
    found = find_binary()
    if found:
        return found
    apt_install("clickhouse", APT_PACKAGE)
    found = find_binary()
    if not found:
        raise ServiceError("clickhouse: apt installed clickhouse-server but no binary was found")
    return found


def config_xml(settings: Settings) -> str:
    ch = settings.clickhouse
    home = settings.data_dir("clickhouse")
    log = settings.log_dir
    return f"""<?xml version="1.0"?>
<!-- Written by infra on every start; edit infra/clickhouse/server.py instead. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>{escape(str(log / "clickhouse-server.log"))}</log>
    <errorlog>{escape(str(log / "clickhouse-server.err.log"))}</errorlog>
    <size>50M</size>
    <count>2</count>
  </logger>
  <listen_host>{escape(ch.host)}</listen_host>
  <http_port>{ch.http_port}</http_port>
  <tcp_port>{ch.port}</tcp_port>
  <path>{escape(str(home / "data"))}/</path>
  <tmp_path>{escape(str(home / "tmp"))}/</tmp_path>
  <user_files_path>{escape(str(home / "user_files"))}/</user_files_path>
  <format_schema_path>{escape(str(home / "format_schemas"))}/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
</yandex>
"""


def users_xml(settings: Settings) -> str:
    ch = settings.clickhouse
    return f"""<?xml version="1.0"?>
<!-- Written by infra on every start; loopback clients only. -->
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <{ch.user}>
      <password>{escape(ch.password)}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </{ch.user}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


def _prepare(settings: Settings) -> None:
    install()
    home = settings.data_dir("clickhouse")
    for sub in ("data", "tmp", "user_files", "format_schemas"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    (home / "config.xml").write_text(config_xml(settings))
    (home / "users.xml").write_text(users_xml(settings))


def query_http(settings: Settings, sql: str, timeout_s: float = 5.0) -> str:
    """Run one statement over ClickHouse's HTTP interface; its text answer."""
    ch = settings.clickhouse
    params = urllib.parse.urlencode({"user": ch.user, "password": ch.password})
    url = f"http://{ch.host}:{ch.http_port}/?{params}"
    req = urllib.request.Request(url, data=sql.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        return resp.read().decode()


def probe(settings: Settings) -> Probe:
    try:
        answer = query_http(settings, "SELECT version()", timeout_s=2.0).strip()
    except urllib.error.HTTPError as exc:
        return Probe(Health.FOREIGN, f"HTTP {exc.code} to a query")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return Probe(Health.DOWN)
        return Probe(Health.DOWN, str(exc.reason))
    except (OSError, ValueError) as exc:
        return Probe(Health.FOREIGN, str(exc))
    if not answer or not answer[0].isdigit():
        return Probe(Health.FOREIGN, f"unexpected answer {answer[:60]!r}")
    return Probe(Health.READY, f"ClickHouse {answer}")


def create_schema(settings: Settings) -> None:
    """The product's database and its migrations (idempotent)."""
    from infra.clickhouse.migrations import migrate

    migrate(settings, settings.clickhouse.database)


def clickhouse_service(settings: Settings) -> Service:
    home = settings.data_dir("clickhouse")
    binary = find_binary() or ["clickhouse-server"]
    return Service(
        name="clickhouse",
        command=[*binary, f"--config-file={home / 'config.xml'}"],
        log_file=settings.log_file("clickhouse"),
        pid_file=settings.pid_file("clickhouse"),
        cwd=home,
        address=f"{settings.clickhouse.host}:{settings.clickhouse.http_port}",
        probe=lambda: probe(settings),
        extra_ports=[(settings.clickhouse.host, settings.clickhouse.port)],
        prepare=lambda: _prepare(settings),
        after_ready=lambda: create_schema(settings),
        start_timeout_s=60.0,
        hint=(
            f"native {settings.clickhouse.host}:{settings.clickhouse.port}, "
            f"http {settings.clickhouse.host}:{settings.clickhouse.http_port}, "
            f"database {settings.clickhouse.database}"
        ),
    )
