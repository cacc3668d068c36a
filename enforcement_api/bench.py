"""Latency benchmark of the enforcement API (a benchmark, not a test; docs/PERFORMANCE.md).

    python -m enforcement_api.bench [--plates 1000000] [--rate 2000] [--seconds 20]
                                    [--workers 1]

What it does, on the broker of `KAFKA_BOOTSTRAP`, under a throwaway topic prefix:

1. baselines: serves a bare uvicorn "hello" ASGI app and a FastAPI "hello" route and
   measures their maximum requests/s with the same client;
2. produces `--plates` live validity records, starts `python -m enforcement_api serve`
   and times the replica's catch-up (`/readyz`);
3. single-plate checks at a fixed `--rate` (open loop: latency counted from the moment
   each request was due, so a stalled server cannot hide its queue), then the maximum
   checks/s (closed loop), then 100-plate batch checks at a fixed rate;
4. freshness: produces a record for a new plate and polls the API until it answers
   `valid`, many times: produce-to-answer latency.

`--workers N` serves the API and both hellos with N uvicorn worker processes alike (each
API process follows the validity topic into its own replica and has its own audit
forwarder), so the ratio to the hello compares like with like.

Each load phase (and each hello) also reports the CPU seconds the API server, its audit
forwarder, this client and the Kafka broker used, per second and per request
(`CpuMeter`): on a shared box that says who the limit was, and the servers' CPU per
hello against per check is the comparison that holds up when other work shares the box.

The client is asyncio + uvloop speaking HTTP/1.1 over keep-alive connections with no
HTTP library in between, so it costs the shared CPU as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# -- the baseline apps ---------------------------------------------------------------------

HELLO_BODY = b'{"hello":"world"}'


async def hello_app(scope: dict, receive: Any, send: Any) -> None:
    """The bare uvicorn baseline: an ASGI app that answers every request with a JSON body."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(HELLO_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": HELLO_BODY})


def fastapi_hello() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


# -- the client ----------------------------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if length is None:
            raise ValueError("response without Content-Length (chunked is not supported)")
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def post(path: str, body: bytes, token: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class Run:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": len(self.latencies_ms),
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "per_s": round(self.rate, 1),
            "p50_ms": round(self.pct(0.50), 2),
            "p90_ms": round(self.pct(0.90), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "max_ms": round(max(self.latencies_ms), 2) if self.latencies_ms else None,
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
        }


async def closed_loop(
    name: str, port: int, requests: Callable[[], bytes], connections: int, seconds: float
) -> Run:
    """As fast as the server answers: `connections` clients, each one request at a time."""
    run = Run(name)
    conns = [await Connection.open(port) for _ in range(connections)]
    stop = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await conn.request(requests())
            if status != 200:
                run.errors += 1
            run.latencies_ms.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    run.seconds = time.perf_counter() - began
    for c in conns:
        c.close()
    return run


async def open_loop(
    name: str,
    port: int,
    requests: Callable[[], bytes],
    rate: float,
    seconds: float,
    connections: int = 64,
) -> Run:
    """Requests due at a fixed rate; latency from when each was due (no coordinated omission)."""
    run = Run(name)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await Connection.open(port))
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    pending: set[asyncio.Task] = set()

    async def one(due: float) -> None:
        conn = await idle.get()
        try:
            status, _ = await conn.request(requests())
        finally:
            idle.put_nowait(conn)
        if status != 200:
            run.errors += 1
        run.latencies_ms.append((time.perf_counter() - due) * 1000)

    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    run.seconds = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return run


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    argv: list[str],
    port: int,
    env: dict[str, str],
    ready_path: str,
    timeout_s: float,
    workers: int = 1,
):
    log = Path(env.get("BENCH_LOG_DIR", "var/log")) / f"bench-server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        started = time.monotonic()
        # With several worker processes on one socket, any one of them answers a given
        # connection: ready means a run of answers in a row, each on a new connection.
        needed = 1 if workers == 1 else 25 * workers
        streak = 0
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {timeout_s} s")
            with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
                status = asyncio.run(_status(port, ready_path))
                streak = streak + 1 if status == 200 else 0
                if streak >= needed:
                    break
                if streak:
                    continue
            time.sleep(0.2)
        yield proc, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _status(port: int, path: str) -> int:
    conn = await Connection.open(port)
    try:
        status, _ = await conn.request(get(path))
        return status
    finally:
        conn.close()


