"""Inbound event types and the shape of their `data` (the event contract, docs/events.md).

Every inbound event is a CloudEvents 1.0 structured-mode JSON object (see envelope.py);
this module owns what goes inside `data` for each `type`. Amounts are integers in minor
units of the city's currency. Unknown fields are refused so a typo never passes silently.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_MSISDN = re.compile(r"^\+?[0-9]{6,15}$")
_DIGITS = re.compile(r"^[0-9]{3,15}$")


def _msisdn(value: str) -> str:
    compact = re.sub(r"[\s\-]", "", value)
    if not _MSISDN.match(compact):
        raise ValueError("must be a phone number of 6 to 15 digits, optionally with a leading +")
    return compact


def _number(value: str) -> str:
    # Called numbers and short codes are printed with spaces ("910 301 001").
    compact = re.sub(r"\s", "", value)
    if not _DIGITS.match(compact):
        raise ValueError("must be a number of 3 to 15 digits")
    return compact


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset")
    return value


Msisdn = Annotated[str, AfterValidator(_msisdn)]
DialledNumber = Annotated[str, AfterValidator(_number)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
MinorUnits = Annotated[int, Field(gt=0, le=10**12, strict=True)]
CardClass = Literal["standard", "premium"]
Entitlement = Literal["normal", "local_reduced", "statutory_reduced"]


class EventData(BaseModel):
    """Base of every `data` model: unknown fields are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SmsReceived(EventData):
    """An SMS arrived from a subscriber at one of the city's numbers (NIS-1, HKR-1, HKR-8)."""

    msisdn: Msisdn
    to: DialledNumber
    text: Annotated[str, Field(max_length=1600)]
    operator: Annotated[str, Field(min_length=1, max_length=64)]


class CallMissed(EventData):
    """A missed call from a subscriber to one of the city's numbers (HKR-1, HKR-2)."""

    msisdn: Msisdn
    to: DialledNumber


class OperatorVerdict(EventData):
    """The mobile operator's answer about a charged SMS, about 3 minutes later (NIS-9)."""

    msisdn: Msisdn
    plate: Annotated[str, Field(min_length=1, max_length=32)]
    pin: Annotated[str, Field(min_length=1, max_length=32)]
    accepted: bool
    reason: Annotated[str, Field(max_length=256)] | None = None


class Position(EventData):
    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]


class ParkingStart(EventData):
    """Start an app stay (MOB-3, ZCS-3, ZCS-4). The stay's id is this event's `id`.

    Exactly one of `max_minutes` (moBILET: the chosen maximum validity, used for the card
    hold) and `end` (ZCS: the end the driver entered) is given.
    """

    account_id: Identifier
    plate: Annotated[str, Field(min_length=1, max_length=32)]
    zone: Identifier
    payment: Literal["wallet", "card"]
    max_minutes: Annotated[int, Field(gt=0, le=7 * 24 * 60, strict=True)] | None = None
    end: AwareDatetime | None = None
    requested_start: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_limit(self) -> ParkingStart:
        if (self.max_minutes is None) == (self.end is None):
            raise ValueError("give exactly one of max_minutes and end")
        return self


class ParkingExtend(EventData):
    """Extend a running app stay by minutes or to a new end (MOB-2, ZCS-8)."""

    account_id: Identifier
    stay_id: Identifier
    minutes: Annotated[int, Field(gt=0, le=7 * 24 * 60, strict=True)] | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_limit(self) -> ParkingExtend:
        if (self.minutes is None) == (self.end is None):
            raise ValueError("give exactly one of minutes and end")
        return self


class ParkingStop(EventData):
    """Stop an app stay now; unused paid time is refunded or released (MOB-1, ZCS-8)."""

    account_id: Identifier
    stay_id: Identifier


class WalletTopup(EventData):
    """Money paid into an account's prepaid wallet (MOB-1, ZCS-5)."""

    account_id: Identifier
    amount: MinorUnits
    method: Literal["bank_transfer", "card", "e_transfer", "app", "cash"]


