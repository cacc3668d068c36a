"""App parking for moBILET (MOB-1..6) and the Italian ZCS cities (ZCS-1..8).

Public: `make_rules(cities) -> AppParkingRules` (the worker's factory, streams/systems.py),
`areas.area_at` / `areas.search_areas` (ZCS-1, for the app-facing API). Deciders live in
`stays`, `wallet`, `holds`, `registry`, `areas`; docs/parking.md.
"""

from __future__ import annotations

from streams.app_parking.rules import AppParkingRules, make_rules

__all__ = ["AppParkingRules", "make_rules"]
