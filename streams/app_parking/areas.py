"""Finding a parking area (ZCS-1): by the phone's position, or by free text.

By position: the area whose polygon contains the point, else the nearest one (distance
to its boundary). By text: areas whose name or streets contain every word typed, accents
and case ignored ("via roma" finds "Via Róma"), areas matching by name first. Zones come
from the tariff config (`Zone.polygon` as (lat, lon) pairs, `Zone.streets`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class AreaMatch:
    zone: str
    distance_m: float  # 0 inside the polygon


def _xy(lat: float, lon: float, lat0: float) -> tuple[float, float]:
    # Equirectangular projection around the point asked about: metres, exact enough for
    # the few kilometres of a town.
    x = math.radians(lon) * math.cos(math.radians(lat0)) * EARTH_RADIUS_M
    y = math.radians(lat) * EARTH_RADIUS_M
    return x, y


def _inside(point: tuple[float, float], ring: Sequence[tuple[float, float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > y) != (y2 > y):
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross:
                inside = not inside
    return inside


def _segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def distance_to_area(lat: float, lon: float, polygon: Sequence[tuple[float, float]]) -> float:
    point = _xy(lat, lon, lat)
    ring = [_xy(la, lo, lat) for la, lo in polygon]
    if len(ring) >= 3 and _inside(point, ring):
        return 0.0
    return min(
        _segment_distance(point, a, b) for a, b in zip(ring, [*ring[1:], ring[0]], strict=True)
    )


def area_at(zones: dict[str, Any], lat: float, lon: float) -> AreaMatch | None:
    """ZCS-1: the area at the position, or the nearest one; None if no area has a polygon."""
    best: AreaMatch | None = None
    for zone_id, zone in sorted(zones.items()):
        polygon = getattr(zone, "polygon", None)
        if not polygon:
            continue
        distance = distance_to_area(lat, lon, polygon)
        if best is None or distance < best.distance_m:
            best = AreaMatch(zone_id, distance)
    return best


def fold(text: str) -> str:
    """Case- and accent-insensitive form for searching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return [w for w in "".join(c if c.isalnum() else " " for c in fold(text)).split() if w]


def _matches(words: Iterable[str], haystack: str) -> bool:
    folded = fold(haystack)
    return all(w in folded for w in words)


def search_areas(zones: dict[str, Any], query: str) -> list[str]:
    """ZCS-1: zone ids whose name or a street contains every word of `query`."""
    words = _words(query)
    if not words:
        return []
    by_name, by_street = [], []
    for zone_id, zone in sorted(zones.items()):
        name = f"{getattr(zone, 'name', '')} {zone_id}"
        if _matches(words, name):
            by_name.append(zone_id)
        elif any(_matches(words, street) for street in getattr(zone, "streets", []) or []):
            by_street.append(zone_id)
    return by_name + by_street
