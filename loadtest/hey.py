"""Officer plate checks at a constant rate with `hey`, the Go HTTP load generator.

Locust (officers.py) simulates wardens one by one in Python and, on the shared 2-core
box, tops out near 850 checks/s with its own queueing in the latencies. `hey` sends a
fixed rate from a few light Go processes, which is what "API p99 at 2 000 checks/s"
needs. hey takes one URL per run, so the checks are split over several hey processes,
each asking about one plate (docs/loadtest.md, "Officers"):

- `plan_targets` (pure): which plate each process asks about (a regular's plate for the
  hit share of the rate, a plate nobody paid for for the rest) and how its rate is split
  into hey workers (`-c`) each capped at `-q` checks/s;
- `parse_hey_csv` (pure): hey's `-o csv` rows as the samples officers.summarise takes,
  so hey's figures land in the report exactly where Locust's do;
- `ensure_hey`, `start_hey`, `collect_hey`: find or install the binary (with infra's
  apt helper), run the processes, read their CSV and ask each URL once what it answers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import random
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from loadtest.officers import Sample, summarise

HEY_PACKAGE = "hey"  # Debian's package (hey 0.1.4), and the binary's name
PROCESSES = 10  # hey processes (= plate URLs) unless told otherwise
# Checks/s of one hey worker (one connection): a worker waits for each answer before it
# sends the next, so it falls behind its rate only when an answer takes > 1/10 s.
PER_WORKER_RATE = 10.0


@dataclass(frozen=True)
class HeyTarget:
    """One hey process: the plate it asks about, at what rate, with how many workers."""

    kind: str  # "hit": a regular's plate | "miss": a plate nobody paid for
    city: str
    plate: str
    rate: float  # checks/s of this process
    workers: int  # hey -c

    @property
    def per_worker(self) -> float:
        """hey -q: checks/s of each worker, so that workers × per_worker = rate."""
        return self.rate / self.workers


def split_hits(processes: int, hit_share: float) -> tuple[int, int]:
    """(hit processes, miss processes): in proportion to the hit share, and at least one
    of a kind whenever its share is above zero."""
    if processes < 1:
        raise ValueError("hey needs at least one process")
    if not 0.0 <= hit_share <= 1.0:
        raise ValueError(f"hit share {hit_share} is not between 0 and 1")
    if hit_share in (0.0, 1.0) or processes == 1:
        hits = processes if hit_share >= 0.5 else 0
        return hits, processes - hits
    hits = min(processes - 1, max(1, round(processes * hit_share)))
    return hits, processes - hits


def plan_targets(
    rate: float,
    hit_share: float,
    plates: dict[str, list[str]],
    *,
    processes: int = PROCESSES,
    miss_cities: list[str] | None = None,
    seed: int = 0,
    per_worker_rate: float = PER_WORKER_RATE,
) -> list[HeyTarget]:
    """The hey processes for `rate` checks/s: the hit share of the rate spread evenly over
    the hit processes (one of `plates` each, cities in turn, first plates first), the rest
    over the miss processes (an unknown plate each, in `miss_cities` in turn, default the
    cities of `plates`). With one process only, all checks are of the majority kind."""
    if rate <= 0:
        raise ValueError("officer rate must be above zero")
    cities = sorted(plates)
    miss_in = sorted(miss_cities) if miss_cities else cities
    if not cities or not miss_in:
        raise ValueError("no city to check plates in")
    hits, misses = split_hits(processes, hit_share)
    hit_rate = rate * hit_share if misses else rate
    miss_rate = rate - hit_rate if hits else rate
    rng = random.Random(seed)
    targets: list[HeyTarget] = []
    for n in range(hits):
        city = cities[n % len(cities)]
        regulars = plates[city]
        if not regulars:
            raise ValueError(f"no regulars' plates for {city}")
        plate = regulars[(n // len(cities)) % len(regulars)]
        targets.append(_target("hit", city, plate, hit_rate / hits, per_worker_rate))
    for n in range(misses):
        city = miss_in[n % len(miss_in)]
        plate = f"ZZ{rng.randrange(10**7):07d}"  # as officers.py: nobody pays for ZZ plates
        targets.append(_target("miss", city, plate, miss_rate / misses, per_worker_rate))
    return targets


def _target(kind: str, city: str, plate: str, rate: float, per_worker_rate: float) -> HeyTarget:
    workers = max(1, math.ceil(rate / per_worker_rate))
    return HeyTarget(kind=kind, city=city, plate=plate, rate=rate, workers=workers)


def check_path(target: HeyTarget, at: datetime | None) -> str:
    """The plate check's path and query, as the wardens' app asks it."""
    path = f"/v1/cities/{target.city}/plates/{quote(target.plate, safe='')}"
    return f"{path}?{urlencode({'at': at.isoformat()})}" if at is not None else path


def parse_hey_csv(text: str) -> list[Sample]:
    """hey's `-o csv` output as samples (seconds since hey started, ms, ok, status).

    One row per answered request: `response-time` in seconds (hey prints 0.1 ms
    resolution), `status-code`, `offset` (when the request was sent, seconds from the
    start). A 200 is ok; anything else is an error named `HTTP <code>`, as for Locust.
    Requests that got no answer at all (refused, reset, timed out) are not in hey's CSV:
    they show only as a shortfall of the achieved rate.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    columns = {name.strip(): i for i, name in enumerate(header)}
    missing = [c for c in ("response-time", "status-code", "offset") if c not in columns]
    if missing:
        raise ValueError(f"hey's CSV lacks the columns {missing} (header {header})")
    took, code_at, offset_at = (
        columns["response-time"],
        columns["status-code"],
        columns["offset"],
    )
    samples: list[Sample] = []
    for row in reader:
        if not row:
            continue
        code = int(row[code_at])
        status = f"HTTP {code}"
        samples.append((float(row[offset_at]), float(row[took]) * 1000, code == 200, status))
    return samples