class AccountPlate(EventData):
    """Save or delete a plate in an account's registry (ZCS-2); stays are never deleted."""

    account_id: Identifier
    plate: Annotated[str, Field(min_length=1, max_length=32)]


class CardTap(EventData):
    """A tap on a bus validator: check-in, or check-out within the same trip (TRN-1..5).

    `counter` is the card's transaction counter (TRN-3): a repeated tap carrying the
    counter of an operation that already succeeded never charges twice.
    """

    card_id: Identifier
    validator_id: Identifier
    trip_id: Identifier
    stop_seq: Annotated[int, Field(ge=0, le=10_000, strict=True)]
    counter: Annotated[int, Field(ge=0, strict=True)]
    card_class: CardClass
    entitlement: Entitlement


class GroupTickets(EventData):
    entitlement: Entitlement
    count: Annotated[int, Field(gt=0, le=50, strict=True)]


class CardGroup(EventData):
    """A group purchase confirmed by a tap (TRN-6): "for me" plus co-passengers' tickets.

    Co-passengers always travel at the standard class; the owner's own ticket uses the
    card's class and entitlement.
    """

    card_id: Identifier
    validator_id: Identifier
    trip_id: Identifier
    stop_seq: Annotated[int, Field(ge=0, le=10_000, strict=True)]
    counter: Annotated[int, Field(ge=0, strict=True)]
    card_class: CardClass
    entitlement: Entitlement
    include_self: bool
    tickets: Annotated[list[GroupTickets], Field(max_length=10)]

    @model_validator(mode="after")
    def _someone_travels(self) -> CardGroup:
        if not self.include_self and not self.tickets:
            raise ValueError("a group purchase needs include_self or at least one ticket")
        return self


class CardCheck(EventData):
    """Card check at a validator: purses, period ticket, tickets of this ride (TRN-7)."""

    card_id: Identifier
    validator_id: Identifier


class CardTransfer(EventData):
    """Move money from the e-purse to the t-purse at a validator (TRN-8)."""

    card_id: Identifier
    validator_id: Identifier
    amount: MinorUnits


class CardSync(EventData):
    """The card sits in the validator's slot to receive pending online orders (TRN-9).

    `completed` is false when the card was removed before the write finished: nothing is
    written and everything stays pending.
    """

    card_id: Identifier
    validator_id: Identifier
    completed: bool = True


class CardOnlineOrder(EventData):
    """A back-office order waiting for the card's next sync (TRN-9)."""

    card_id: Identifier
    kind: Literal["topup", "period_ticket", "complaint_refund"]
    amount: MinorUnits
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _period_has_dates(self) -> CardOnlineOrder:
        if self.kind == "period_ticket":
            if self.valid_from is None or self.valid_until is None:
                raise ValueError("a period_ticket needs valid_from and valid_until")
            if self.valid_until <= self.valid_from:
                raise ValueError("valid_until must be after valid_from")
        return self


class CardEpurseTopup(EventData):
    """Cash paid into a card's e-purse, e.g. at a parking meter (TRN-8)."""

    card_id: Identifier
    machine_id: Identifier
    amount: MinorUnits


class ClockTick(EventData):
    """Advances event time for timed actions (warnings, expiry, lockout end) in a city."""


DATA_MODELS: dict[str, type[EventData]] = {
    "sms.received": SmsReceived,
    "call.missed": CallMissed,
    "operator.verdict": OperatorVerdict,
    "parking.start": ParkingStart,
    "parking.extend": ParkingExtend,
    "parking.stop": ParkingStop,
    "wallet.topup": WalletTopup,
    "account.plate_added": AccountPlate,
    "account.plate_removed": AccountPlate,
    "card.tap": CardTap,
    "card.group": CardGroup,
    "card.check": CardCheck,
    "card.transfer": CardTransfer,
    "card.sync": CardSync,
    "card.online_order": CardOnlineOrder,
    "card.epurse_topup": CardEpurseTopup,
    "clock.tick": ClockTick,
}

EVENT_TYPES: tuple[str, ...] = tuple(DATA_MODELS)
