"""Running a service as a plain background process: start, readiness, reuse, status, stop.

A :class:`Service` describes one long-running program (a broker, a database, a worker, an API):
the command, its environment, its log file, its pid file and how to tell whether it answers.
This module knows nothing about Kafka or ClickHouse; ``infra/kafka.py`` and
``infra/clickhouse.py`` describe those, ``infra/services.py`` lists them in start order.

Ownership: a service is *ours* when this checkout's pid file names a live process started with
the recorded start time (pids are recycled; the start time tells a recycled pid apart). Only
ours are ever stopped. When the service's address already answers with the right protocol but
the process is not ours (another checkout on this machine, a system service), it is *reused*
and left alone by ``down``.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

POLL_INTERVAL_S = 0.5


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message names the missing piece."""


class Health(enum.Enum):
    DOWN = "down"  # nothing listens
    FOREIGN = "foreign"  # something listens, but does not speak this service's protocol
    STARTING = "starting"  # the protocol answers, but the service is not ready yet
    READY = "ready"


@dataclass(frozen=True)
class Probe:
    health: Health
    detail: str = ""


@dataclass(frozen=True)
class Service:
    """One program infra can run in the background.

    ``probe`` checks the real protocol at the service's address (not merely an open port); a
    service without one (a worker with no port) counts as ready while its process lives.
    ``prepare`` runs before a start (install, download, write config); ``after_ready`` runs
    once the service answers, whether ours or reused (schema migrations).
    """

    name: str
    command: Sequence[str]
    log_file: Path
    pid_file: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    address: str | None = None
    probe: Callable[[], Probe] | None = None
    # Further ports the process binds (e.g. the Kafka controller): must be free before a start.
    extra_ports: Sequence[tuple[str, int]] = ()
    prepare: Callable[[], None] | None = None
    after_ready: Callable[[], None] | None = None
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0
    # Started by `infra up` (the platform's backing services) or only by `infra demo`.
    core: bool = True
    # What to tell a person about it once it runs (a URL, a topic to watch ...).
    hint: str = ""


@dataclass(frozen=True)
class Status:
    """What runs for a service, as ``infra status`` reports it."""

    name: str
    state: str  # ready | starting | stopped | foreign | dead
    owner: str  # ours | reused | -
    pid: int | None
    address: str | None
    detail: str
    log_file: Path

    @property
    def healthy(self) -> bool:
        return self.state == "ready"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "owner": self.owner,
            "pid": self.pid,
            "address": self.address,
            "healthy": self.healthy,
            "detail": self.detail,
            "log_file": str(self.log_file),
        }


# --- pid files -----------------------------------------------------------------------------


def _write_pid_file(service: Service, proc: psutil.Process) -> None:
    service.pid_file.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": proc.pid,
        "create_time": proc.create_time(),
        "command": list(service.command),
    }
    tmp = service.pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(record) + "\n")
    tmp.replace(service.pid_file)


def owned_process(service: Service) -> psutil.Process | None:
    """The live process this checkout started for ``service``, or None (stale files removed)."""
    try:
        record = json.loads(service.pid_file.read_text())
        proc = psutil.Process(int(record["pid"]))
        alive = proc.status() != psutil.STATUS_ZOMBIE
        same = abs(proc.create_time() - float(record["create_time"])) < 1.0
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, psutil.NoSuchProcess):
        alive = same = False
        proc = None
    if proc is not None and alive and same:
        return proc
    service.pid_file.unlink(missing_ok=True)
    return None


# --- ports ---------------------------------------------------------------------------------


def port_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for tests and side-by-side stacks)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_owner(port: int) -> str:
    """Who listens on ``port`` on this machine, in words, for error messages."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return "an unknown process"
    for conn in conns:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "an unknown process"
            try:
                proc = psutil.Process(conn.pid)
                cmd = " ".join(proc.cmdline())[:160] or proc.name()
            except psutil.Error:
                return f"pid {conn.pid}"
            return f"pid {conn.pid} ({cmd})"
    return "an unknown process"


# --- start ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What ``start`` did: ``started`` (ours, new), ``running`` (ours, already) or ``reused``."""

    name: str
    action: str
    pid: int | None
    detail: str


def _probe(service: Service) -> Probe:
    if service.probe is None:
        return Probe(Health.DOWN)
    return service.probe()


def start(service: Service) -> Outcome:
    """Make ``service`` run and answer: reuse what already serves its address, else start it.

    Raises :class:`ServiceError` naming what is missing when it cannot.
    """
    outcome: Outcome | None = None
    proc = owned_process(service)
    if proc is not None:
        try:
            probe = _wait_ready(service, proc)
            outcome = Outcome(service.name, "running", proc.pid, probe.detail)
        except _Died:
            service.pid_file.unlink(missing_ok=True)
    if outcome is None:
        outcome = _reuse(service) or _spawn(service)
    if service.after_ready is not None:
        service.after_ready()
    return outcome


