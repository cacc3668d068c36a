"""Tariff kernel: every city's tariff as data, priced by Numba kernels equal to a reference.

Public API (what the streams, the API, the dashboards and the load test call):
`load_city`, `list_cities`, `CityConfig`, `quote_stay` / `StayQuote`, `charging_in_force`,
`charging_window`, `transit_product`, `check_in_deposit`, `ride_fare`, `ride_refund`,
`price_stays`, `price_rides`, `warm_up`, `TariffError`. See docs/tariffs.md.
"""

from __future__ import annotations

from tariff_kernel.config import ConfigError, list_cities, load_city
from tariff_kernel.model import CityConfig, TariffError, TransitProduct, Zone
from tariff_kernel.pricing import (
    charging_in_force,
    charging_window,
    check_in_deposit,
    price_rides,
    price_stays,
    quote_stay,
    ride_fare,
    ride_refund,
    ticket_valid_until,
    transit_product,
    warm_up,
)
from tariff_kernel.reference import StayQuote

__all__ = [
    "CityConfig",
    "ConfigError",
    "StayQuote",
    "TariffError",
    "TransitProduct",
    "Zone",
    "charging_in_force",
    "charging_window",
    "check_in_deposit",
    "list_cities",
    "load_city",
    "price_rides",
    "price_stays",
    "quote_stay",
    "ride_fare",
    "ride_refund",
    "ticket_valid_until",
    "transit_product",
    "warm_up",
]
