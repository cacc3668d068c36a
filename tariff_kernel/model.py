"""The tariff model: what a city's config file describes, as plain frozen dataclasses.

Parking follows the Curb Data Specification's rate vocabulary (charging spans by day of
week and local time, a rate per hour in duration tiers, a payable increment, max stay,
no-return, minimum and maximum fee) plus the products the seeds sell: Niš's hourly and
day tickets. Transit follows GTFS-Fares v2 (fare products with amount, rider category,
fare medium and validity; distance bands by stops travelled with a fare per card class
and rider category).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

ProductKind = Literal["hourly", "day", "metered"]
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TariffError(ValueError):
    """A tariff request or a tariff config that cannot be priced; the message says why."""

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class ChargingSpan:
    """Charging is in force on `days` (0 = Monday) from `start` to `end` local minutes."""

    days: frozenset[int]
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    capacity: int | None
    spans: tuple[ChargingSpan, ...]
    polygon: tuple[tuple[float, float], ...] | None = None  # (lat, lon) corners
    streets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tier:
    """CDS duration tier: charged minutes [from_minute, to_minute) cost `rate` per hour."""

    from_minute: int
    to_minute: int | None
    rate: int


@dataclass(frozen=True)
class ParkingProduct:
    """What one purchase buys in one zone.

    - `hourly`: whole hours; hour n of a stay costs `hour_prices[n]` (the last repeats).
    - `day`: `price` until charging ends that local day (NIS-14).
    - `metered`: per started minute at the tiers' hourly rates, rounded up to the
      increment and to `rounding` minor units, then `min_fee` / `max_fee` (ZCS-6, 7).
    """

    id: str
    name: str
    zone: str
    kind: ProductKind
    hour_prices: tuple[int, ...] = ()
    price: int = 0
    tiers: tuple[Tier, ...] = ()
    increment_minutes: int = 1
    rounding: int = 1
    min_fee: int = 0
    max_fee: int | None = None
    max_stay_minutes: int | None = None
    no_return_minutes: int | None = None
    clamp_to_charging: bool = False  # ZCS-3: start and end moved into the charging span
    short_code: str | None = None

    def hour_price(self, index: int) -> int:
        return self.hour_prices[min(index, len(self.hour_prices) - 1)]


@dataclass(frozen=True)
class TransitProduct:
    id: str
    name: str
    amount: int
    currency: str
    validity_minutes: int
    rider_category: str
    fare_medium: str


@dataclass(frozen=True)
class DistanceBand:
    """Rides of `min_stops` <= stops < `max_stops` (None: no upper end)."""

    min_stops: int
    max_stops: int | None
    fares: dict[str, dict[str, int]]  # card class -> rider category -> amount


@dataclass(frozen=True)
class TransitTariff:
    rider_categories: tuple[str, ...] = ()
    card_classes: tuple[str, ...] = ()
    distance_bands: tuple[DistanceBand, ...] = ()
    products: dict[str, TransitProduct] = field(default_factory=dict)


@dataclass(frozen=True)
class CityConfig:
    id: str
    name: str
    timezone: str
    currency: str
    minor_units: int
    language: str
    system: str
    grace_minutes: int
    holidays: frozenset[date]
    carry_over_remainder: bool
    zones: dict[str, Zone]
    products: dict[str, ParkingProduct]
    transit: TransitTariff
    raw: dict[str, Any]
    source: str = ""

    def product(self, product_id: str) -> ParkingProduct:
        try:
            return self.products[str(product_id)]
        except KeyError:
            known = ", ".join(sorted(self.products)) or "none"
            raise TariffError(
                f"city {self.id!r} has no parking product {product_id!r} (known: {known})"
            ) from None
