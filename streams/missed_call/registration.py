"""A phone number's registration for ordering by missed call (HKR-1, HKR-5, HKR-7).

State: `None` (not registered) or `{"status", "since", "total"}` where status is
`pending` (called 910 301 000, waiting for ANO HKR), `active` (missed-call ordering on)
or `suspended` (the financial limit was reached, HKR-7); `total` is the money charged by
missed call since registration or the last renewal, in minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.parking_time import iso

Registration = dict[str, Any] | None


@dataclass(frozen=True)
class Change:
    """A new registration and the reply template that tells the phone about it."""

    registration: Registration
    template: str
    rule: str
    refused: bool = False


def can_order_by_call(registration: Registration) -> bool:
    return registration is not None and registration["status"] == "active"


def registration_call(registration: Registration, now: datetime) -> Change:
    """HKR-1: a missed call to the registration number asks for confirmation.

    An active phone is told it is registered already; a suspended one starts a full
    re-registration (HKR-7 decision), keeping nothing of the old total.
    """
    if can_order_by_call(registration):
        return Change(registration, "already_registered", "HKR-1")
    return Change({"status": "pending", "since": iso(now), "total": 0}, "confirm_request", "HKR-1")


def confirm(registration: Registration, now: datetime) -> Change:
    """`ANO HKR`: completes a registration (welcome) or renews a suspended one (HKR-7)."""
    if registration is None:
        return Change(None, "confirm_unexpected", "HKR-1", refused=True)
    status = registration["status"]
    if status == "pending":
        return Change({"status": "active", "since": iso(now), "total": 0}, "welcome", "HKR-1")
    if status == "suspended":
        return Change({"status": "active", "since": iso(now), "total": 0}, "renewed", "HKR-7")
    return Change(registration, "already_registered", "HKR-1")


def stop(registration: Registration) -> Change:
    """HKR-5: `STOP HKR` removes the phone from the service (its tickets stay valid)."""
    return Change(None, "stopped", "HKR-5", refused=registration is None)


def add_to_total(registration: dict[str, Any], amount: int) -> dict[str, Any]:
    return {**registration, "total": registration["total"] + amount}


def suspend(registration: dict[str, Any], now: datetime) -> dict[str, Any]:
    """HKR-7: missed-call ordering stops until `ANO HKR` renews it."""
    return {**registration, "status": "suspended", "suspended_at": iso(now)}
