"""Demo traffic for the parking cities: valid, deterministic, and exercising the rules."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from streams.demo_parking import demo_events
from streams.runtime.replay import Replay
from streams.systems import load_rules

START = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
CITIES = {"nis": "sms_parking", "mobilet": "app_parking", "zcs": "app_parking"}


@pytest.mark.parametrize("city", sorted(CITIES))
def test_demo_is_deterministic_time_ordered_and_valid(city: str) -> None:
    events = demo_events(city, START, 80, seed=3)
    assert [e.id for e in events] == [e.id for e in demo_events(city, START, 80, seed=3)]
    assert [e.id for e in events] != [e.id for e in demo_events(city, START, 80, seed=4)]
    assert len(events) >= 80 and len({e.id for e in events}) == len(events)
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert all(e.city == city for e in events)


def test_demo_traffic_is_accepted_and_refused_for_the_right_reasons() -> None:
    replay = Replay(CITIES, load_rules(CITIES), partitions=4)
    for city in sorted(CITIES):
        out = replay.feed(*demo_events(city, START, 120, seed=1, ticks=True))
        assert out.dead_letters == []
        outcomes = Counter((o.outcome, o.rule) for o in out.outcomes)
        assert outcomes[("accepted", None)] > len(out.outcomes) // 2, (city, outcomes)
        assert out.ledger and out.notifications
    nis = replay.out.outcomes
    assert {o.rule for o in nis if o.outcome == "refused" and o.city == "nis"} >= {"NIS-5", "NIS-7"}
    assert any(n.kind == "warning" for n in replay.out.notifications)  # ticks drive NIS-10


def test_demo_needs_an_aware_start() -> None:
    with pytest.raises(ValueError):
        demo_events("nis", START.replace(tzinfo=None), 5)
