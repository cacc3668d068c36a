"""Which zone and ticket an SMS buys: the short code it was sent to (NIS-2).

The short codes are the city's tariff products (config/cities/nis.toml, owned by the
tariff kernel); this module only reads them, so a new short code is a tariff change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ShortCode:
    number: str
    product: str
    zone: str
    day_ticket: bool  # NIS-14: valid until charging ends, not limited by max stay


def _field(product: Any, name: str) -> Any:
    if isinstance(product, dict):
        return product.get(name)
    return getattr(product, name, None)


def short_codes(city: Any) -> dict[str, ShortCode]:
    """Every short code of `city` (a tariff_kernel CityConfig) with its product and zone."""
    codes: dict[str, ShortCode] = {}
    for product_id, product in city.products.items():
        number = _field(product, "short_code") or product_id
        zone = _field(product, "zone")
        if zone is None:
            continue
        kind = _field(product, "kind") or _field(product, "unit") or ""
        codes[str(number)] = ShortCode(
            number=str(number), product=product_id, zone=str(zone), day_ticket="day" in str(kind)
        )
    return codes
