"""Benchmark (not a test): batch and scalar quotes, the Numba kernels against the reference.

    python -m tariff_kernel.bench [--n 2000000] [--reference-n 20000]

Prices the same generated stays with the batch kernel on one thread and on all threads,
with the scalar kernel called from Python, and with the pure-Python reference, then prints
quotes per second and the ratios. Results go into docs/PERFORMANCE.md with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

import numba
import numpy as np

from tariff_kernel import load_city, price_rides, price_stays, quote_stay, warm_up
from tariff_kernel import reference as ref

FAMILIES = [("nis", "9181"), ("mobilet", "A"), ("zcs", "centro")]


def _stays(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = int(datetime(2026, 3, 23, tzinfo=UTC).timestamp())
    return base + rng.integers(0, 28 * 86400, n), rng.integers(5, 240, n)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tariff_kernel.bench")
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--reference-n", type=int, default=20_000)
    parser.add_argument("--scalar-n", type=int, default=100_000)
    args = parser.parse_args(argv)
    warm_up()
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba {numba.__version__}, {threads} threads")  # fmt: skip
    print(f"{'family':<16}{'1 thread/s':>14}{'all threads/s':>16}{'scalar/s':>12}"
          f"{'reference/s':>14}{'batch÷ref':>11}")  # fmt: skip
    for city_id, product in FAMILIES:
        starts, minutes = _stays(args.n)
        price_stays(city_id, product, starts[:1000], minutes[:1000])
        numba.set_num_threads(1)
        t = time.perf_counter()
        one = price_stays(city_id, product, starts, minutes)
        single = _rate(args.n, time.perf_counter() - t)
        numba.set_num_threads(threads)
        t = time.perf_counter()
        every = price_stays(city_id, product, starts, minutes)
        multi = _rate(args.n, time.perf_counter() - t)
        assert np.array_equal(one["price"], every["price"])
        city = load_city(city_id)
        moments = [datetime.fromtimestamp(int(s), UTC) for s in starts[: args.scalar_n]]
        t = time.perf_counter()
        for m, mins in zip(moments, minutes[: args.scalar_n].tolist(), strict=True):
            quote_stay(city, product, m, minutes=mins)
        scalar = _rate(len(moments), time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(args.reference_n):
            r = ref.quote_stay(city, product, moments[i], minutes=int(minutes[i]))
            assert r.price == one["price"][i]
        reference = _rate(args.reference_n, time.perf_counter() - t)
        print(f"{city_id + '/' + product:<16}{single:>14,.0f}{multi:>16,.0f}{scalar:>12,.0f}"
              f"{reference:>14,.0f}{multi / reference:>10,.0f}x")  # fmt: skip
    rng = np.random.default_rng(3)
    stops = rng.integers(0, 40, args.n)
    cats, classes = rng.integers(0, 3, args.n), rng.integers(0, 2, args.n)
    price_rides("tarnow", stops[:10], cats[:10], classes[:10])
    t = time.perf_counter()
    price_rides("tarnow", stops, cats, classes)
    print(f"{'tarnow/rides':<16}{'':>14}{_rate(args.n, time.perf_counter() - t):>16,.0f}")


if __name__ == "__main__":
    main()
