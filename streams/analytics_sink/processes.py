"""Several sink processes as one consumer group: `python -m streams.analytics_sink --processes N`.

The sink's per-record work (aiokafka's record objects, JSON, mapping, the driver's
column serialisation) is mostly Python and holds the GIL, so one process uses one core.
N processes with the same group id split the topics' partitions between them (Kafka's
group rebalancing); each has its own Kafka consumer, writer thread and ClickHouse
client, and commits only what it inserted, so every guarantee of one sink holds per
partition. Worker 0 alone runs the housekeeping (retention, rollups). This module only
starts, watches and stops them: a worker that dies is started again after a pause (its
partitions go to the others meanwhile, from their committed offsets).
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

log = logging.getLogger("streams.analytics_sink")

RESTART_PAUSE_S = 2.0


def _worker(index: int, log_level: str) -> None:
    """One sink process (runs in a fresh interpreter: the 'spawn' start method). SIGTERM
    (from the parent) or SIGINT stops it after flushing, like a single sink."""
    from infra.settings import Settings
    from streams.analytics_sink.pseudonyms import Pseudonymizer, key_from_env
    from streams.analytics_sink.sink import AnalyticsSink, SinkConfig
    from streams.contract import Topics

    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s %(name)s[{index}]: %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    config = replace(SinkConfig.from_env(), housekeeping=index == 0)
    sink = AnalyticsSink(
        Settings.from_env(),
        Topics(prefix=os.environ.get("PLATFORM_TOPIC_PREFIX", "")),
        config,
        Pseudonymizer(key_from_env()),
    )
    stats = sink.run(stop)
    log.info("worker %d stopped: %s", index, stats)


def run_processes(count: int, stop: threading.Event, target: Callable[..., None] = _worker) -> int:
    """Run `count` workers until `stop` is set; restart any that dies before that."""
    if count < 1:
        raise ValueError("--processes must be at least 1")
    ctx = mp.get_context("spawn")
    level = os.environ.get("ANALYTICS_LOG_LEVEL", "INFO")

    def start(index: int) -> BaseProcess:
        proc = ctx.Process(target=target, args=(index, level), name=f"analytics-sink-{index}")
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
    # Signals, not a shared multiprocessing.Event: a worker killed while waiting on one
    # leaves its condition waiting for that worker forever, and set() would hang here.
    for proc in workers.values():
        if proc.is_alive():
            proc.terminate()  # SIGTERM: the worker flushes and commits what it inserted
    deadline = time.monotonic() + 30
    for proc in workers.values():
        proc.join(timeout=max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            log.warning("worker %s did not stop in time; killing it", proc.name)
            proc.kill()
            proc.join(timeout=5)
    return 0
