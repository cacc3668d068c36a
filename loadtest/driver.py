"""Sends a traffic stream into a sink at a target rate, on a simulated or the wall clock.

`replay`: events carry simulated event time (with `clock.tick` events interleaved) and are
sent as fast as the rate schedule allows: a ramp from 0 to the rate over `ramp_s`, then
the rate held until the end (a soak is a long duration). Rate 0 means no pacing.
`wall`: events carry real time and each is sent when its time comes (the worker ticks
itself); the arrival scale sets the rate.

Marker events from the freshness probe are slipped in between, stamped with the current
event time so they land where the pipeline is.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loadtest.sinks import Sink
from streams.contract import Event

Marker = tuple[Callable[[datetime], Event], Callable[[Event, float], None]]


@dataclass(frozen=True)
class RateSchedule:
    """Events/s over elapsed seconds: linear ramp to `rate` in `ramp_s`, then flat."""

    rate: float
    ramp_s: float = 0.0

    def at(self, elapsed: float) -> float:
        if self.ramp_s > 0 and elapsed < self.ramp_s:
            return self.rate * elapsed / self.ramp_s
        return self.rate

    def due(self, elapsed: float) -> float:
        """How many events should have been sent after `elapsed` seconds (the integral)."""
        if self.rate <= 0:
            return float("inf")
        if self.ramp_s > 0 and elapsed < self.ramp_s:
            return self.rate * elapsed * elapsed / (2 * self.ramp_s)
        ramp_part = self.rate * self.ramp_s / 2 if self.ramp_s > 0 else 0.0
        return ramp_part + self.rate * (elapsed - self.ramp_s if self.ramp_s > 0 else elapsed)


@dataclass
class DriveState:
    """What the driver has done so far; read by the sampler and the progress bar."""

    started: float = 0.0
    sent: int = 0
    ticks: int = 0
    markers: int = 0
    event_time: datetime | None = None
    done: bool = False
    exhausted: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    markers_in: queue.Queue[Marker] = field(default_factory=queue.Queue)
    injected: queue.Queue[Event] = field(default_factory=queue.Queue)  # e.g. verdicts
    injected_sent: int = 0
    held: Event | None = None  # wall clock: the next event, not due yet

    def elapsed(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0


def _send_markers(state: DriveState, sink: Sink, now: datetime) -> None:
    while True:
        try:
            build, sent_cb = state.markers_in.get_nowait()
        except queue.Empty:
            return
        event = build(now)
        sink.send(event)
        sink.flush(5.0)
        state.markers += 1
        sent_cb(event, time.monotonic())


def send_injected(state: DriveState, sink: Sink) -> None:
    """Events made during the run by someone answering the pipeline (operator verdicts)."""
    while True:
        try:
            event = state.injected.get_nowait()
        except queue.Empty:
            return
        sink.send(event)
        state.sent += 1
        state.injected_sent += 1


def drive(
    events: Iterator[Event],
    sink: Sink,
    state: DriveState,
    *,
    duration_s: float,
    schedule: RateSchedule,
    clock: str,
    max_events: int | None = None,
) -> DriveState:
    """Send `events` into `sink` until `duration_s`, `max_events`, or `state.stop`."""
    state.started = time.monotonic()
    chunk = 200
    try:
        while not state.stop.is_set():
            elapsed = state.elapsed()
            if elapsed >= duration_s or (max_events is not None and state.sent >= max_events):
                break
            now = state.event_time or datetime.now(UTC)
            if clock == "wall":
                now = datetime.now(UTC)
            _send_markers(state, sink, now)
            send_injected(state, sink)
            if clock == "wall":
                if not _send_due_wall(events, sink, state, duration_s):
                    break
                continue
            allowed = schedule.due(elapsed) - state.sent
            if allowed < 1:
                time.sleep(min(0.01, max(0.001, 1.0 / max(schedule.at(elapsed), 1.0))))
                continue
            batch = int(min(allowed, chunk))
            if max_events is not None:
                batch = min(batch, max_events - state.sent)
            for _ in range(batch):
                event = next(events, None)
                if event is None:
                    state.exhausted = True
                    return state
                sink.send(event)
                state.sent += 1
                if event.type == "clock.tick":
                    state.ticks += 1
                state.event_time = event.time
    finally:
        sink.flush()
        state.done = True
    return state


def _send_due_wall(
    events: Iterator[Event], sink: Sink, state: DriveState, duration_s: float
) -> bool:
    """Wall clock: send every event whose time has come; sleep a little otherwise."""
    sent_any = False
    while True:
        event = state.held or next(events, None)
        state.held = None
        if event is None:
            state.exhausted = True
            return False
        if event.time > datetime.now(UTC):
            state.held = event
            break
        sink.send(event)
        state.sent += 1
        state.event_time = event.time
        sent_any = True
    if not sent_any:
        assert state.held is not None
        wait = (state.held.time - datetime.now(UTC)).total_seconds()
        time.sleep(max(0.0, min(wait, 0.2, duration_s - state.elapsed())))
        sink.flush(5.0)
    return True
