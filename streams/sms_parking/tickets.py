"""Niš tickets and the plate's validity record (NIS-6, NIS-9, ENF-1).

A ticket is one paid SMS: `{"id", "pin", "zone", "product", "kind", "short_code",
"msisdn", "operator", "state", "valid_from", "valid_until", "minutes", "price", "currency",
"bought_at", "carried_over", "verdict_due", "verdict", "revoked_at", "caused_by"}`.
The plate's state keeps current tickets and recent ones (for "expired since" answers)
for `RECENT` after they end; the validity record lists exactly those.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams.contract import Entitlement, ValidityRecord
from streams.parking_time import at, iso
from streams.sms_parking.codes import ShortCode
from streams.sms_parking.stays import Purchase

RECENT = timedelta(hours=24)
VERDICT_WINDOW = timedelta(minutes=10)
"""NIS-9: the operator answers about 3 minutes after the SMS; after this window without an
answer the ticket is confirmed (a later rejection still revokes it)."""


def new_ticket(
    city: str,
    pin: str,
    code: ShortCode,
    purchase: Purchase,
    msisdn: str,
    operator: str,
    now: datetime,
    event_id: str,
    verdict_window: timedelta = VERDICT_WINDOW,
) -> dict[str, Any]:
    return {
        "id": f"{city}:{pin}",
        "pin": pin,
        "zone": code.zone,
        "product": code.product,
        "kind": "day" if code.day_ticket else "hourly",
        "short_code": code.number,
        "msisdn": msisdn,
        "operator": operator,
        "state": "provisional",
        "valid_from": iso(purchase.start),
        "valid_until": iso(purchase.end),
        "minutes": purchase.minutes,
        "price": purchase.price,
        "currency": purchase.currency,
        "bought_at": iso(now),
        "carried_over": purchase.carried_over,
        "verdict_due": iso(now + verdict_window),
        "verdict": None,
        "revoked_at": None,
        "caused_by": event_id,
    }


def find_by_pin(tickets: list[dict[str, Any]], pin: str) -> dict[str, Any] | None:
    for ticket in tickets:
        if ticket["pin"] == pin:
            return ticket
    return None


def entitlement(ticket: dict[str, Any], plate: str) -> Entitlement:
    return Entitlement(
        ticket_id=ticket["id"],
        kind=ticket["kind"],
        product=ticket["product"],
        channel="sms",
        state=ticket["state"],
        valid_from=at(ticket["valid_from"]),
        valid_until=at(ticket["valid_until"]),
        price=ticket["price"],
        currency=ticket["currency"],
        zone=ticket["zone"],
        pin=ticket["pin"],
        plate=plate,
        revoked_at=at(ticket["revoked_at"]) if ticket["revoked_at"] else None,
        details={
            "operator": ticket["operator"],
            "msisdn": ticket["msisdn"],
            "short_code": ticket["short_code"],
            "verdict": ticket["verdict"],
            "carried_over": ticket["carried_over"],
            "bought_at": ticket["bought_at"],
        },
    )


def validity(
    city: str, plate: str, tickets: list[dict[str, Any]], now: datetime, caused_by: str
) -> ValidityRecord:
    return ValidityRecord(
        city=city,
        subject_kind="plate",
        subject=plate,
        owner=plate,
        entitlements=[entitlement(t, plate) for t in tickets],
        updated_at=now,
        caused_by=caused_by,
    )


def keep_recent(tickets: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Tickets still current or ended less than RECENT ago."""
    return [t for t in tickets if _gone_at(t) > now]


def _gone_at(ticket: dict[str, Any]) -> datetime:
    end = at(ticket["valid_until"])
    if ticket["revoked_at"]:
        end = min(end, at(ticket["revoked_at"]))
    return end + RECENT


def next_prune(tickets: list[dict[str, Any]]) -> datetime | None:
    return min((_gone_at(t) for t in tickets), default=None)