def ensure_hey() -> str:
    """The hey binary's path, installed with apt-get (infra's helper) when missing."""
    from infra.apt import apt_install
    from infra.process import ServiceError

    found = shutil.which(HEY_PACKAGE)
    if found:
        return found
    try:
        apt_install("loadtest officers (--officer-tool hey)", HEY_PACKAGE)
    except ServiceError as exc:
        raise ServiceError(f"{exc}\n(or use --officer-tool locust)") from exc
    found = shutil.which(HEY_PACKAGE)
    if not found:
        raise ServiceError(
            f"loadtest officers: apt installed `{HEY_PACKAGE}` but no `hey` binary is on PATH"
        )
    return found


@dataclass
class HeyProcess:
    """A running hey process and where its CSV goes."""

    target: HeyTarget
    url: str
    token: str
    popen: subprocess.Popen[bytes]
    csv_path: Path
    err_path: Path


def start_hey(
    *,
    host: str,
    tokens: list[str],
    targets: list[HeyTarget],
    duration_s: float,
    at: datetime | None,
    folder: Path,
    hey: str | None = None,
) -> list[HeyProcess]:
    """One hey process per target, each with its own warden token (tokens in turn)."""
    binary = hey or ensure_hey()
    folder.mkdir(parents=True, exist_ok=True)
    started: list[HeyProcess] = []
    for n, target in enumerate(targets):
        token = tokens[n % len(tokens)]
        url = host.rstrip("/") + check_path(target, at)
        csv_path, err_path = folder / f"hey-{n}.csv", folder / f"hey-{n}.err"
        command = [
            binary,
            "-z",
            f"{duration_s}s",
            "-c",
            str(target.workers),
            "-q",
            f"{target.per_worker:.6f}",
            "-H",
            f"Authorization: Bearer {token}",
            "-o",
            "csv",
            url,
        ]
        with csv_path.open("wb") as out, err_path.open("wb") as err:
            popen = subprocess.Popen(command, stdout=out, stderr=err)
        started.append(HeyProcess(target, url, token, popen, csv_path, err_path))
    return started


def answer_status(url: str, token: str) -> str:
    """What the API answers for a URL now: the check's status, or `HTTP <code>`."""
    import httpx

    try:
        response = httpx.get(url, headers={"authorization": f"Bearer {token}"}, timeout=10.0)
    except httpx.HTTPError as exc:
        return f"error: {exc!r}"[:200]
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        return str(response.json().get("status"))
    except ValueError:
        return "bad body"


def collect_hey(
    started: list[HeyProcess],
    *,
    duration_s: float,
    rate: float,
    hit_share: float,
    out: Path | None = None,
) -> dict[str, Any]:
    """Wait for the hey processes and summarise their checks like Locust's (officers.py),
    plus one line per URL: kind, target rate, requests, and what the API answers for it
    when the run is over (hey keeps no bodies, so statuses are HTTP codes)."""
    samples: list[Sample] = []
    urls: list[dict[str, Any]] = []
    failures: list[str] = []
    for process in started:
        try:
            process.popen.wait(timeout=duration_s + 60)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()
        ran: list[Sample] = []
        with contextlib.suppress(OSError):
            ran = parse_hey_csv(process.csv_path.read_text())
        if process.popen.returncode != 0:
            err = process.err_path.read_text(errors="replace") if process.err_path.exists() else ""
            failures.append(f"hey exited {process.popen.returncode}: {err.strip()[-500:]}")
        samples.extend(ran)
        target = process.target
        urls.append(
            {
                "kind": target.kind,
                "city": target.city,
                "plate": target.plate,
                "target_rate": round(target.rate, 2),
                "workers": target.workers,
                "requests": len(ran),
                "answer_after_run": answer_status(process.url, process.token),
            }
        )
    users = sum(p.target.workers for p in started)
    result = summarise(samples, duration_s, rate, users, hit_share)
    result.update({"tool": "hey", "processes": len(started), "urls": urls})
    if failures:
        result["process_errors"] = failures
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result))
    return result
