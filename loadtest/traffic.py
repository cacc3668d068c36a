"""The traffic model: arrivals per city over (simulated or wall) time, merged in time order.

`Traffic(scenario, start=..., seed=..., id_prefix=...)` is an endless, reproducible stream
of contract events (`make_event`) in event-time order. Each city gets arrivals from a
Poisson process whose rate is `arrivals_per_hour x profile(local hour, weekday) x scale`;
each arrival is a session (sessions.py) whose events may lie hours ahead (extensions,
tap-outs), kept in a heap until their time comes. `with_ticks` interleaves the
`clock.tick` events a worker on the event clock needs. No I/O here: drivers send.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loadtest.population import Population
from loadtest.scenario import CityModel, Scenario
from loadtest.sessions import Memory, Session, builder_for, population_for
from streams.contract import Event, make_event

MAX_HOURS_WITHOUT_ARRIVALS = 24 * 8
REDRAWS = 8  # tries to find someone not already in a session; then the arrival is lost


class _CityStream:
    def __init__(self, model: CityModel, scenario: Scenario, seed: int, scale: float) -> None:
        self.model = model
        self.scenario = scenario
        self.scale = scale
        self.zone = ZoneInfo(model.timezone)
        self.rng = random.Random(f"{seed}:{model.id}")
        self.population: Population = population_for(model, seed)
        self.memory = Memory()
        self.builder = builder_for(model)

    def per_second(self, at: datetime) -> float:
        local = at.astimezone(self.zone)
        factor = self.scenario.profile.factor(local)
        return self.model.arrivals_per_hour * factor * self.scale / 3600.0

    def next_arrival(self, after: datetime) -> datetime | None:
        """Next arrival of a Poisson process that is constant within each local hour."""
        t = after
        for _ in range(MAX_HOURS_WITHOUT_ARRIVALS):
            hour_end = (t.replace(minute=0, second=0, microsecond=0)) + timedelta(hours=1)
            rate = self.per_second(t)
            if rate > 0:
                gap = -math.log(1.0 - self.rng.random()) / rate
                candidate = t + timedelta(seconds=gap)
                if candidate < hour_end:
                    return candidate
            t = hour_end  # memoryless: restart the draw at the next hour's rate
        return None


class Traffic:
    """Endless event stream of a scenario's cities (see module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        start: datetime | None = None,
        seed: int | None = None,
        id_prefix: str = "lt",
        scale: float = 1.0,
        cities: Iterable[str] | None = None,
        source: str = "urn:loadtest",
        track_sms_senders: bool = False,
    ) -> None:
        self.scenario = scenario
        self.start = start or scenario.start
        if self.start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.seed = scenario.seed if seed is None else seed
        self.id_prefix = id_prefix
        self.source = source
        chosen = list(cities) if cities is not None else scenario.city_ids()
        unknown = set(chosen) - set(scenario.cities)
        if unknown:
            raise ValueError(f"cities not in the scenario: {sorted(unknown)}")
        self.streams = {
            c: _CityStream(scenario.cities[c], scenario, self.seed, scale) for c in chosen
        }
        self.kinds: Counter[str] = Counter()  # what the sessions meant to cause, by city:kind
        self.sessions: Counter[str] = Counter()
        self.arrivals: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()  # arrivals with nobody free to arrive
        # SMS parking sales by event id -> sender, for the operator's verdicts (NIS-9)
        self.track_sms_senders = track_sms_senders
        self.sms_senders: dict[str, str] = {}
        self._ids = itertools.count()
        self._seq = itertools.count()
        self._pending: list[tuple[datetime, int, Event]] = []
        self._arrivals: list[tuple[datetime, int, str]] = []
        for city, stream in self.streams.items():
            first = stream.next_arrival(self.start)
            if first is not None:
                heapq.heappush(self._arrivals, (first, next(self._seq), city))

    def new_id(self) -> str:
        return f"{self.id_prefix}-{next(self._ids)}"

    def _arrive(self, at: datetime, city: str) -> None:
        stream = self.streams[city]
        self.arrivals[city] += 1
        busy = stream.memory.busy_until
        # One session at a time per person: a card on a bus does not board another one,
        # a plate being paid for is not paid for again by a second "arrival".
        for _ in range(REDRAWS):
            person = stream.population.draw(stream.rng)
            if busy.get(person.index, at) <= at:
                break
        else:
            self.lost[city] += 1
            self._schedule_next(at, city)
            return
        session = Session(
            city=stream.model,
            rng=stream.rng,
            person=person,
            at=at,
            memory=stream.memory,
            new_id=self.new_id,
            source=self.source,
        )
        stream.builder(session)
        self.sessions[city] += 1
        for kind in session.kinds:
            self.kinds[f"{city}:{kind}"] += 1
        for event in session.events:
            heapq.heappush(self._pending, (event.time, next(self._seq), event))
        if self.track_sms_senders and stream.model.system == "sms_parking":
            for event in session.events:
                if event.type == "sms.received":
                    self.sms_senders[event.id] = event.data.msisdn  # type: ignore[attr-defined]
        if session.events:
            busy[person.index] = max(e.time for e in session.events)
        self._schedule_next(at, city)

    def _schedule_next(self, at: datetime, city: str) -> None:
        following = self.streams[city].next_arrival(at)
        if following is not None:
            heapq.heappush(self._arrivals, (following, next(self._seq), city))

    def __iter__(self) -> Iterator[Event]:
        while True:
            if self._arrivals and (
                not self._pending or self._arrivals[0][0] <= self._pending[0][0]
            ):
                at, _, city = heapq.heappop(self._arrivals)
                self._arrive(at, city)
                continue
            if not self._pending:
                return
            yield heapq.heappop(self._pending)[2]

    def until(self, end: datetime) -> Iterator[Event]:
        """The events with time before `end` (sessions arriving earlier may end later)."""
        for event in self:
            if event.time >= end:
                heapq.heappush(self._pending, (event.time, -1, event))  # keep it for later
                return
            yield event

    def per_second(self, at: datetime) -> float:
        """Expected arrivals per second over all cities at `at`."""
        return sum(s.per_second(at) for s in self.streams.values())


