"""The driver: how many events a rate schedule allows, and that everything handed to it
(generated events, ticks, injected verdicts) reaches the sink and is counted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from loadtest.driver import DriveState, RateSchedule, drive
from streams.contract import Event, make_event

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class ListSink:
    """A sink that keeps what it is sent (the Sink protocol of loadtest.sinks)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.sent = self.acked = self.failed = 0
        self.by_type: Counter[str] = Counter()
        self.flushes = 0

    def send(self, event: Event) -> None:
        self.events.append(event)
        self.sent += 1
        self.acked += 1
        self.by_type[event.type] += 1

    def flush(self, timeout_s: float = 30.0) -> None:
        self.flushes += 1

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"target": "list"}


def events(n: int) -> list[Event]:
    out = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        if i % 10 == 9:
            out.append(make_event("clock.tick", "nis", {}, at, id=f"tick-{i}"))
        else:
            data = {
                "msisdn": "381641234567",
                "to": "9181",
                "text": f"NI{i:03d}AB",
                "operator": "a1",
            }
            out.append(make_event("sms.received", "nis", data, at, id=f"e-{i}"))
    return out


def test_rate_schedule_integral_with_ramp():
    schedule = RateSchedule(rate=100, ramp_s=10)
    assert schedule.at(5) == 50
    assert schedule.due(10) == 500  # half the rate on average during the ramp
    assert schedule.due(20) == 1500
    assert RateSchedule(rate=0).due(1) == float("inf")  # unpaced


def test_drive_sends_everything_in_order_and_counts_ticks():
    sink = ListSink()
    state = drive(
        iter(events(50)),
        sink,
        DriveState(),
        duration_s=60,
        schedule=RateSchedule(0),
        clock="replay",
    )
    assert state.exhausted and state.done
    assert [e.id for e in sink.events] == [e.id for e in events(50)]
    assert (state.sent, state.ticks) == (50, 5)
    assert state.event_time == T0 + timedelta(seconds=49)
    assert sink.flushes >= 1


def test_drive_stops_at_max_events_and_sends_injected_events():
    sink = ListSink()
    state = DriveState()
    verdict = make_event(
        "operator.verdict",
        "nis",
        {"msisdn": "381641234567", "plate": "NI001AB", "pin": "1", "accepted": False},
        T0,
        id="v-1",
    )
    state.injected.put(verdict)
    drive(
        iter(events(100)),
        sink,
        state,
        duration_s=60,
        schedule=RateSchedule(0),
        clock="replay",
        max_events=30,
    )
    assert state.sent == 30 and state.injected_sent == 1
    assert "v-1" in [e.id for e in sink.events]
    assert not state.exhausted
