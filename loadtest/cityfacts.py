"""What the traffic model must know about a city, read from the product's city configs.

Short codes and zones (Niš), the service numbers, ticket numbers and SMS keywords (Hradec),
card classes and rider categories (Tarnów), and the zones an app city sells stays in
(moBILET, ZCS) all come from `tariff_kernel.load_city` and the helpers the pipelines
themselves use to read them, so a new zone or short code shows up in the load test
without editing a scenario. Scenario files only weight these facts (channel mix) and
add what no config holds (bus lines and stops, arrival rates, error shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tariff_kernel import load_city


@dataclass(frozen=True)
class SmsCode:
    """A Niš short code (NIS-2): its zone, whether it sells a day ticket, the max hours."""

    number: str
    zone: str
    day_ticket: bool
    max_hours: int  # the zone's maximum stay in whole hours (NIS-5); 0 for day tickets


@dataclass(frozen=True)
class CityFacts:
    id: str
    system: str
    timezone: str
    sms_codes: dict[str, SmsCode] = field(default_factory=dict)
    # Hradec (HKR-1..8)
    registration_number: str = ""
    sms_number: str = ""
    confirm_keyword: str = ""
    stop_keyword: str = ""
    help_keyword: str = ""
    ticket_numbers: tuple[str, ...] = ()  # the numbers a missed call orders a ticket from
    sms_keywords: dict[str, str] = field(default_factory=dict)  # product -> keyword
    ticket_prices: dict[str, int] = field(default_factory=dict)  # number -> minor units
    registration_limit: int = 0  # HKR-7: total per registration, minor units
    max_valid_tickets: int = 5
    # Tarnów (TRN-1)
    card_classes: tuple[str, ...] = ()
    rider_categories: tuple[str, ...] = ()
    longest_band_from: int = 26  # a ride of this many stops pays the check-in deposit
    period_products: dict[str, dict[str, Any]] = field(default_factory=dict)
    # moBILET / ZCS
    zones: tuple[str, ...] = ()
    payments: tuple[str, ...] = ()


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit())


@cache
def city_facts(city_id: str) -> CityFacts:
    """The facts of `city_id` from its config (cached; raises on an unknown city)."""
    config = load_city(city_id)
    system = config.system
    base: dict[str, Any] = {"id": config.id, "system": system, "timezone": config.timezone}
    if system == "sms_parking":
        from streams.sms_parking.codes import short_codes

        codes = {}
        for number, code in short_codes(config).items():
            product = config.products[code.product]
            max_stay = _field(product, "max_stay_minutes")
            hours = 0 if code.day_ticket or not max_stay else max(1, int(max_stay) // 60)
            codes[number] = SmsCode(number, code.zone, code.day_ticket, hours)
        return CityFacts(**base, sms_codes=codes)
    if system == "missed_call":
        section = config.raw.get("missed_call", {})
        products = config.raw.get("transit", {}).get("products", {})
        keywords = {
            _digits(product): str(keyword)
            for keyword, product in section.get("sms_orders", {}).items()
        }
        return CityFacts(
            **base,
            registration_number=_digits(section["registration_number"]),
            sms_number=_digits(section["sms_number"]),
            confirm_keyword=str(section["confirm_keyword"]),
            stop_keyword=str(section["stop_keyword"]),
            help_keyword=str(section["help_keyword"]),
            ticket_numbers=tuple(_digits(p) for p in products),
            sms_keywords=keywords,
            ticket_prices={_digits(p): int(v["amount"]) for p, v in products.items()},
            registration_limit=int(config.raw.get("transit", {}).get("registration_limit", 0)),
            max_valid_tickets=int(section.get("max_valid_tickets", 5)),
        )
    if system == "card_fare":
        transit = config.raw.get("transit", {})
        bands = transit.get("distance_bands", [])
        longest = max((int(b.get("min_stops", 0)) for b in bands), default=26)
        return CityFacts(
            **base,
            card_classes=tuple(transit.get("card_classes", ("standard",))),
            rider_categories=tuple(transit.get("rider_categories", ("normal",))),
            longest_band_from=longest,
            period_products=dict(transit.get("products", {})),
        )
    if system == "app_parking":
        from streams.app_parking.rules import products_by_zone

        payments = config.raw.get("app_parking", {}).get("payments", ["wallet"])
        return CityFacts(
            **base, zones=tuple(sorted(products_by_zone(config))), payments=tuple(payments)
        )
    raise ValueError(f"city {city_id!r} runs {system!r}, which the load test does not know")


def _field(product: Any, name: str) -> Any:
    if isinstance(product, dict):
        return product.get(name)
    return getattr(product, name, None)
