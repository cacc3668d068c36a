"""Hradec tickets, their codes and the validity records inspectors read (HKR-2, HKR-9).

A ticket is one issued product: `{"id", "code", "product", "name", "channel", "price",
"currency", "rider_category", "valid_from", "valid_until", "msisdn", "caused_by"}`.

Ticket codes: the same keyed permutation as Niš PINs (`streams.sms_parking.pins`, one
concept in one place) applied to a ticket number the engine hands out per city
(`PartitionSequence`): unique per city without coordination, not guessable without the
key, 10 digits an inspector can type. The phone keeps current tickets and recent ones
(`RECENT` after they end) so an inspector also gets "expired at ..." answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.contract import Entitlement, ValidityRecord, validity_key
from streams.parking_time import at, iso
from streams.sms_parking.pins import normalise_pin, pin_for

RECENT = timedelta(hours=24)


def ticket_code(number: int, city: str, key: bytes) -> str:
    """HKR-9: the code printed in the ticket SMS for engine ticket number `number`."""
    return pin_for(number, city, key)


def normalise_code(text: str) -> str:
    """Inspectors may type the code with spaces or dashes."""
    return normalise_pin(text)


def new_ticket(
    city: str,
    code: str,
    product: Any,  # tariff_kernel.TransitProduct
    channel: str,
    msisdn: str,
    now: datetime,
    valid_until: datetime,
    event_id: str,
) -> dict[str, Any]:
    """`valid_until` comes from the tariff kernel (`ticket_valid_until`: real time)."""
    return {
        "id": f"{city}:{code}",
        "code": code,
        "product": str(product.id),
        "name": product.name,
        "channel": channel,
        "price": product.amount,
        "currency": product.currency,
        "rider_category": product.rider_category,
        "valid_from": iso(now),
        "valid_until": iso(valid_until),
        "msisdn": msisdn,
        "caused_by": event_id,
    }


def is_valid(ticket: dict[str, Any], now: datetime) -> bool:
    return at(ticket["valid_from"]) <= now < at(ticket["valid_until"])


def valid_at(tickets: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """HKR-6: the tickets valid at `now`, by time, of any product."""
    return [t for t in tickets if is_valid(t, now)]


def keep_recent(tickets: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [t for t in tickets if at(t["valid_until"]) + RECENT > now]


def next_prune(tickets: list[dict[str, Any]]) -> datetime | None:
    return min((at(t["valid_until"]) + RECENT for t in tickets), default=None)


def entitlement(ticket: dict[str, Any]) -> Entitlement:
    return Entitlement(
        ticket_id=ticket["id"],
        kind="transit_ticket",
        product=ticket["product"],
        channel=ticket["channel"],
        state="confirmed",
        valid_from=at(ticket["valid_from"]),
        valid_until=at(ticket["valid_until"]),
        price=ticket["price"],
        currency=ticket["currency"],
        code=ticket["code"],
        details={
            "name": ticket["name"],
            "msisdn": ticket["msisdn"],
            "rider_category": ticket["rider_category"],
        },
    )


def ticket_key(city: str, ticket: dict[str, Any]) -> str:
    return validity_key(city, "ticket", ticket["code"], ticket["msisdn"])


def ticket_record(
    city: str, ticket: dict[str, Any], now: datetime, caused_by: str
) -> ValidityRecord:
    """HKR-9: what an inspector sees for one ticket code."""
    return ValidityRecord(
        city=city,
        subject_kind="ticket",
        subject=ticket["code"],
        owner=ticket["msisdn"],
        entitlements=[entitlement(ticket)],
        updated_at=now,
        caused_by=caused_by,
    )


def phone_key(city: str, msisdn: str) -> str:
    return validity_key(city, "phone", msisdn, msisdn)


def phone_record(
    city: str, msisdn: str, tickets: list[dict[str, Any]], now: datetime, caused_by: str
) -> ValidityRecord:
    """HKR-9: the current and recent tickets of one phone number."""
    return ValidityRecord(
        city=city,
        subject_kind="phone",
        subject=msisdn,
        owner=msisdn,
        entitlements=[entitlement(t) for t in tickets],
        updated_at=now,
        caused_by=caused_by,
    )
