"""`python -m infra up | down | status | logs | demo` — the platform's processes on this machine.

- `up`: Kafka and ClickHouse (started, or reused when already answering), schema applied.
- `demo`: `up`, then the stream worker, analytics sink, enforcement API, dashboards and
  demo traffic; prints where to look.
- `down`: stops what this checkout started (platform first, then Kafka and ClickHouse).
- `status [--json]`: what runs, whose it is, where. Exit 1 when a core service is not ready.
- `migrate`: apply the ClickHouse schema to a server that already runs (docker-compose).
- `logs [SERVICE...] [-f] [-n N]`: the end of the logs (and follow them).
Ports and folders come from environment variables (see `infra/settings.py`, docs/infra.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from infra import process
from infra.clickhouse.migrations import migrate
from infra.services import API_PORT_DEFAULT, core_services, platform_services
from infra.settings import REPO_ROOT, Settings, SettingsError


def _all(settings: Settings) -> list[process.Service]:
    return core_services(settings) + platform_services(settings, {})


def cmd_up(settings: Settings) -> int:
    for service in core_services(settings):
        outcome = process.start(service)
        print(f"{service.name:<11} {outcome.action:<8} {service.hint}  ({outcome.detail})")
    print(f"logs: {settings.log_dir}")
    return 0


def cmd_demo(settings: Settings) -> int:
    cmd_up(settings)
    for service in platform_services(settings, {}):
        outcome = process.start(service)
        print(f"{service.name:<11} {outcome.action:<8} {service.hint}")
    token = subprocess.run(
        [sys.executable, "-m", "enforcement_api", "token", "--role", "warden", "--city", "*",
         "--subject", "demo-warden", "--ttl", "8h"],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    ).stdout.strip()  # fmt: skip
    api = f"http://127.0.0.1:{os.environ.get('API_PORT', API_PORT_DEFAULT)}"
    print("\nThe platform runs with demo traffic. `make status` shows it, `make logs` follows it,")
    print("`make down` stops it.\n\nA warden token (8 h, every city) and a sample check:")
    print(f"  TOKEN={token}")
    print(f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/v1/cities/nis/plates/NI123AB')
    return 0


def cmd_down(settings: Settings) -> int:
    for service in reversed(_all(settings)):
        print(f"{service.name:<11} {process.stop(service)}")
    return 0


def cmd_status(settings: Settings, as_json: bool) -> int:
    rows = [process.status(s) for s in _all(settings)]
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        for r in rows:
            pid = str(r.pid) if r.pid else "-"
            print(
                f"{r.name:<11} {r.state:<9} {r.owner:<7} pid {pid:<8} "
                f"{r.address or '-':<22} {r.detail}"
            )
    core = {s.name for s in core_services(settings)}
    return 0 if all(r.healthy for r in rows if r.name in core) else 1


def cmd_logs(settings: Settings, names: list[str], follow: bool, lines: int) -> int:
    services = {s.name: s for s in _all(settings)}
    unknown = [n for n in names if n not in services]
    if unknown:
        print(f"unknown service(s) {unknown}; known: {sorted(services)}", file=sys.stderr)
        return 2
    chosen = [services[n] for n in names] if names else list(services.values())
    paths = [s.log_file for s in chosen if s.log_file.exists()]
    if follow:
        try:
            process.follow(paths, sys.stdout.write, lines)
        except KeyboardInterrupt:
            return 0
    for path in paths:
        print(f"==> {path} <==\n{process.tail(path, lines)}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start Kafka and ClickHouse (reuse running ones)")
    sub.add_parser("demo", help="up + worker, sink, API, dashboards and demo traffic")
    sub.add_parser("down", help="stop what this checkout started")
    sub.add_parser("migrate", help="apply the ClickHouse schema to the configured server")
    st = sub.add_parser("status", help="what runs")
    st.add_argument("--json", action="store_true")
    lg = sub.add_parser("logs", help="show (and follow) logs")
    lg.add_argument("services", nargs="*")
    lg.add_argument("-f", "--follow", action="store_true")
    lg.add_argument("-n", "--lines", type=int, default=40)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "up":
            return cmd_up(settings)
        if args.command == "demo":
            return cmd_demo(settings)
        if args.command == "down":
            return cmd_down(settings)
        if args.command == "migrate":
            applied = migrate(settings, settings.clickhouse.database)
            print(f"applied {applied or 'nothing (schema current)'}")
            return 0
        if args.command == "status":
            return cmd_status(settings, args.json)
        return cmd_logs(settings, args.services, args.follow, args.lines)
    except (process.ServiceError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
