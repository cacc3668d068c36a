"""Which kind of system runs each configured city (`[city] system` in its config)."""

from __future__ import annotations

from tariff_kernel.config import list_cities, load_city


def city_systems() -> dict[str, str]:
    return {city: load_city(city).raw["city"]["system"] for city in list_cities()}
