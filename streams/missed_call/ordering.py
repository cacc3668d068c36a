"""May a ticket be issued now? The 1+4 rule and the financial limit (HKR-3, 6, 7, 8).

Pure decisions over the phone's registration and tickets; prices and validity come in as
plain numbers (the caller asks the tariff kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.missed_call.registration import Registration
from streams.missed_call.tickets import valid_at


@dataclass(frozen=True)
class Refusal:
    rule: str
    template: str
    channel: str  # how the phone is answered: "sms" or "voice" (HKR-6)
    reason: str
    suspend: bool = False  # HKR-7: the refusal also suspends missed-call ordering


def refuse_call_order(
    registration: Registration,
    tickets: list[dict[str, Any]],
    price: int,
    now: datetime,
    max_valid: int,
    limit: int,
) -> Refusal | None:
    """Why a missed-call order must not be issued, or None to issue it.

    Checked in this order: registration (HKR-3), the 1+4 rule (HKR-6, nothing charged, so it
    goes before the money limit), the financial limit per registration (HKR-7).
    """
    if registration is None or registration["status"] == "pending":
        return Refusal("HKR-3", "not_registered", "sms", "the phone is not registered")
    if registration["status"] == "suspended":
        return Refusal(
            "HKR-7", "suspended", "sms", "missed-call ordering is suspended until renewal"
        )
    current = len(valid_at(tickets, now))
    if current >= max_valid:
        return Refusal(
            "HKR-6", "voice_limit", "voice", f"{current} tickets valid now, at most {max_valid}"
        )
    if registration["total"] + price > limit:
        return Refusal(
            "HKR-7",
            "limit_reached",
            "sms",
            f"{registration['total']} + {price} would exceed the limit {limit}",
            suspend=True,
        )
    return None
