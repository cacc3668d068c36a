"""The rules of each kind of system, found by name.

Each entry names a factory `make_rules(cities: list[str]) -> SystemRules` building the
rules for the cities that run that system (their configs are loaded by the factory).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from streams.runtime.rules import SystemRules

RULES_FACTORIES: dict[str, str] = {
    "sms_parking": "streams.sms_parking:make_rules",  # Niš: SMS to a zone short code
    "app_parking": "streams.app_parking:make_rules",  # moBILET, ZCS: app stays, wallets, holds
    "missed_call": "streams.missed_call:make_rules",  # Hradec Králové: tickets by missed call
    "card_fare": "streams.card_fare:make_rules",  # Tarnów: contactless card distance fares
}


def load_rules(city_systems: Mapping[str, str]) -> dict[str, SystemRules]:
    by_system: dict[str, list[str]] = {}
    for city, system in sorted(city_systems.items()):
        by_system.setdefault(system, []).append(city)
    rules: dict[str, SystemRules] = {}
    for system, cities in by_system.items():
        if system not in RULES_FACTORIES:
            raise ValueError(f"cities {cities} name unknown system {system!r}")
        module_name, _, factory = RULES_FACTORIES[system].partition(":")
        module = importlib.import_module(module_name)
        rules[system] = getattr(module, factory)(cities)
    return rules
