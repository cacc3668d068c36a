"""Gentle, endless demo traffic for every city in real time (`python -m loadtest demo`).

Uses `scenarios/demo.toml` (a flat profile, a few sessions a minute per city) on the
wall clock: event times are now, the worker ticks itself. Events go to `events.raw` of
the configured broker and topic prefix (`KAFKA_BOOTSTRAP`, `PLATFORM_TOPIC_PREFIX`), so
`make demo` shows stays, tickets and rides arriving while the dashboards watch.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import time
from datetime import UTC, datetime

from loadtest.driver import DriveState, RateSchedule, drive
from loadtest.operator import OperatorDesk
from loadtest.scenario import load_scenario
from loadtest.sinks import KafkaSink
from loadtest.traffic import Traffic
from streams.contract import Topics

log = logging.getLogger("loadtest.demo")


def run_demo(
    scenario: str = "demo",
    *,
    bootstrap: str | None = None,
    topic_prefix: str | None = None,
    duration_s: float = float("inf"),
    partitions: int | None = None,
) -> DriveState:
    from streams.topology import ensure_topics

    sc = load_scenario(scenario)
    bootstrap = bootstrap or os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    topics = Topics(
        os.environ.get("PLATFORM_TOPIC_PREFIX", "") if topic_prefix is None else topic_prefix
    )
    partitions = partitions or int(os.environ.get("STREAMS_PARTITIONS", "8"))
    ensure_topics(bootstrap, topics, partitions)
    # A fresh seed and id prefix per start: the worker deduplicates by event id.
    tag = secrets.token_hex(3)
    traffic = Traffic(
        sc,
        start=datetime.now(UTC),
        seed=int(tag, 16),
        id_prefix=f"demo{tag}",
        source="urn:loadtest:demo",
        track_sms_senders=True,
    )
    sink = KafkaSink(bootstrap, topics.raw, sc.systems(), linger_ms=50)
    state = DriveState()
    # NIS-9: the operators answer every Niš sale three minutes later, rejecting a few,
    # so the demo shows revoked tickets too.
    reject_share = {
        c: float(m.get("operator_rejects", default=0.0))
        for c, m in sc.cities.items()
        if m.system == "sms_parking"
    }
    desk = OperatorDesk(
        bootstrap,
        topics.outcomes,
        traffic.sms_senders,
        state.injected.put,
        reject_share=reject_share,
        id_prefix=f"demo{tag}",
        seed=int(tag, 16),
        wall_clock=True,
    )
    desk.start()
    signal.signal(signal.SIGTERM, lambda *_: state.stop.set())
    log.info("demo traffic for %s to %s on %s", ", ".join(sc.city_ids()), topics.raw, bootstrap)
    reporter_stop = state.stop

    def report() -> None:
        last = 0
        while not reporter_stop.wait(60):
            log.info(
                "sent %d events (%d in the last minute), %d acked",
                state.sent,
                state.sent - last,
                sink.acked,
            )
            last = state.sent

    import threading

    threading.Thread(target=report, daemon=True).start()
    try:
        drive(
            iter(traffic),
            sink,
            state,
            duration_s=duration_s,
            schedule=RateSchedule(0),
            clock="wall",
        )
    except KeyboardInterrupt:
        pass
    finally:
        state.stop.set()
        desk.stop()
        sink.close()
        log.info("demo traffic stopped: %d events sent, %d acked", state.sent, sink.acked)
        time.sleep(0)
    return state
