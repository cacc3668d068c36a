"""What the demo streams share: one city's demo by its system, spreading events over a
window, adding ticks."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from streams.contract import Event, make_event
from tariff_kernel import load_city

# (city config, start, n, rng, seed) -> events of one system's traffic, in any order
Traffic = Callable[[Any, datetime, int, random.Random, int], list[Event]]


def city_demo(
    city: str,
    start: datetime,
    n: int,
    seed: int,
    *,
    ticks: bool,
    traffic: Mapping[str, Traffic],
    family: str,
) -> list[Event]:
    """`n` events for `city` from `start` (aware) on, made by the traffic of the city's
    system; with `ticks`, a clock.tick every minute through the last event plus three
    hours (for event-clock workers). `family` names the systems `traffic` knows."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    config = load_city(city)
    system = config.raw["city"]["system"]
    if system not in traffic:
        raise ValueError(f"{city!r} runs {system}, not a {family} system")
    rng = random.Random(f"{city}:{seed}")
    events = traffic[system](config, start, n, rng, seed)
    events.sort(key=lambda e: (e.time, e.id))
    events = events[:n]
    if ticks and events:
        events = with_ticks(city, events, seed)
    return events


def spread(start: datetime, rng: random.Random, minutes: int = 120) -> datetime:
    """A random moment within `minutes` after `start`."""
    return start + timedelta(seconds=rng.randrange(minutes * 60))


def with_ticks(city: str, events: list[Event], seed: int) -> list[Event]:
    """`events` plus a clock.tick every minute until three hours after the last one, so an
    event-clock worker fires every timer the demo causes (warnings, expiries, lockouts)."""
    first = events[0].time.replace(second=0, microsecond=0)
    last = events[-1].time + timedelta(hours=3)
    ticks = []
    at = first
    while at <= last:
        ticks.append(
            make_event("clock.tick", city, {}, at, id=f"demo-{city}-{seed}-tick-{at.isoformat()}")
        )
        at += timedelta(minutes=1)
    merged = events + ticks
    merged.sort(key=lambda e: (e.time, e.type != "clock.tick", e.id))
    return merged
