"""Several sink processes as one consumer group: `python -m streams.analytics_sink --processes N`.

The sink's per-record work (kafka-python decoding, JSON, mapping) is pure Python and
holds the GIL, so one process uses one core. N processes with the same group id split
the topics' partitions between them (Kafka's group rebalancing); each has its own Kafka
consumer, writer thread and ClickHouse client, and commits only what it inserted, so
every guarantee of one sink holds per partition. Worker 0 alone runs the housekeeping
(retention, rollups). This module only starts, watches and stops them: a worker that
dies is started again after a pause (its partitions go to the others meanwhile, from
their committed offsets).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("streams.analytics_sink")

RESTART_PAUSE_S = 2.0


def _worker(index: int, stop: Any, log_level: str) -> None:
    """One sink process (runs in a fresh interpreter: the 'spawn' start method)."""
    from infra.settings import Settings
    from streams.analytics_sink.pseudonyms import Pseudonymizer, key_from_env
    from streams.analytics_sink.sink import AnalyticsSink, SinkConfig
    from streams.contract import Topics

    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s %(name)s[{index}]: %(message)s"
    )
    local_stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: local_stop.set())
    threading.Thread(target=lambda: (stop.wait(), local_stop.set()), daemon=True).start()
    config = replace(SinkConfig.from_env(), housekeeping=index == 0)
    sink = AnalyticsSink(
        Settings.from_env(),
        Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", "")),
        config,
        Pseudonymizer(key_from_env()),
    )
    stats = sink.run(local_stop)
    log.info("worker %d stopped: %s", index, stats)


def run_processes(count: int, stop: threading.Event, target: Callable[..., None] = _worker) -> int:
    """Run `count` workers until `stop` is set; restart any that dies before that."""
    if count < 1:
        raise ValueError("--processes must be at least 1")
    ctx = mp.get_context("spawn")
    shared_stop = ctx.Event()
    level = os.environ.get("ANALYTICS_LOG_LEVEL", "INFO")

    def start(index: int) -> BaseProcess:
        proc = ctx.Process(
            target=target, args=(index, shared_stop, level), name=f"analytics-sink-{index}"
        )
        proc.start()
        return proc

    workers = {i: start(i) for i in range(count)}
    log.info("analytics sink: %d worker processes %s", count, [p.pid for p in workers.values()])
    while not stop.wait(0.5):
        for index, proc in list(workers.items()):
            if not proc.is_alive():
                log.error("worker %d exited with %s; restarting", index, proc.exitcode)
                if stop.wait(RESTART_PAUSE_S):
                    break
                workers[index] = start(index)
    shared_stop.set()
    deadline = time.monotonic() + 30
    for proc in workers.values():
        proc.join(timeout=max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            log.warning("worker %s did not stop in time; terminating it", proc.name)
            proc.terminate()
            proc.join(timeout=5)
    return 0
