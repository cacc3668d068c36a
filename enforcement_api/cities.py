"""What the API needs to know about each city, read through the tariff kernel.

Known cities and zones, the grace period after expiry, whether charging is in force in a
zone at a moment (ENF-1 `not_required`), the kind of system (parking or transit) and the
"service unavailable" reply (NIS-8) from the city's `[replies]` section.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from streams.replies import Replies

PARKING_SYSTEMS = frozenset({"sms_parking", "app_parking"})
TRANSIT_SYSTEMS = frozenset({"missed_call", "card_fare"})

# Used when a city's config carries no unavailable reply of its own (NIS-8 Decision).
DEFAULT_UNAVAILABLE_TEXT = (
    "Sorry, the payment service is temporarily unavailable. "
    "Nothing was charged. Please pay another way."
)
# The reply template the SMS pipeline also uses for NIS-8 (streams/replies.py).
UNAVAILABLE_KEY = "unavailable"


class Kernel(Protocol):
    """The part of the tariff kernel's public API the API uses (`tariff_kernel` itself)."""

    def list_cities(self) -> list[str]: ...

    def load_city(self, city_id: str) -> Any: ...

    def charging_in_force(self, city: Any, zone: str, at: datetime) -> bool: ...


class CityDirectory:
    """City facts for the API, cached per process (configs are read once)."""

    def __init__(self, kernel: Kernel | None = None) -> None:
        if kernel is None:
            import tariff_kernel

            kernel = tariff_kernel  # type: ignore[assignment]
        self.kernel: Kernel = kernel  # type: ignore[assignment]
        self._cities = frozenset(self.kernel.list_cities())
        self._unavailable: dict[str, str] = {}
        self._charging: dict[tuple[str, str, datetime], bool] = {}
        # Per-city facts every check asks for: the kernel's `load_city` builds a path from
        # the environment on each call (~10 us), three times a check before this cache.
        self._parking: dict[str, bool] = {}
        self._zones: dict[str, frozenset[str]] = {}
        self._grace: dict[str, int] = {}

    @property
    def known(self) -> frozenset[str]:
        return self._cities

    def config(self, city: str) -> Any:
        return self.kernel.load_city(city)

    def system(self, city: str) -> str:
        return str(self.config(city).system)

    def is_parking(self, city: str) -> bool:
        answer = self._parking.get(city)
        if answer is None:
            answer = self._parking[city] = self.system(city) in PARKING_SYSTEMS
        return answer

    def zones(self, city: str) -> frozenset[str]:
        zones = self._zones.get(city)
        if zones is None:
            zones = self._zones[city] = frozenset(self.config(city).zones)
        return zones

    def grace_minutes(self, city: str) -> int:
        grace = self._grace.get(city)
        if grace is None:
            grace = self._grace[city] = int(self.config(city).grace_minutes)
        return grace

    def charging_required(self, city: str, zone: str | None, at: datetime) -> bool:
        """Is payment required at `at` in `zone` — or, for a whole-city check, in any zone?"""
        if zone is not None:
            return self._in_force(city, zone, at)
        return any(self._in_force(city, z, at) for z in sorted(self.zones(city)))

    def _in_force(self, city: str, zone: str, at: datetime) -> bool:
        # Charging spans start and end on whole minutes (HH:MM in the configs), so the
        # answer for the minute holds for every second of it; the kernel is asked once per
        # zone and minute instead of on every check (~16 us each).
        minute = at.replace(second=0, microsecond=0)
        key = (city, zone, minute)
        answer = self._charging.get(key)
        if answer is None:
            if len(self._charging) > 10_000:
                self._charging.clear()
            answer = self._charging[key] = bool(self.kernel.charging_in_force(city, zone, minute))
        return answer

    def warm_up(self) -> None:
        """Ask the kernel once per parking zone, so its compilation (~0.4 s) happens at
        start-up and not inside a warden's first check."""
        now = datetime.now(UTC)
        for city in sorted(self._cities):
            if self.is_parking(city):
                for zone in sorted(self.zones(city)):
                    self.kernel.charging_in_force(city, zone, now)
            self.unavailable_text(city)

    def unavailable_text(self, city: str) -> str:
        """NIS-8: the apology the customer gets when the pipeline cannot take the event."""
        if city not in self._cities:
            return DEFAULT_UNAVAILABLE_TEXT
        text = self._unavailable.get(city)
        if text is None:
            templates = Replies.of(self.config(city)).templates
            text = templates.get(UNAVAILABLE_KEY) or DEFAULT_UNAVAILABLE_TEXT
            self._unavailable[city] = text
        return text
