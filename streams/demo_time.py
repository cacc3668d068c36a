"""Time helpers the demo streams share: spreading events over a window, adding ticks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from streams.contract import Event, make_event


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