def events_per_session(scenario: Scenario, city: str, samples: int = 400, seed: int = 0) -> float:
    """Mean events per session of a city (first visits included), from a sample."""
    stream = _CityStream(scenario.cities[city], scenario, seed, 1.0)
    counter = itertools.count()
    total = 0
    for _ in range(samples):
        session = Session(
            city=stream.model,
            rng=stream.rng,
            person=stream.population.draw(stream.rng),
            at=scenario.start,
            memory=stream.memory,
            new_id=lambda: f"cal-{next(counter)}",
            source="urn:loadtest:calibration",
        )
        stream.builder(session)
        total += len(session.events)
    return total / samples


def scale_for_rate(scenario: Scenario, rate: float, at: datetime, cities: Iterable[str]) -> float:
    """The arrival scale that makes the cities produce about `rate` events/s at `at`."""
    chosen = list(cities)
    unscaled = sum(
        _CityStream(scenario.cities[c], scenario, 0, 1.0).per_second(at)
        * events_per_session(scenario, c)
        for c in chosen
    )
    if unscaled <= 0:
        raise ValueError(f"the scenario has no arrivals at {at.isoformat()} (profile is 0)")
    return rate / unscaled


def tick_id(prefix: str, city: str, at: datetime) -> str:
    return f"{prefix}-tick-{city}-{int(at.timestamp())}"


def with_ticks(
    events: Iterable[Event],
    cities: Iterable[str],
    start: datetime,
    tick_seconds: int,
    *,
    id_prefix: str = "lt",
) -> Iterator[Event]:
    """Interleave a `clock.tick` per city at every `tick_seconds` boundary of event time.

    A tick at T is emitted before the first event at or after T, so a worker on the event
    clock fires the timers due by T (warnings, expiry, lockout ends) in the right order.
    """
    chosen = list(cities)
    step = timedelta(seconds=tick_seconds)
    next_tick = start + step
    for event in events:
        while event.time >= next_tick:
            for city in chosen:
                yield make_event(
                    "clock.tick",
                    city,
                    {},
                    next_tick,
                    id=tick_id(id_prefix, city, next_tick),
                    source="urn:loadtest:clock",
                )
            next_tick += step
        yield event