def uvicorn_argv(app: str, port: int, factory: bool = False, workers: int = 1) -> list[str]:
    argv = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--host", "127.0.0.1"]
    argv += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    argv += ["--workers", str(workers)] if workers > 1 else []
    return argv + (["--factory"] if factory else [])


# -- data ----------------------------------------------------------------------------------

LETTERS = "ABCDEFGHJKLMNPRTUVWXY"
# Every check asks about one fixed moment inside Niš charging hours (a Tuesday, 10:00
# local), so the answers do not depend on the day the benchmark runs: paid plates are
# `valid`, unknown ones `none` and searched for near misses (the most work a check does).
BENCH_AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BENCH_AT_QUERY = "2026-11-24T09:00:00Z"


def plate_number(i: int) -> str:
    a = LETTERS[i % len(LETTERS)]
    b = LETTERS[(i // len(LETTERS)) % len(LETTERS)]
    return f"NI{i // (len(LETTERS) ** 2):05d}{a}{b}"


def produce_in_child(bootstrap: str, topic: str, count: int) -> float:
    """Load the plates from another process: a million records' worth of producer garbage
    in the client made its own pauses show up as server latency."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    child = context.Process(target=produce_plates, args=(bootstrap, topic, count, BENCH_AT))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"producing the plates failed ({child.exitcode})")
    return time.perf_counter() - started


def produce_plates(bootstrap: str, topic: str, count: int, now: datetime) -> float:
    """Validity records for `count` plates, each with a ticket valid around `now`."""
    from kafka import KafkaProducer

    from streams.contract import Entitlement, ValidityRecord

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=512 * 1024
    )
    started = time.perf_counter()
    template = ValidityRecord(
        city="nis",
        subject_kind="plate",
        subject="X",
        owner="X",
        entitlements=[
            Entitlement(
                ticket_id="T",
                kind="hourly",
                product="9181",
                channel="sms",
                state="confirmed",
                valid_from=now - timedelta(minutes=10),
                valid_until=now + timedelta(hours=3),
                price=6000,
                currency="RSD",
                zone="red",
                pin="P",
            )
        ],
        updated_at=now,
        caused_by="bench",
    ).to_json()
    for i in range(count):
        plate = plate_number(i)
        value = (
            template.replace(
                b'"subject":"X","owner":"X"', f'"subject":"{plate}","owner":"{plate}"'.encode()
            )
            .replace(b'"ticket_id":"T"', f'"ticket_id":"bench-{i}"'.encode())
            .replace(b'"pin":"P"', f'"pin":"{i:08d}"'.encode())
        )
        producer.send(topic, key=f"nis|plate|{plate}|{plate}".encode(), value=value)
    producer.flush()
    producer.close()
    return time.perf_counter() - started


# -- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enforcement_api.bench")
    parser.add_argument("--plates", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--batch-rate", type=float, default=20.0)
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between phases")
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds, not recorded")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes for the API and for both hellos alike (uvicorn --workers)",
    )
    parser.add_argument("--freshness-samples", type=int, default=200)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    import signal

    import uvloop

    from enforcement_api.core.security import issue_token

    # A stopped benchmark still stops its server and deletes its topics (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from infra.settings import Settings
    from streams.contract import Topics

    uvloop.install()
    bootstrap = Settings.from_env().kafka_bootstrap
    prefix = f"bench{secrets.token_hex(3)}."
    topics = Topics(prefix)
    secret = secrets.token_hex(32)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "PLATFORM_TOPIC_PREFIX": prefix,
        "API_JWT_SECRET": secret,
        "API_RATE_PER_S": "0",
        "STREAMS_PARTITIONS": "8",
    }
    results: dict[str, Any] = {
        "machine": machine(),
        "plates": args.plates,
        "workers": args.workers,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    def report(key: str, value: Any) -> None:
        results[key] = value
        print(json.dumps({key: value}), flush=True)

    # 1. baselines
    for name, app, factory in (
        ("hello_uvicorn", "enforcement_api.bench:hello_app", False),
        ("hello_fastapi", "enforcement_api.bench:fastapi_hello", True),
    ):
        port = free_port()
        argv = uvicorn_argv(app, port, factory, args.workers)
        with server(argv, port, env, "/hello", 30, args.workers) as (proc, _):
            request = get("/hello")
            meter = CpuMeter(proc.pid, args.workers)
            cpu = meter.snapshot()
            run = asyncio.run(
                closed_loop(name, port, lambda r=request: r, args.connections, args.max_seconds)
            )
            cpu = meter.report(cpu, meter.snapshot(), len(run.latencies_ms))
            report(name, {**run.summary(), **cpu})

    # 2. data and the API
    from streams.topology import ensure_topics

    ensure_topics(bootstrap, topics, 8)
    report(
        "produce_plates_s",
        round(produce_in_child(bootstrap, topics.validity, args.plates), 1),
    )
    port = free_port()
    token = issue_token(
        secret,
        subject="bench",
        role="warden",
        cities=["nis"],
        ttl_s=7200,
        issuer="parking-platform",
    )
    api_argv = [sys.executable, "-m", "enforcement_api", "serve", "--port", str(port)]
    api_argv += ["--workers", str(args.workers)]
    try:
        with server(api_argv, port, env, "/readyz", 900, args.workers) as (proc, catch_up_s):
            report("replica_catch_up_s", round(catch_up_s, 1))
            report("server_rss_mb", rss_mb(server_processes(proc.pid, args.workers)))
            report("server_settle_s", settle(server_processes(proc.pid, args.workers)))
            rng = random.Random(7)
            meter = CpuMeter(proc.pid, args.workers)

            def single() -> bytes:
                # 90% paid plates, 10% unknown ones (these also search near misses)
                if rng.random() < 0.9:
                    plate = plate_number(rng.randrange(args.plates))
                else:
                    plate = f"BG{rng.randrange(10**6):06d}X"
                return get(f"/v1/cities/nis/plates/{plate}?zone=red&at={BENCH_AT_QUERY}", token)

            def batch() -> bytes:
                plates = [plate_number(rng.randrange(args.plates)) for _ in range(100)]
                body = json.dumps({"plates": plates, "zone": "red", "at": BENCH_AT_QUERY}).encode()
                return post("/v1/cities/nis/plates:check", body, token)

            # warm-up at the target rate, not recorded (first touches, allocator, kernel)
            cpu = meter.snapshot()
            warm = asyncio.run(open_loop("warm-up", port, single, args.rate, args.warm_up))
            cpu = meter.report(cpu, meter.snapshot(), len(warm.latencies_ms))
            report("warm_up", {**warm.summary(), **cpu})
            time.sleep(args.pause)
            cpu = meter.snapshot()
            run = asyncio.run(open_loop("single_at_rate", port, single, args.rate, args.seconds))
            cpu = meter.report(cpu, meter.snapshot(), len(run.latencies_ms))
            report("single_at_rate", {**run.summary(), "target_per_s": args.rate, **cpu})
            # every check is an audit record: let the forwarder drain before the next phase
            time.sleep(args.pause)
            cpu = meter.snapshot()
            run = asyncio.run(
                closed_loop("single_max", port, single, args.connections, args.max_seconds)
            )
            cpu = meter.report(cpu, meter.snapshot(), len(run.latencies_ms))
            report("single_max", {**run.summary(), **cpu})
            time.sleep(args.pause * 2)
            cpu = meter.snapshot()
            run = asyncio.run(
                open_loop("batch100_at_rate", port, batch, args.batch_rate, args.seconds, 16)
            )
            cpu = meter.report(cpu, meter.snapshot(), len(run.latencies_ms))
            report("batch100_at_rate", {**run.summary(), "target_per_s": args.batch_rate, **cpu})
            time.sleep(args.pause)
            report(
                "freshness",
                freshness(bootstrap, topics.validity, port, token, args.freshness_samples),
            )
            report("server_rss_mb_after", rss_mb(server_processes(proc.pid, args.workers)))
    finally:
        delete_topics(bootstrap, topics)

    hello = results["hello_uvicorn"]["per_s"]
    results["single_max_vs_hello_uvicorn"] = round(results["single_max"]["per_s"] / hello, 3)
    results["single_max_vs_hello_fastapi"] = round(
        results["single_max"]["per_s"] / results["hello_fastapi"]["per_s"], 3
    )
    # The same comparison by the servers' CPU per request, which holds up better than the
    # rates when other work shares the box: a check costs the server this share of what a
    # hello costs it (the rates' ratio when the server alone is the limit).
    results["hello_uvicorn_vs_single_max_server_cpu"] = round(
        results["hello_uvicorn"]["cpu_us_per_request"]["server"]
        / results["single_max"]["cpu_us_per_request"]["server"],
        3,
    )
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


def freshness(bootstrap: str, topic: str, port: int, token: str, samples: int) -> dict[str, Any]:
    """Produce a record for a new plate, poll until the API answers `valid` with it."""
    from kafka import KafkaProducer

    from streams.contract import Entitlement, ValidityRecord

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    run = Run("freshness")

    async def measure() -> None:
        conn = await Connection.open(port)
        try:
            for i in range(samples):
                plate = f"FR{i:06d}"
                now = BENCH_AT + timedelta(microseconds=i)  # as_of moves forward
                rec = ValidityRecord(
                    city="nis",
                    subject_kind="plate",
                    subject=plate,
                    owner=plate,
                    entitlements=[
                        Entitlement(
                            ticket_id=f"fresh-{i}",
                            kind="hourly",
                            product="9181",
                            channel="sms",
                            state="provisional",
                            valid_from=BENCH_AT - timedelta(minutes=5),
                            valid_until=BENCH_AT + timedelta(hours=1),
                            price=6000,
                            currency="RSD",
                            zone="red",
                        )
                    ],
                    updated_at=now,
                    caused_by="bench",
                )
                request = get(f"/v1/cities/nis/plates/{plate}?zone=red&at={BENCH_AT_QUERY}", token)
                started = time.perf_counter()
                producer.send(topic, key=rec.key.encode(), value=rec.to_json())
                producer.flush()
                while True:
                    _, body = await conn.request(request)
                    if b'"status":"valid"' in body:
                        break
                    if time.perf_counter() - started > 10:
                        run.errors += 1
                        break
                    await asyncio.sleep(0.002)
                run.latencies_ms.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)
        finally:
            conn.close()

    began = time.perf_counter()
    asyncio.run(measure())
    run.seconds = time.perf_counter() - began
    producer.close()
    summary = run.summary()
    summary.pop("per_s")
    return summary


def delete_topics(bootstrap: str, topics: Any) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        names = [n for n in admin.list_topics() if n.startswith(topics.prefix)]
        if names:
            admin.delete_topics(names)
    finally:
        admin.close()


def server_processes(pid: int, workers: int) -> list[Any]:
    """The processes that answer requests: the uvicorn process itself, and with several
    workers its worker children too (their own children are audit forwarders)."""
    import psutil

    top = psutil.Process(pid)
    if workers == 1:
        return [top]
    return [top, *(c for c in top.children() if "resource_tracker" not in " ".join(c.cmdline()))]


def settle(processes: list[Any], idle_percent: float = 10.0, timeout_s: float = 120.0) -> float:
    """Seconds until every server process is idle after start-up (a benchmark should not
    measure the tail of the replicas' catch-up)."""
    started = time.monotonic()
    for process in processes:
        process.cpu_percent(None)
    while time.monotonic() - started < timeout_s:
        time.sleep(1.0)
        if all(process.cpu_percent(None) < idle_percent for process in processes):
            break
    return round(time.monotonic() - started, 1)


class CpuMeter:
    """CPU seconds of each process on the box that a phase makes work: the API server,
    its audit forwarder, this client and the Kafka broker (when found). Per phase, CPU
    seconds per second and per request: on a shared 2-core box this says who was the
    limit, and survives other load better than wall-clock rates."""

    def __init__(self, server_pid: int, workers: int = 1) -> None:
        import psutil

        servers = server_processes(server_pid, workers)
        pids = {p.pid for p in servers}
        self.processes: dict[str, list[Any]] = {
            "server": servers,
            "client": [psutil.Process()],
            # the audit forwarders (audit.py): one per server process
            "forwarder": [
                child
                for child in servers[0].children(recursive=True)
                if child.pid not in pids and "resource_tracker" not in " ".join(child.cmdline())
            ],
        }
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "java" in (proc.info["name"] or "") and "kafka" in cmdline.lower():
                self.processes["broker"] = [proc]
                break

    def snapshot(self) -> dict[str, float]:
        import psutil

        times = {}
        for name, procs in self.processes.items():
            total = 0.0
            for proc in procs:
                try:
                    cpu = proc.cpu_times()
                except psutil.Error:
                    continue
                total += cpu.user + cpu.system
            if procs:
                times[name] = total
        times["wall"] = time.perf_counter()
        return times

    @staticmethod
    def report(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, Any]:
        wall = after["wall"] - before["wall"]
        used = {k: after[k] - before[k] for k in after if k != "wall" and k in before}
        return {
            "cpu_s_per_s": {k: round(v / wall, 2) for k, v in used.items()},
            "cpu_us_per_request": {
                k: round(v / max(1, requests) * 1e6, 1) for k, v in used.items()
            },
        }


def rss_mb(processes: list[Any]) -> float:
    """Resident memory of the server processes together (each holds its own replica)."""
    return round(sum(p.memory_info().rss for p in processes) / 2**20, 1)


def machine() -> dict[str, Any]:
    import psutil

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    sys.exit(main())
