"""Buying parking time by SMS: a new stay, a contiguous extension, or a refusal.

A *stay* is the contiguous paid time of one plate in one zone, made of one or more
tickets (one per SMS, NIS-4). Its state, `stays[key]` with key `zone` for hourly tickets
and `zone:day` for day tickets: `{"zone", "product", "start", "end", "paid_minutes",
"bought_at", "msisdn", "tickets": [ticket ids], "warned_for": iso | None}`.
Prices and end times come only from the tariff kernel (`quote_stay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.parking_time import at
from streams.sms_parking.codes import ShortCode
from streams.sms_parking.lockout import lockout_until
from tariff_kernel import quote_stay


@dataclass(frozen=True)
class Purchase:
    """An accepted SMS: what the new ticket covers and the stay it belongs to."""

    stay_key: str
    start: datetime
    end: datetime
    price: int
    currency: str
    minutes: int
    paid_minutes: int  # of the whole stay, this ticket included
    extension: bool
    carried_over: bool
    reaches_max_stay: bool
    no_return_minutes: int | None


@dataclass(frozen=True)
class Refusal:
    """A refused SMS (NIS-5): nothing is charged; the reply says why and until when."""

    rule: str
    reason: str
    template: str
    possible_from: datetime | None


def stay_key(code: ShortCode) -> str:
    return f"{code.zone}:day" if code.day_ticket else code.zone


def running_stay(stays: dict[str, Any], key: str, now: datetime) -> dict[str, Any] | None:
    """The stay under `key` whose paid time has not ended at `now` (NIS-4)."""
    stay = stays.get(key)
    if stay is None or at(stay["end"]) <= now:
        return None
    return stay


def decide_purchase(
    city: Any,
    code: ShortCode,
    stays: dict[str, Any],
    lockouts: dict[str, Any],
    now: datetime,
) -> Purchase | Refusal:
    """NIS-4, NIS-5, NIS-11, NIS-13, NIS-14 for one SMS sent to `code` at `now`."""
    key = stay_key(code)
    stay = running_stay(stays, key, now)
    if stay is not None:
        stay_end = at(stay["end"])
        if code.day_ticket:
            # NIS-14: one day ticket covers the rest of the charging day; a second is refused.
            return Refusal(
                "NIS-14",
                "a day ticket for this zone is already valid",
                "refusal_already_paid",
                stay_end,
            )
        quote = quote_stay(
            city, code.product, stay_end, minutes=60, paid_minutes_before=stay["paid_minutes"]
        )
        if quote.carried_over:
            # NIS-13: the paid time ended with the charging day; the next hour is the first
            # of a new stay on the next charging day (NIS-11).
            quote = quote_stay(city, code.product, stay_end, minutes=60)
            return _purchase(key, quote, 0, extension=False)
        if quote.exceeds_max_stay:
            possible = _after_no_return(stay_end, quote.no_return_minutes)
            return Refusal(
                "NIS-5",
                f"the maximum stay of {quote.max_stay_minutes} minutes in this zone is used",
                "refusal_max_stay",
                possible,
            )
        return _purchase(key, quote, stay["paid_minutes"], extension=True)
    blocked = lockout_until(lockouts, code.zone, now)
    if blocked is not None:
        return Refusal(
            "NIS-5",
            "the vehicle must leave this zone for the no-return time after its maximum stay",
            "refusal_lockout",
            blocked,
        )
    quote = quote_stay(city, code.product, now, minutes=60)
    if quote.exceeds_max_stay:
        return Refusal(
            "NIS-5",
            f"the maximum stay of {quote.max_stay_minutes} minutes in this zone is used",
            "refusal_max_stay",
            None,
        )
    return _purchase(key, quote, 0, extension=False)


def _after_no_return(end: datetime, no_return_minutes: int | None) -> datetime:
    return end + timedelta(minutes=no_return_minutes or 0)


def _purchase(key: str, quote: Any, paid_before: int, *, extension: bool) -> Purchase:
    paid = paid_before + quote.minutes
    reaches_max = (
        not key.endswith(":day")
        and quote.max_stay_minutes is not None
        and paid >= quote.max_stay_minutes
    )
    return Purchase(
        stay_key=key,
        start=quote.start,
        end=quote.end,
        price=quote.price,
        currency=quote.currency,
        minutes=quote.minutes,
        paid_minutes=paid,
        extension=extension,
        carried_over=quote.carried_over,
        reaches_max_stay=reaches_max,
        no_return_minutes=quote.no_return_minutes,
    )
