"""A ride on one vehicle trip: check-in, check-out, group tickets (TRN-1, TRN-2, TRN-6).

The card's current ride: `{"trip", "validator", "board_seq", "at", "until", "tickets":
[{"id", "holder": "self" | "co", "entitlement", "card_class", "deposit"}]}`. Check-in
charges each ticket the longest band's fare (the deposit); the owner's check-out on the
same trip refunds each ticket the deposit minus the fare of the stops travelled.

Decision (TRN-2): the distance is `exit stop_seq - boarding stop_seq` on the same trip.
A tap on the same trip at a later stop is the check-out (the validator reports the stop
the bus is heading for, so the window "from leaving the previous stop until halting at
the exit stop" is the tap's stop_seq). No tap-out before `until` (boarding time plus the
city's `max_ride_minutes`), or a tap on another trip, ends the ride without refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from streams.parking_time import at, iso

STANDARD = "standard"  # TRN-6: co-passengers always travel at the standard class


class Fares(Protocol):
    """Prices of the city's distance tariff (the tariff kernel, through the rules)."""

    def deposit(self, entitlement: str, card_class: str) -> int: ...

    def refund(self, stops: int, entitlement: str, card_class: str) -> int: ...


TapKind = Literal["check_in", "check_out", "already_in"]


def current_ride(ride: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The ride still open at `now`; an overdue one is over, with no refund (TRN-2)."""
    if ride is None or at(ride["until"]) <= now:
        return None
    return ride


def classify_tap(ride: dict[str, Any] | None, trip_id: str, stop_seq: int) -> TapKind:
    """What a tap means, given the card's open ride (see the module's TRN-2 decision)."""
    if ride is None or ride["trip"] != trip_id:
        return "check_in"
    if stop_seq > ride["board_seq"]:
        return "check_out"
    return "already_in"  # the bus has not left the boarding stop: nothing to do


def ticket(
    ride_key: str, n: int, holder: str, entitlement: str, card_class: str, fares: Fares
) -> dict[str, Any]:
    return {
        "id": f"{ride_key}:{n}",
        "holder": holder,
        "entitlement": entitlement,
        "card_class": card_class,
        "deposit": fares.deposit(entitlement, card_class),
    }


def group_tickets(
    ride_key: str,
    own_entitlement: str,
    own_class: str,
    include_self: bool,
    co_passengers: list[tuple[str, int]],
    fares: Fares,
    first: int = 0,
) -> list[dict[str, Any]]:
    """TRN-6: "for me" at the card's class and entitlement, then each co-passenger's
    ticket at the standard class with the chosen entitlement."""
    wanted: list[tuple[str, str, str]] = []
    if include_self:
        wanted.append(("self", own_entitlement, own_class))
    for entitlement, count in co_passengers:
        wanted.extend(("co", entitlement, STANDARD) for _ in range(count))
    return [
        ticket(ride_key, first + n, holder, ent, cls, fares)
        for n, (holder, ent, cls) in enumerate(wanted)
    ]


def new_ride(
    trip_id: str,
    validator_id: str,
    stop_seq: int,
    now: datetime,
    max_ride: timedelta,
    tickets: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "trip": trip_id,
        "validator": validator_id,
        "board_seq": stop_seq,
        "at": iso(now),
        "until": iso(now + max_ride),
        "tickets": tickets,
    }


@dataclass(frozen=True)
class Refund:
    ticket: dict[str, Any]
    stops: int
    amount: int


def check_out(ride: dict[str, Any], stop_seq: int, fares: Fares) -> list[Refund]:
    """TRN-2, TRN-6: the refund of every ticket of the ride for the stops travelled."""
    stops = stop_seq - ride["board_seq"]
    if stops <= 0:
        raise ValueError("check-out needs a stop after the boarding stop")
    return [
        Refund(t, stops, fares.refund(stops, t["entitlement"], t["card_class"]))
        for t in ride["tickets"]
    ]


def has_own_ticket(ride: dict[str, Any]) -> bool:
    return any(t["holder"] == "self" for t in ride["tickets"])
