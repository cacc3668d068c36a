"""What the Hradec rules need of a city's configuration, read and checked once at start.

Tariff facts (products keyed by the called number, the financial limit) come from the
tariff kernel's config (`<city>.toml`); the service numbers, keywords, the 1+4 limit and
the reply texts from `<city>.messages.toml` (this system's own file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.missed_call.keywords import Keywords
from streams.replies import Replies
from streams.sms_parking.pins import pin_key
from tariff_kernel import load_city, transit_product

TEMPLATES = (
    "confirm_request",
    "welcome",
    "already_registered",
    "confirm_unexpected",
    "renewed",
    "stopped",
    "help",
    "not_registered",
    "suspended",
    "limit_reached",
    "voice_limit",
    "ticket",
    "unknown_keyword",
    "unavailable",
)


@dataclass(frozen=True)
class MissedCallCity:
    config: Any  # tariff_kernel.CityConfig
    replies: Replies
    registration_number: str
    sms_number: str
    keywords: Keywords
    products: dict[str, Any]  # called number -> tariff_kernel.TransitProduct
    max_valid_tickets: int
    registration_limit: int
    code_key: bytes

    @classmethod
    def load(cls, city_id: str) -> MissedCallCity:
        config = load_city(city_id)
        replies = Replies.of(config)
        replies.require(TEMPLATES)
        section = config.raw.get("missed_call")
        if not isinstance(section, dict):
            raise ValueError(f"city {city_id!r} has no [missed_call] section")
        products = {str(p): transit_product(config, str(p)) for p in config.transit.products}
        keywords = Keywords.of(
            section["confirm_keyword"],
            section["stop_keyword"],
            section["help_keyword"],
            section.get("sms_orders", {}),
        )
        unknown = sorted(set(keywords.orders.values()) - set(products))
        if unknown:
            raise ValueError(f"city {city_id!r}: SMS keywords order unknown products {unknown}")
        limit = config.raw.get("transit", {}).get("registration_limit")
        if not isinstance(limit, int) or limit <= 0:
            raise ValueError(f"city {city_id!r} has no [transit] registration_limit")
        return cls(
            config=config,
            replies=replies,
            registration_number=_digits(section["registration_number"]),
            sms_number=_digits(section["sms_number"]),
            keywords=keywords,
            products=products,
            max_valid_tickets=int(section.get("max_valid_tickets", 5)),
            registration_limit=limit,
            code_key=pin_key(),
        )


def _digits(number: Any) -> str:
    return "".join(ch for ch in str(number) if ch.isdigit())
