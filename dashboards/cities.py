"""What the dashboards take from the city configs: zone capacity, time zone and money.

Read through the tariff kernel (`tariff_kernel.load_city`), the one reader of
`config/cities/`. A city without a config (or a kernel that cannot load it) still gets its
dashboards: occupancy is then shown in vehicles, not percent, times in UTC and money with
two decimals, and the page says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CityView:
    id: str
    name: str
    timezone: str = "UTC"
    minor_units: int = 2
    capacities: dict[str, int] = field(default_factory=dict)
    zone_names: dict[str, str] = field(default_factory=dict)
    configured: bool = False
    problem: str = ""


def configured_cities() -> list[str]:
    try:
        from tariff_kernel import list_cities

        return sorted(list_cities())
    except Exception as exc:  # a missing kernel or config must not take the dashboards down
        log.warning("no city configs: %s", exc)
        return []


def city_view(city: str) -> CityView:
    try:
        from tariff_kernel import load_city

        config = load_city(city)
    except Exception as exc:  # see module docstring
        return CityView(id=city, name=city, problem=f"no city config ({exc})")
    capacities: dict[str, int] = {}
    names: dict[str, str] = {}
    for zone_id, zone in config.zones.items():
        names[zone_id] = getattr(zone, "name", zone_id) or zone_id
        capacity = getattr(zone, "capacity", None)
        if isinstance(capacity, int) and capacity > 0:
            capacities[zone_id] = capacity
    return CityView(
        id=city,
        name=config.name,
        timezone=config.timezone,
        minor_units=config.minor_units,
        capacities=capacities,
        zone_names=names,
        configured=True,
    )
