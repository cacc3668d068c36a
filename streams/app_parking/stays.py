"""App stays: what a start, an extension or a stop costs (MOB-1..3, ZCS-3, ZCS-4, ZCS-6..8).

A stay starts when it is confirmed (the event's time, ZCS-4), is clamped to the area's
charging hours and priced with its minimum and maximum cost by the tariff kernel
(`quote_stay`), and is always priced as a whole from its start: an extension pays the
difference between the new whole price and what was paid (so ZCS-6's cap holds across
extensions), a stop pays the real time used (MOB-2, per minute) and gets the rest back.

A stay in state: `{"id", "plate", "zone", "product", "payment", "start", "end",
"requested_start", "paid", "state": running|stopped|ended, "stopped_at", "cost",
"capped", "minimum_applied"}`; `paid` is what the wallet paid or the card holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.parking_time import at
from tariff_kernel import quote_stay


@dataclass(frozen=True)
class Plan:
    """The whole stay as priced now: from `start` to `end` for `price`."""

    start: datetime
    end: datetime
    price: int
    currency: str
    capped: bool
    minimum_applied: bool


@dataclass(frozen=True)
class Refusal:
    """`kind` names the refusal; each city's config says which rule id it cites."""

    kind: str
    reason: str


def _plan(quote: Any) -> Plan:
    return Plan(
        start=quote.start,
        end=quote.end,
        price=quote.price,
        currency=quote.currency,
        capped=quote.capped,
        minimum_applied=quote.minimum_applied,
    )


def plan_start(
    city: Any,
    product: str,
    now: datetime,
    *,
    max_minutes: int | None = None,
    end: datetime | None = None,
) -> Plan | Refusal:
    """MOB-3 (start for a chosen maximum) or ZCS-3/ZCS-4 (start now, until an end)."""
    if end is not None:
        if end <= now:
            return Refusal(
                "end_before_start", "the end must be after the start (the confirmation time)"
            )
        quote = quote_stay(city, product, now, end=end)
    else:
        quote = quote_stay(city, product, now, minutes=max_minutes)
    if quote.end <= quote.start:
        return Refusal("no_charging_time", "charging is not in force between the start and the end")
    return _plan(quote)


def plan_extension(
    city: Any,
    stay: dict[str, Any],
    now: datetime,
    *,
    minutes: int | None = None,
    end: datetime | None = None,
) -> Plan | Refusal:
    """MOB-2 / ZCS-8: the stay priced as a whole to its new end."""
    if stay["state"] != "running" or at(stay["end"]) <= now:
        return Refusal("stay_ended", "the stay has already ended")
    current_end = at(stay["end"])
    new_end = end if end is not None else current_end + timedelta(minutes=minutes or 0)
    if new_end <= current_end:
        return Refusal("not_later", "an extension must end after the current end")
    quote = quote_stay(city, stay["product"], at(stay["start"]), end=new_end)
    if quote.end <= current_end:
        # ZCS-3 / ZCS-6: the area's charging hours or maximum cost already cover it.
        return Refusal("at_latest_end", "the stay already runs to the latest end the area allows")
    return _plan(quote)


def cost_until(city: Any, stay: dict[str, Any], moment: datetime) -> int:
    """The real cost of the stay ended at `moment` (MOB-2 per minute, ZCS-7 minimum),
    never more than was paid."""
    start = at(stay["start"])
    if moment <= start:
        return 0  # stopped before its (clamped) start: nothing was used
    end = min(moment, at(stay["end"]))
    return min(quote_stay(city, stay["product"], start, end=end).price, stay["paid"])


def running(stay: dict[str, Any], now: datetime) -> bool:
    return stay["state"] == "running" and at(stay["end"]) > now
