"""Which state owner an inbound event belongs to: its partition key.

Architecture rule: one partition key per state owner — the plate for SMS parking stays
and lockouts, the phone number for missed-call registrations, the card id for rides and
purses, the account id for app wallets and their stays. Producers key `events.raw` by
this too, so the events of one owner stay in order from the first hop.
"""

from __future__ import annotations

from streams.contract.envelope import Event
from streams.contract.events import (
    AccountPlate,
    CallMissed,
    CardCheck,
    CardEpurseTopup,
    CardGroup,
    CardOnlineOrder,
    CardSync,
    CardTap,
    CardTransfer,
    ClockTick,
    OperatorVerdict,
    ParkingExtend,
    ParkingStart,
    ParkingStop,
    SmsReceived,
    WalletTopup,
)
from streams.contract.plates import InvalidPlate, normalise_plate

SYSTEMS = ("sms_parking", "app_parking", "missed_call", "card_fare")

# Event types each kind of system accepts; anything else for that city is refused.
SYSTEM_EVENT_TYPES: dict[str, frozenset[str]] = {
    "sms_parking": frozenset({"sms.received", "operator.verdict", "clock.tick"}),
    "app_parking": frozenset(
        {
            "parking.start",
            "parking.extend",
            "parking.stop",
            "wallet.topup",
            "account.plate_added",
            "account.plate_removed",
            "clock.tick",
        }
    ),
    "missed_call": frozenset({"call.missed", "sms.received", "clock.tick"}),
    "card_fare": frozenset(
        {
            "card.tap",
            "card.group",
            "card.check",
            "card.transfer",
            "card.sync",
            "card.online_order",
            "card.epurse_topup",
            "clock.tick",
        }
    ),
}

BROADCAST = "*"  # clock ticks go to every partition of the system topic


def owner_key(event: Event, system: str) -> str:
    """The state owner of `event` in a city run by `system` (see module docstring)."""
    data = event.data
    if isinstance(data, ClockTick):
        return BROADCAST
    if isinstance(data, SmsReceived):
        if system == "sms_parking":
            try:
                return normalise_plate(data.text)
            except InvalidPlate:
                return data.msisdn  # unreadable: no plate owns it, the sender gets NIS-7
        return data.msisdn
    if isinstance(data, OperatorVerdict):
        try:
            return normalise_plate(data.plate)
        except InvalidPlate:
            return data.msisdn
    if isinstance(data, CallMissed):
        return data.msisdn
    if isinstance(data, ParkingStart | ParkingExtend | ParkingStop | WalletTopup | AccountPlate):
        return data.account_id
    if isinstance(
        data,
        CardTap
        | CardGroup
        | CardCheck
        | CardTransfer
        | CardSync
        | CardOnlineOrder
        | CardEpurseTopup,
    ):
        return data.card_id
    raise ValueError(f"no owner rule for {event.type}")


def routing_key(event: Event, system: str) -> str:
    """The Kafka key every producer gives `event` on `events.raw`: `city|owner`.

    Owners are only unique within a city (two app cities may both have account "42"),
    so the city is part of the key. Ticks are keyed `tick` and broadcast by the worker.
    """
    owner = owner_key(event, system)
    if owner == BROADCAST:
        return TICK_KEY
    return f"{event.city}|{owner}"


TICK_KEY = "tick"
