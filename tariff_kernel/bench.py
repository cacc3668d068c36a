"""Benchmark (not a test): batch and scalar quotes, the Numba kernels against the reference.

    python -m tariff_kernel.bench [--n 2000000] [--reference-n 20000] [--repeat 3]

Prices the same generated stays with the batch kernel on one thread (into fresh arrays,
as `price_stays` returns them, and into reused ones, `out=`) and on all threads, with the
public scalar `quote_stay` and the lean `PreparedProduct.quote` called from Python, and
with the pure-Python reference, then prints quotes per second and the ratios. Results go
into docs/PERFORMANCE.md with the machine.

Every run also checks what it priced: the batch outputs on one thread, into reused arrays
and on all threads must be equal, and with the default inputs (`--n 2000000`) their SHA-256
must be the one recorded below, so a faster kernel that prices differently fails here.

Wall-clock rates depend on what else the (shared) machine runs, so the single-threaded
measurements are also given per CPU-second of this process (`time.process_time`), which
is what a core delivers when it is not taken away; those are the best of `--repeat` runs
(batch into fresh arrays and the scalar `quote_stay` also give the median of the runs).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import time
from datetime import UTC, datetime

import numba
import numpy as np

from tariff_kernel import kernels as k
from tariff_kernel import load_city, price_rides, price_stays, quote_stay, warm_up
from tariff_kernel import reference as ref
from tariff_kernel.pricing import BATCH_FIELDS, prepared_product

FAMILIES = [("nis", "9181"), ("mobilet", "A"), ("zcs", "centro")]
DEFAULT_N = 2_000_000
# SHA-256 of the batch outputs (BATCH_FIELDS in order, int64 bytes) for the default
# inputs, recorded with the kernels of commit 618db44 (checked equal to the reference).
DIGESTS = {
    "nis/9181": "a6cf04389832c1696e285bd31408b275871e47e4461ffc3b4e11a8b91950f635",
    "mobilet/A": "39421541cfa7e7eb707dd43e09b2dd050b1f6e2930bf66453f4f609be4149bc3",
    "zcs/centro": "861d94f7a73c760e65dfad813b64a243c958d28540b7dc2f22ff1daf977fe541",
}


def _stays(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = int(datetime(2026, 3, 23, tzinfo=UTC).timestamp())
    return base + rng.integers(0, 28 * 86400, n), rng.integers(5, 240, n)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _digest(out: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in BATCH_FIELDS:
        h.update(np.ascontiguousarray(out[name], np.int64).tobytes())
    return h.hexdigest()


def _check_outputs(family: str, n: int, *outs: dict[str, np.ndarray]) -> str:
    """The digest of the first outputs, after checking every other equals them and, for
    the default inputs, that it is the recorded one."""
    first = outs[0]
    for other in outs[1:]:
        for name in BATCH_FIELDS:
            if not np.array_equal(first[name], other[name]):
                raise SystemExit(f"{family}: {name} differs between batch runs")
    digest = _digest(first)
    if n == DEFAULT_N and digest != DIGESTS[family]:
        raise SystemExit(f"{family}: outputs' SHA-256 {digest} is not the recorded "
                         f"{DIGESTS[family]}: the kernel prices differently")  # fmt: skip
    return digest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tariff_kernel.bench")
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--reference-n", type=int, default=20_000)
    parser.add_argument("--scalar-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of, per CPU-second")
    args = parser.parse_args(argv)
    warm_up()
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba {numba.__version__}, {threads} threads")  # fmt: skip
    print(f"{'family':<16}{'1 thread/s':>14}{'all threads/s':>16}{'scalar/s':>12}"
          f"{'reference/s':>14}{'batch÷ref':>11}"
          f"{'1 thread/CPU-s':>17}{'(median)':>12}{'reused out/CPU-s':>19}"
          f"{'scalar µs/CPU':>15}{'(median)':>10}{'lean µs/CPU':>13}{'ref/CPU-s':>12}"
          f"{'÷ (CPU)':>10}  outputs' SHA-256")  # fmt: skip
    for city_id, product in FAMILIES:
        family = f"{city_id}/{product}"
        starts, minutes = _stays(args.n)
        price_stays(city_id, product, starts[:1000], minutes[:1000])
        numba.set_num_threads(1)
        single = reused_cpu = 0.0
        single_cpus = []
        reused = {name: np.empty(args.n, np.int64) for name in BATCH_FIELDS}
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            one = price_stays(city_id, product, starts, minutes)
            single = max(single, _rate(args.n, time.perf_counter() - t))
            single_cpus.append(_rate(args.n, time.process_time() - c))
            c = time.process_time()
            price_stays(city_id, product, starts, minutes, out=reused)
            reused_cpu = max(reused_cpu, _rate(args.n, time.process_time() - c))
        numba.set_num_threads(threads)
        t = time.perf_counter()
        every = price_stays(city_id, product, starts, minutes)
        multi = _rate(args.n, time.perf_counter() - t)
        digest = _check_outputs(family, args.n, one, reused, every)
        city = load_city(city_id)
        moments = [datetime.fromtimestamp(int(s), UTC) for s in starts[: args.scalar_n]]
        mins_list = minutes[: args.scalar_n].tolist()
        scalar, scalar_us = 0.0, []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            for m, mins in zip(moments, mins_list, strict=True):
                quote_stay(city, product, m, minutes=mins)
            scalar = max(scalar, _rate(len(moments), time.perf_counter() - t))
            scalar_us.append((time.process_time() - c) / len(moments) * 1e6)
        lean = prepared_product(city, product)
        lean_us = float("inf")
        for _ in range(args.repeat):
            c = time.process_time()
            for s, mins in zip(starts[: args.scalar_n].tolist(), mins_list, strict=True):
                lean.quote(s, k.MODE_MINUTES, mins, 0)
            lean_us = min(lean_us, (time.process_time() - c) / len(moments) * 1e6)
        t, c = time.perf_counter(), time.process_time()
        for i in range(args.reference_n):
            r = ref.quote_stay(city, product, moments[i], minutes=int(minutes[i]))
            assert r.price == one["price"][i]
        reference = _rate(args.reference_n, time.perf_counter() - t)
        reference_cpu = _rate(args.reference_n, time.process_time() - c)
        single_cpu = max(single_cpus)
        checked = "= recorded" if args.n == DEFAULT_N else "(not checked: --n)"
        print(f"{family:<16}{single:>14,.0f}{multi:>16,.0f}{scalar:>12,.0f}"
              f"{reference:>14,.0f}{multi / reference:>10,.0f}x"
              f"{single_cpu:>17,.0f}{float(np.median(single_cpus)):>12,.0f}{reused_cpu:>19,.0f}"
              f"{min(scalar_us):>15.1f}{float(np.median(scalar_us)):>10.1f}{lean_us:>13.1f}"
              f"{reference_cpu:>12,.0f}{single_cpu / reference_cpu:>9,.0f}x"
              f"  {digest[:12]} {checked}")  # fmt: skip
    rng = np.random.default_rng(3)
    stops = rng.integers(0, 40, args.n)
    cats, classes = rng.integers(0, 3, args.n), rng.integers(0, 2, args.n)
    price_rides("tarnow", stops[:10], cats[:10], classes[:10])
    numba.set_num_threads(1)
    t, c = time.perf_counter(), time.process_time()
    price_rides("tarnow", stops, cats, classes)
    rides_one = _rate(args.n, time.perf_counter() - t)
    rides_cpu = _rate(args.n, time.process_time() - c)
    numba.set_num_threads(threads)
    t = time.perf_counter()
    price_rides("tarnow", stops, cats, classes)
    rides_all = _rate(args.n, time.perf_counter() - t)
    print(f"{'tarnow/rides':<16}{rides_one:>14,.0f}{rides_all:>16,.0f}{'':>12}{'':>14}{'':>11}"
          f"{rides_cpu:>17,.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