def _reuse(service: Service) -> Outcome | None:
    probe = _probe(service)
    if probe.health is Health.DOWN:
        return None
    if probe.health is Health.FOREIGN:
        port = int(str(service.address).rpartition(":")[2])
        raise ServiceError(
            f"{service.name}: {service.address} is in use by {port_owner(port)}, which does not "
            f"answer as {service.name} ({probe.detail}). Stop it, or point infra at another port "
            f"(see docs/infra.md for the variables)."
        )
    if probe.health is Health.STARTING:
        probe = _wait_ready(service, None)
    return Outcome(service.name, "reused", None, probe.detail)


def _spawn(service: Service) -> Outcome:
    for host, port in service.extra_ports:
        if port_open(host, port):
            raise ServiceError(
                f"{service.name}: port {port} is needed but already in use by {port_owner(port)}"
            )
    if service.prepare is not None:
        service.prepare()
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **service.env}
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with service.log_file.open("ab") as log:
        log.write(f"\n=== infra {stamp}: starting {' '.join(service.command)}\n".encode())
        log.flush()
        try:
            popen = subprocess.Popen(
                list(service.command),
                cwd=service.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal that ran `infra up` does not reach
                # it, and `down` can signal the whole group (a JVM, a shell and its children).
                start_new_session=True,
            )
        except OSError as exc:
            raise ServiceError(f"{service.name}: cannot run {service.command[0]}: {exc}") from exc
    proc = psutil.Process(popen.pid)
    _write_pid_file(service, proc)
    try:
        probe = _wait_ready(service, proc)
    except _Died:
        service.pid_file.unlink(missing_ok=True)
        # Lost a race with another checkout starting the same service on the same port?
        reused = _reuse(service)
        if reused is not None:
            return reused
        raise ServiceError(
            f"{service.name} exited during start-up; last lines of {service.log_file}:\n"
            + tail(service.log_file, 25)
        ) from None
    except ServiceError:
        stop(service)
        raise
    return Outcome(service.name, "started", proc.pid, probe.detail)


class _Died(Exception):
    pass


def _wait_ready(service: Service, proc: psutil.Process | None) -> Probe:
    deadline = time.monotonic() + service.start_timeout_s
    probe = Probe(Health.DOWN)
    while True:
        if proc is not None and not _alive(proc):
            raise _Died
        if service.probe is None:
            if proc is not None:
                return Probe(Health.READY, "process running")
        else:
            probe = service.probe()
            if probe.health is Health.READY:
                return probe
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{service.name} did not become ready within {service.start_timeout_s:.0f} s "
                f"(last probe: {probe.health.value} {probe.detail}); see {service.log_file}:\n"
                + tail(service.log_file, 25)
            )
        time.sleep(POLL_INTERVAL_S)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --- stop ----------------------------------------------------------------------------------


def stop(service: Service) -> str:
    """Stop the process this checkout started for ``service``; leave anything else alone.

    SIGTERM to its process group, wait up to ``stop_timeout_s``, then SIGKILL.
    Returns what was done, in words.
    """
    proc = owned_process(service)
    if proc is None:
        return "not started by this checkout; left alone"
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=service.stop_timeout_s)
        how = "stopped"
    except psutil.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(psutil.TimeoutExpired):
            proc.wait(timeout=10)
        how = f"killed (no exit {service.stop_timeout_s:.0f} s after SIGTERM)"
    service.pid_file.unlink(missing_ok=True)
    return f"{how} (pid {proc.pid})"


def end_child(popen: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop a child we started ourselves: SIGTERM, up to `grace_s` to exit, then SIGKILL."""
    if popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=10)


def _signal_group(proc: psutil.Process, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        # Not a group leader after all (started by an older infra): signal the process alone.
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)


# --- status --------------------------------------------------------------------------------


def status(service: Service) -> Status:
    proc = owned_process(service)
    probe = _probe(service) if service.probe is not None else None
    if proc is not None:
        owner, pid = "ours", proc.pid
        if probe is None:
            state, detail = "ready", "process running"
        else:
            state = "ready" if probe.health is Health.READY else "starting"
            detail = probe.detail
    elif probe is not None and probe.health is not Health.DOWN:
        owner, pid = "reused", None
        state, detail = probe.health.value, probe.detail
        if probe.health is Health.FOREIGN:
            owner = "-"
    else:
        owner, pid, state, detail = "-", None, "stopped", ""
    return Status(service.name, state, owner, pid, service.address, detail, service.log_file)


# --- logs ----------------------------------------------------------------------------------


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def follow(paths: Sequence[Path], write: Callable[[str], None], from_lines: int = 20) -> None:
    """Print the end of each log, then what is appended, until interrupted (``logs -f``)."""
    positions: dict[Path, int] = {}
    for path in paths:
        text = tail(path, from_lines)
        if text:
            write(_prefix(path, text, len(paths)) + "\n")
        positions[path] = path.stat().st_size if path.exists() else 0
    while True:
        for path in paths:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size < positions[path]:  # rotated or truncated
                positions[path] = 0
            if size > positions[path]:
                with path.open("rb") as fh:
                    fh.seek(positions[path])
                    chunk = fh.read()
                positions[path] += len(chunk)
                write(_prefix(path, chunk.decode(errors="replace"), len(paths)))
        time.sleep(0.5)


def _prefix(path: Path, text: str, count: int) -> str:
    if count == 1:
        return text
    return "".join(f"{path.stem}| {line}" for line in text.splitlines(keepends=True))
