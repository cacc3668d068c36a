"""Scenario files (`loadtest/scenarios/*.toml`): what traffic to make and how to drive it.

A scenario names the run's defaults (seed, simulated start, clock, rate, duration, ramp),
a shared arrival profile (relative intensity per local hour and weekday) and one table per
city with its arrival rate, population, channel mix, durations, error rates and the city
facts the generator needs (short codes, zones, products, lines). The city facts live here
until the tariff kernel's city configs are on main; they are the same numbers as the
configs (RULES.md NIS-2, HKR-1/2, ...), restated in the load test's own words.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).parent / "scenarios"

SYSTEMS = ("sms_parking", "missed_call", "card_fare", "app_parking")


class ScenarioError(ValueError):
    """A scenario file is missing something or has a value out of range."""


@dataclass(frozen=True)
class Profile:
    """Relative arrival intensity: `hours[h]` for local hour h, `weekdays[d]` Mon=0."""

    hours: tuple[float, ...]
    weekdays: tuple[float, ...]

    def factor(self, local: datetime) -> float:
        return self.hours[local.hour] * self.weekdays[local.weekday()]


@dataclass(frozen=True)
class CityModel:
    """One city's traffic parameters; `params` holds the system-specific tables."""

    id: str
    system: str
    timezone: str
    arrivals_per_hour: float  # sessions per hour when the profile factor is 1.0
    population: int  # distinct people (plates, phones, cards, accounts)
    regulars: int  # the first `regulars` of them come back often
    repeat_share: float  # share of arrivals drawn from the regulars
    params: dict[str, Any] = field(default_factory=dict)

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.params
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    start: datetime  # simulated start of a replay (aware)
    clock: str  # "replay": simulated clock with clock.tick events; "wall": real time
    tick_seconds: int  # simulated seconds between clock.tick events per city (replay)
    rate: float  # target events/s (0: as fast as the sink takes them)
    duration_s: float
    ramp_s: float
    profile: Profile
    cities: dict[str, CityModel]
    officers: dict[str, Any]
    freshness: dict[str, Any]
    path: Path | None = None

    def city_ids(self) -> list[str]:
        return list(self.cities)

    def systems(self) -> dict[str, str]:
        return {c.id: c.system for c in self.cities.values()}


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ScenarioError(f"{where}: missing {key!r}")
    return table[key]


def _fraction(value: Any, where: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ScenarioError(f"{where}: {value!r} must be between 0 and 1")
    return number


def resolve(path_or_name: str | Path) -> Path:
    """A scenario by path, or by name from loadtest/scenarios (`city-day`)."""
    path = Path(path_or_name)
    if path.exists():
        return path
    named = SCENARIO_DIR / f"{path_or_name}.toml"
    if named.exists():
        return named
    known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
    raise ScenarioError(f"no scenario {str(path_or_name)!r} (known: {known})")


def load_scenario(path_or_name: str | Path) -> Scenario:
    path = resolve(path_or_name)
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return parse_scenario(raw, path)


def parse_scenario(raw: dict[str, Any], path: Path | None = None) -> Scenario:
    head = _need(raw, "scenario", "scenario file")
    where = f"{path or 'scenario'}"
    start = head.get("start", "2026-11-24T06:00:00+01:00")
    start_dt = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    if start_dt.tzinfo is None:
        raise ScenarioError(f"{where}: [scenario] start must carry a UTC offset")
    clock = head.get("clock", "replay")
    if clock not in ("replay", "wall"):
        raise ScenarioError(f"{where}: clock must be 'replay' or 'wall', not {clock!r}")
    prof = raw.get("profile", {})
    hours = tuple(float(x) for x in prof.get("hours", [1.0] * 24))
    weekdays = tuple(float(x) for x in prof.get("weekdays", [1.0] * 7))
    if len(hours) != 24 or len(weekdays) != 7:
        raise ScenarioError(f"{where}: [profile] needs 24 hours and 7 weekdays")
    if min(hours + weekdays) < 0:
        raise ScenarioError(f"{where}: [profile] factors must not be negative")
    cities: dict[str, CityModel] = {}
    for city_id, table in _need(raw, "cities", where).items():
        cw = f"{where} [cities.{city_id}]"
        system = _need(table, "system", cw)
        if system not in SYSTEMS:
            raise ScenarioError(f"{cw}: unknown system {system!r}")
        population = int(_need(table, "population", cw))
        regulars = int(table.get("regulars", max(1, population // 10)))
        if population < 1 or not 1 <= regulars <= population:
            raise ScenarioError(f"{cw}: need 1 <= regulars <= population")
        known = {
            "system",
            "timezone",
            "arrivals_per_hour",
            "population",
            "regulars",
            "repeat_share",
        }
        cities[city_id] = CityModel(
            id=city_id,
            system=system,
            timezone=_need(table, "timezone", cw),
            arrivals_per_hour=float(_need(table, "arrivals_per_hour", cw)),
            population=population,
            regulars=regulars,
            repeat_share=_fraction(table.get("repeat_share", 0.5), f"{cw} repeat_share"),
            params={k: v for k, v in table.items() if k not in known},
        )
    if not cities:
        raise ScenarioError(f"{where}: no [cities.*] table")
    return Scenario(
        name=head.get("name", path.stem if path else "scenario"),
        description=head.get("description", ""),
        seed=int(head.get("seed", 1)),
        start=start_dt,
        clock=clock,
        tick_seconds=int(head.get("tick_seconds", 60)),
        rate=float(head.get("rate", 100)),
        duration_s=float(head.get("duration_s", 60)),
        ramp_s=float(head.get("ramp_s", 0)),
        profile=Profile(hours, weekdays),
        cities=cities,
        officers=dict(raw.get("officers", {})),
        freshness=dict(raw.get("freshness", {})),
        path=path,
    )
