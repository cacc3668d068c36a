"""Officer traffic against the enforcement API: wardens checking plates, with Locust.

Runs in its own process (`python -m loadtest officers ...`), because Locust patches the
standard library for gevent and the producer side must not run under that. Each check is
`GET /v1/cities/{city}/plates/{plate}`; with probability `hit_share` the plate is one of
the scenario's regulars (who park often, so most have a stay), otherwise a plate nobody
ever paid for. Every response time is kept, so the percentiles are exact, and written
with a per-second series to a JSON file the main run merges into its report.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from loadtest.scenario import Scenario
from loadtest.sessions import population_for

Sample = tuple[float, float, bool, str]  # (s since start, ms, ok, status) of one check


def officer_plates(
    scenario: Scenario, cities: list[str], per_city: int = 2000
) -> dict[str, list[str]]:
    """The plates wardens will find: the most frequent regulars of each parking city."""
    plates: dict[str, list[str]] = {}
    for city in cities:
        model = scenario.cities[city]
        population = population_for(model, scenario.seed)
        plates[city] = [population.person(i).plate for i in range(min(per_city, model.regulars))]
    return plates


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        # nearest-rank percentile: the smallest value with at least q of the samples <= it
        rank = max(1, math.ceil(q * len(ordered)))
        return round(ordered[rank - 1], 3)

    return {
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], 3),
        "mean": round(sum(ordered) / len(ordered), 3),
    }


PER_PROCESS_RATE = 700.0  # checks/s one Locust process sustains here (docs/PERFORMANCE.md)
PER_USER_RATE = 5.0  # checks/s of one simulated warden: many concurrent ones, as in the field


def officer_processes(rate: float) -> int:
    """How many Locust processes make `rate` checks/s (Locust runs one core each)."""
    return max(1, math.ceil(rate / PER_PROCESS_RATE))


def officer_users(rate: float) -> int:
    """How many simulated wardens (Locust users, one token each) make `rate` checks/s."""
    return max(1, math.ceil(rate / PER_USER_RATE))


def run_officers(
    *,
    host: str,
    tokens: list[str],
    rate: float,
    duration_s: float,
    plates: dict[str, list[str]],
    hit_share: float,
    seed: int,
    out: Path,
    users: int | None = None,
    clock_file: Path | None = None,
) -> dict[str, Any]:
    import gevent
    from locust import FastHttpUser, constant_throughput, task
    from locust.env import Environment

    rng = random.Random(seed)
    cities = sorted(plates)
    n_users = users or officer_users(rate)
    per_user = rate / n_users
    started = time.monotonic()
    samples: list[Sample] = []
    # One token per warden, as in the field: the API limits requests per token.
    handed_out = iter(range(10**9))

    clock_cache: dict[str, Any] = {"read": 0.0, "at": None}

    def event_time() -> str | None:
        """The run's current event time (replay: simulated) from the file the main
        process rewrites every second; None asks about "now" (wall-clock runs)."""
        if clock_file is None:
            return None
        now = time.monotonic()
        if now - clock_cache["read"] > 0.5:
            clock_cache["read"] = now
            with contextlib.suppress(OSError):
                clock_cache["at"] = clock_file.read_text().strip() or None
        return clock_cache["at"]

    class Warden(FastHttpUser):
        wait_time = constant_throughput(per_user)

        def on_start(self) -> None:
            token = tokens[next(handed_out) % len(tokens)]
            self.auth = {"authorization": f"Bearer {token}"}

        @task
        def check_plate(self) -> None:
            city = rng.choice(cities)
            hit = rng.random() < hit_share
            plate = rng.choice(plates[city]) if hit else f"ZZ{rng.randrange(10**7):07d}"
            t0 = time.perf_counter()
            status = "error"
            ok = False
            at = event_time()
            with self.client.get(
                f"/v1/cities/{city}/plates/{plate}",
                params={"at": at} if at else None,
                headers=self.auth,
                name="/v1/cities/{city}/plates/{plate}",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    ok = True
                    try:
                        status = str(response.json().get("status"))
                    except Exception:
                        ok = False
                    response.success() if ok else response.failure("bad body")
                else:
                    status = f"HTTP {response.status_code}"
                    response.failure(status)
            ms = (time.perf_counter() - t0) * 1000
            samples.append((time.monotonic() - started, ms, ok, status))

    Warden.host = host
    env = Environment(user_classes=[Warden])
    runner = env.create_local_runner()
    runner.start(n_users, spawn_rate=max(1.0, n_users / 2))
    gevent.sleep(duration_s)
    runner.quit()
    result = summarise(samples, duration_s, rate, n_users, hit_share)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the raw samples too, so several officer processes merge into exact percentiles
    out.write_text(json.dumps({**result, "samples": samples}))
    return result


def merge(results: list[dict[str, Any]], duration_s: float, rate: float) -> dict[str, Any]:
    """One summary of several officer processes' results (from their raw samples)."""
    samples = [tuple(s) for r in results for s in r.get("samples", [])]
    users = sum(int(r.get("users", 0)) for r in results)
    hit_share = results[0].get("hit_share", 0.0) if results else 0.0
    merged = summarise(samples, duration_s, rate, users, hit_share)  # type: ignore[arg-type]
    merged["processes"] = len(results)
    merged["tool"] = "locust"
    return merged


def summarise(
    samples: list[Sample],
    duration_s: float,
    rate: float,
    users: int,
    hit_share: float,
) -> dict[str, Any]:
    seconds = math.ceil(duration_s)
    per_second: dict[str, list[float | None]] = {
        "t": [],
        "rps": [],
        "errors": [],
        "p50": [],
        "p95": [],
        "p99": [],
    }
    buckets: list[list[tuple[float, bool]]] = [[] for _ in range(seconds + 1)]
    for t, ms, ok, _ in samples:
        buckets[min(int(t), seconds)].append((ms, ok))
    for second, bucket in enumerate(buckets):
        stats = percentiles([ms for ms, _ in bucket])
        per_second["t"].append(second + 1)
        per_second["rps"].append(len(bucket))
        per_second["errors"].append(sum(1 for _, ok in bucket if not ok))
        for q in ("p50", "p95", "p99"):
            per_second[q].append(stats[q])
    statuses: dict[str, int] = {}
    for *_, status in samples:
        statuses[status] = statuses.get(status, 0) + 1
    ok_ms = [ms for _, ms, ok, _ in samples if ok]
    return {
        "target_rate": rate,
        "users": users,
        "hit_share": hit_share,
        "requests": len(samples),
        "errors": sum(1 for s in samples if not s[2]),
        "achieved_rate": round(len(samples) / duration_s, 1) if duration_s else 0.0,
        "latency_ms": percentiles(ok_ms),
        "statuses": statuses,
        "series": per_second,
    }
