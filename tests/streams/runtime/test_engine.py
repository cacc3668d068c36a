"""The engine's guarantees, shown with a small reminder system defined here.

The system under test is the engine (dead letters, re-keying, idempotency, timers that
fire once); the reminder rules below exist only to give it something to run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.contract import Event, Notification, make_event
from streams.runtime.engine import TIMERS_TABLE, Message
from streams.runtime.replay import Replay, partition_for
from streams.runtime.rules import Step

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class ReminderRules:
    """Counts a sender's SMS and reminds them once, five minutes after the last one."""

    system = "sms_parking"

    def decide(self, state: dict[str, Any] | None, event: Event, owner: str) -> Step:
        count = (state or {}).get("count", 0) + 1
        reply = Notification(
            id=f"{event.id}:ack",
            city=event.city,
            channel="sms",
            to=event.data.msisdn,
            kind="ack",
            text=f"#{count}",
            caused_by=event.id,
            time=event.time,
        )
        remind_at = event.time + timedelta(minutes=5)
        new = {"count": count, "to": event.data.msisdn, "remind_at": remind_at.isoformat()}
        return Step(new, [reply], wake_at=remind_at)

    def on_clock(self, state: dict[str, Any], now: datetime, city: str, owner: str) -> Step:
        reminder = Notification(
            id=f"{owner}:{state['remind_at']}:reminder",
            city=city,
            channel="sms",
            to=state["to"],
            kind="reminder",
            text="still there?",
            caused_by=f"clock:{state['remind_at']}",
            time=now,
        )
        return Step({**state, "remind_at": None}, [reminder], wake_at=None)


def _replay(partitions: int = 4) -> Replay:
    return Replay({"nis": "sms_parking"}, {"sms_parking": ReminderRules()}, partitions)


def _sms(event_id: str, plate: str = "NI1AB", at: datetime = T0) -> Event:
    data = {"msisdn": "381641", "to": "9181", "text": plate, "operator": "mts"}
    return make_event("sms.received", "nis", data, at, id=event_id)


def _tick(at: datetime) -> Event:
    return make_event("clock.tick", "nis", {}, at, id=f"tick-{at.isoformat()}")


def test_malformed_event_goes_to_dead_letters_with_reason() -> None:
    replay = _replay()
    out = replay.feed(b'{"specversion": "1.0", "id": "x1", "type": "sms.received"}')
    (letter,) = out.dead_letters
    assert letter.event_id == "x1"
    assert {p["field"] for p in letter.problems} >= {"source", "time", "city", "data"}
    assert out.outcomes == [] and out.notifications == []


def test_type_not_served_by_the_city_is_a_dead_letter() -> None:
    replay = _replay()
    stop = make_event("parking.stop", "nis", {"account_id": "a", "stay_id": "s"}, T0, id="p1")
    (letter,) = replay.feed(stop).dead_letters
    assert "not served" in letter.reason


def test_every_event_gets_one_outcome_even_when_rules_return_none() -> None:
    out = _replay().feed(_sms("e1"))
    assert [(o.id, o.outcome, o.owner) for o in out.outcomes] == [("e1", "accepted", "NI1AB")]


def test_redelivered_event_changes_nothing() -> None:
    replay = _replay()
    first = replay.feed(_sms("e1"))
    again = replay.feed(_sms("e1"))
    assert len(first.notifications) == 1
    assert again.notifications == [] and again.outcomes == []
    assert replay.engine.counters.duplicates == 1
    assert replay.store.get("sms_parking", "nis|NI1AB")["state"]["count"] == 1


def test_kafka_redelivery_is_a_duplicate_after_its_id_has_left_the_window() -> None:
    # A worker killed before committing makes Kafka redeliver from the last committed
    # offset; with a backlog (or test time running days per second) that reaches events
    # whose ids `seen` has already forgotten. Their offset still marks them as decided.
    replay = _replay(partitions=1)
    store, engine = replay.store, replay.engine
    first = Message("events.raw", 0, 0, "nis|NI1AB", _sms("e1").to_json())
    three_days_on = _sms("e2", at=T0 + timedelta(days=3)).to_json()
    later = Message("events.raw", 0, 1, "nis|NI1AB", three_days_on)
    assert engine.handle(first, store) and engine.handle(later, store)
    assert "e1" not in store.get("sms_parking", "nis|NI1AB")["seen"]

    assert engine.handle(first, store) == [] and engine.handle(later, store) == []
    assert engine.counters.duplicates == 2
    assert store.get("sms_parking", "nis|NI1AB")["state"]["count"] == 2


def test_miskeyed_event_is_rekeyed_so_state_lives_with_its_owner() -> None:
    replay = _replay(partitions=8)
    out = replay.feed(_sms("e1", plate="NI7XY"), key="wrong-key")
    assert replay.engine.counters.rerouted == 1
    assert len(out.notifications) == 1
    assert replay.store.partition_of[("sms_parking", "nis|NI7XY")] == partition_for("nis|NI7XY", 8)


def test_tick_fires_a_due_timer_once_and_only_when_due() -> None:
    replay = _replay(partitions=4)
    replay.feed(_sms("e1"))
    early = replay.feed(_tick(T0 + timedelta(minutes=4, seconds=59)))
    assert early.notifications == []
    due = replay.feed(_tick(T0 + timedelta(minutes=5)))
    assert [n.kind for n in due.notifications] == ["reminder"]
    later = replay.feed(_tick(T0 + timedelta(minutes=6)), _tick(T0 + timedelta(minutes=5)))
    assert later.notifications == []
    assert replay.engine.counters.timers_fired == 1


def test_tick_within_the_due_minute_but_before_the_due_second_waits() -> None:
    replay = _replay(partitions=1)
    replay.feed(_sms("e1", at=T0 + timedelta(seconds=30)))
    assert replay.feed(_tick(T0 + timedelta(minutes=5, seconds=10))).notifications == []
    fired = replay.feed(_tick(T0 + timedelta(minutes=5, seconds=30)))
    assert [n.kind for n in fired.notifications] == ["reminder"]


def test_tick_is_broadcast_and_marks_every_partition() -> None:
    replay = _replay(partitions=3)
    out = replay.feed(_tick(T0))
    assert sorted(out.clock_marks) == [f"nis|clock|raw|{p}" for p in range(3)]
    assert {m.reached for m in out.clock_marks.values()} == {T0}


def test_timer_index_is_emptied_after_firing() -> None:
    replay = _replay(partitions=1)
    replay.feed(_sms("e1"))
    replay.feed(_tick(T0 + timedelta(minutes=10)))
    assert replay.store.tables.get(TIMERS_TABLE, {}) == {}
