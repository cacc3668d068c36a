"""Demo traffic for hradec and tarnow: valid events the rules accept, deterministic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from streams.demo_transit import demo_events
from streams.runtime.replay import Replay
from streams.systems import load_rules

START = datetime(2026, 11, 24, 7, tzinfo=UTC)
CITIES = {"hradec": "missed_call", "tarnow": "card_fare"}


@pytest.mark.parametrize("city", sorted(CITIES))
def test_demo_is_deterministic_and_in_time_order(city: str) -> None:
    first = demo_events(city, START, 120, seed=5)
    assert [e.to_json() for e in first] == [e.to_json() for e in demo_events(city, START, 120, 5)]
    assert len(first) == 120 and [e.time for e in first] == sorted(e.time for e in first)
    assert len({e.id for e in first}) == 120


def test_demo_traffic_runs_through_the_rules_and_shows_the_rules_at_work() -> None:
    replay = Replay(CITIES, load_rules(CITIES), partitions=4)
    rules: Counter[tuple[str, str | None]] = Counter()
    for city in CITIES:
        out = replay.feed(*demo_events(city, START, 400, seed=3, ticks=True))
        assert out.dead_letters == []
        assert out.ledger, city
        rules.update((o.outcome, o.rule) for o in out.outcomes)
    for expected in [("accepted", "HKR-2"), ("refused", "HKR-6"), ("accepted", "HKR-8")]:
        assert rules[expected] > 0, expected
    for expected in [("accepted", "TRN-2"), ("duplicate", "TRN-3"), ("accepted", "TRN-6")]:
        assert rules[expected] > 0, expected


def test_demo_refuses_a_parking_city() -> None:
    with pytest.raises(ValueError, match="not a transit system"):
        demo_events("nis", START, 10)
