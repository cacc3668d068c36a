"""Scenario files (`loadtest/scenarios/*.toml`): what traffic to make and how to drive it.

A scenario names the run's defaults (seed, simulated start, clock, rate, duration, ramp),
a shared arrival profile (relative intensity per local hour and weekday) and one table per
city with its arrival rate, population, channel mix, durations, error rates and the city
facts the generator needs (short codes, zones, products, lines). The city facts live here
(short codes, zones, ticket numbers, SMS keywords) come from the product's city
configs are read through `cityfacts.city_facts` (the tariff kernel's `load_city`); a
scenario only weights them (`mix` tables) and adds what no config holds (bus lines, rates,
error shares). A weight for a short code, product or zone the config lacks is an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtest.cityfacts import CityFacts, city_facts

SCENARIO_DIR = Path(__file__).parent / "scenarios"


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
    facts: CityFacts
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


def _mixable(facts: CityFacts) -> set[str]:
    """What a city's `mix` table may weight: short codes, ticket numbers or zones."""
    if facts.system == "sms_parking":
        return set(facts.sms_codes)
    if facts.system == "missed_call":
        return set(facts.ticket_numbers)
    if facts.system == "app_parking":
        return set(facts.zones)
    return set()


def _check_mix(mix: Any, allowed: set[str], where: str) -> None:
    if not isinstance(mix, dict):
        raise ScenarioError(f"{where}: mix must be a table of weights")
    unknown = sorted(set(map(str, mix)) - allowed)
    if unknown:
        raise ScenarioError(
            f"{where}: mix names {unknown}, which the city config does not have "
            f"(it has {sorted(allowed)})"
        )
    if any(float(w) < 0 for w in mix.values()):
        raise ScenarioError(f"{where}: mix weights must not be negative")


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
        try:
            facts = city_facts(city_id)
        except Exception as exc:  # the kernel's TariffError or a missing config section
            raise ScenarioError(f"{cw}: no usable city config ({exc})") from None
        for key in ("system", "timezone"):
            if key in table and table[key] != getattr(facts, key):
                raise ScenarioError(
                    f"{cw}: {key} {table[key]!r} differs from the city config's "
                    f"{getattr(facts, key)!r}"
                )
        population = int(_need(table, "population", cw))
        regulars = int(table.get("regulars", max(1, population // 10)))
        if population < 1 or not 1 <= regulars <= population:
            raise ScenarioError(f"{cw}: need 1 <= regulars <= population")
        _check_mix(table.get("mix", {}), _mixable(facts), cw)
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
            system=facts.system,
            timezone=facts.timezone,
            arrivals_per_hour=float(_need(table, "arrivals_per_hour", cw)),
            population=population,
            regulars=regulars,
            repeat_share=_fraction(table.get("repeat_share", 0.5), f"{cw} repeat_share"),
            facts=facts,
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
