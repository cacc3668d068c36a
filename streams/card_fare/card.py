"""What a card holds, as the inspector (TRN-10) and the card check (TRN-7) see it.

Card state: `{"card", "e_purse", "t_purse", "periods": [period tickets], "ride": rides.py's
shape or None, "counters": counters.py's memory, "pending": [orders.py's shape]}`.
The validity record of a card lists its period tickets and the tickets of its current
ride; with none of them the key is removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.contract import Entitlement, ValidityRecord, validity_key
from streams.parking_time import at, earliest, iso


def empty_card(card_id: str) -> dict[str, Any]:
    return {
        "card": card_id,
        "e_purse": 0,
        "t_purse": 0,
        "periods": [],
        "ride": None,
        "counters": {},
        "pending": [],
    }


def period_ticket(card_id: str, order: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": f"{card_id}:period:{order['id']}",
        "price": order["amount"],
        "valid_from": order["valid_from"],
        "valid_until": order["valid_until"],
        "written_at": iso(now),
    }


def valid_periods(periods: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [p for p in periods if at(p["valid_from"]) <= now < at(p["valid_until"])]


def current_periods(periods: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Period tickets not yet ended (valid now or starting later)."""
    return [p for p in periods if at(p["valid_until"]) > now]


def next_change(state: dict[str, Any]) -> datetime | None:
    """When the card's record changes without an event: a ride or a period ticket ends."""
    ride = state["ride"]
    return earliest(
        at(ride["until"]) if ride else None,
        *(at(p["valid_until"]) for p in state["periods"]),
    )


def key(city: str, card_id: str) -> str:
    return validity_key(city, "card", card_id, card_id)


def record(
    city: str, state: dict[str, Any], currency: str, now: datetime, caused_by: str
) -> ValidityRecord | None:
    """TRN-10: period tickets and the current ride's tickets, or None (remove the key)."""
    card_id = state["card"]
    entitlements = [
        Entitlement(
            ticket_id=p["id"],
            kind="period_ticket",
            product="period_ticket",
            channel="web",
            state="confirmed",
            valid_from=at(p["valid_from"]),
            valid_until=at(p["valid_until"]),
            price=p["price"],
            currency=currency,
            details={"card": card_id},
        )
        for p in state["periods"]
    ]
    ride = state["ride"]
    if ride is not None:
        entitlements.extend(
            Entitlement(
                ticket_id=t["id"],
                kind="ride",
                product="distance_ticket",
                channel="card",
                state="confirmed",
                valid_from=at(ride["at"]),
                valid_until=at(ride["until"]),
                price=t["deposit"],
                currency=currency,
                details={
                    "card": card_id,
                    "trip": ride["trip"],
                    "boarding_stop_seq": ride["board_seq"],
                    "holder": t["holder"],
                    "entitlement": t["entitlement"],
                    "card_class": t["card_class"],
                },
            )
            for t in ride["tickets"]
        )
    if not entitlements:
        return None
    return ValidityRecord(
        city=city,
        subject_kind="card",
        subject=card_id,
        owner=card_id,
        entitlements=entitlements,
        updated_at=now,
        caused_by=caused_by,
    )


def check_view(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """TRN-7: e-purse, t-purse, the period ticket valid now and this ride's tickets."""
    periods = valid_periods(state["periods"], now)
    ride = state["ride"]
    return {
        "e_purse": state["e_purse"],
        "t_purse": state["t_purse"],
        "period_until": max((at(p["valid_until"]) for p in periods), default=None),
        "ride_tickets": len(ride["tickets"]) if ride else 0,
    }
