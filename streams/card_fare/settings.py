"""What the Tarnów rules need of a city's configuration, read and checked once at start.

Fares come from the tariff kernel (`check_in_deposit`, `ride_refund` over the distance
bands in `<city>.toml`); the ride window, the deny list and the validator texts from
`<city>.messages.toml` (this system's own file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from streams.card_fare.faults import CARD_FAULTS
from streams.replies import Replies
from tariff_kernel import check_in_deposit, load_city, ride_refund

TEMPLATES = (
    "check_in",
    "check_out",
    "already_in",
    "group",
    "repeat",
    "stale",
    "fault_no_funds",
    "fault_blocked",
    "fault_expired",
    "fault_damaged",
    "card_check",
    "card_check_period",
    "transfer",
    "transfer_refused",
    "epurse_topup",
    "sync_nothing",
    "sync_removed",
    "sync_written",
    "sync_not_possible",
)


class KernelFares:
    """`rides.Fares` over the tariff kernel's public API for one city."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def deposit(self, entitlement: str, card_class: str) -> int:
        return check_in_deposit(self.config, entitlement, card_class)

    def refund(self, stops: int, entitlement: str, card_class: str) -> int:
        return ride_refund(self.config, stops, entitlement, card_class)


@dataclass(frozen=True)
class CardCity:
    config: Any  # tariff_kernel.CityConfig
    replies: Replies
    fares: KernelFares
    max_ride: timedelta
    deny_list: dict[str, str]

    @classmethod
    def load(cls, city_id: str) -> CardCity:
        config = load_city(city_id)
        replies = Replies.of(config)
        replies.require(TEMPLATES)
        section = config.raw.get("card_fare")
        if not isinstance(section, dict):
            raise ValueError(f"city {city_id!r} has no [card_fare] section")
        deny = {str(k): str(v) for k, v in section.get("deny_list", {}).items()}
        wrong = sorted(v for v in deny.values() if v not in CARD_FAULTS)
        if wrong:
            raise ValueError(f"city {city_id!r}: deny_list states {wrong} not in {CARD_FAULTS}")
        minutes = int(section.get("max_ride_minutes", 0))
        if minutes <= 0:
            raise ValueError(f"city {city_id!r}: [card_fare] max_ride_minutes must be > 0")
        return cls(config, replies, KernelFares(config), timedelta(minutes=minutes), deny)
