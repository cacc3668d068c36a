"""Measurements that need no Kafka: who listens on a port, process CPU/RSS sampling."""

from __future__ import annotations

import os
import socket

from loadtest.measure import ProcessWatch, listening_pids


def test_listening_pids_finds_the_process_behind_a_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert listening_pids({"me": port}) == {"me": os.getpid()}
    assert listening_pids({"nobody": port}) == {}


def test_process_watch_samples_cpu_and_rss_of_named_processes():
    watch = ProcessWatch({"me": os.getpid(), "gone": 2**22 + 12345})
    sample = watch.sample()
    assert set(sample) == {"me"}  # a pid that does not exist is left out, not an error
    cpu, rss_mib = sample["me"]
    assert cpu >= 0 and rss_mib > 10  # a Python with pydantic loaded
