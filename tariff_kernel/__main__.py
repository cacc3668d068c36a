"""`python -m tariff_kernel quote ...`: one price as JSON, for operators and scripts.

    python -m tariff_kernel quote --city nis --product 9181 \
        --start 2026-11-24T10:00:00+01:00 --minutes 120
    python -m tariff_kernel quote --city tarnow --product ride --start ... \
        --stops 7 --entitlement normal --card-class standard

Prints one JSON object (`price` in minor units, `currency`, `start` and `end` in the city's
UTC offset, `breakdown`; for a ride also `deposit`, `fare`, `refund`). A request the tariff
refuses, or cannot price, exits with status 2 and `{"error": ..., "rule": ...}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from tariff_kernel import pricing
from tariff_kernel.config import load_city
from tariff_kernel.model import CityConfig, TariffError


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset (e.g. +01:00)")
    return moment


def _iso(moment: datetime, city: CityConfig) -> str:
    return moment.astimezone(ZoneInfo(city.timezone)).isoformat()


def _jsonable(value: object, city: CityConfig) -> object:
    if isinstance(value, datetime):
        return _iso(value, city)
    if isinstance(value, dict):
        return {k: _jsonable(v, city) for k, v in value.items()}
    return value


def quote(args: argparse.Namespace) -> dict[str, object]:
    city = load_city(args.city)
    if args.stops is not None:
        if args.entitlement is None or args.card_class is None:
            raise TariffError("a ride needs --stops, --entitlement and --card-class")
        deposit = pricing.check_in_deposit(city, args.entitlement, args.card_class)
        fare = pricing.ride_fare(city, args.stops, args.entitlement, args.card_class)
        return {
            "city": city.id,
            "product": args.product,
            "price": fare,
            "currency": city.currency,
            "start": _iso(args.start, city),
            "end": _iso(args.start, city),
            "deposit": deposit,
            "fare": fare,
            "refund": deposit - fare,
            "stops": args.stops,
            "breakdown": [{"deposit": deposit}, {"refund": -(deposit - fare)}],
        }
    if args.product in city.transit.products:
        product = pricing.transit_product(city, args.product)
        end = pricing.ticket_valid_until(city, product.id, args.start)
        return {
            "city": city.id,
            "product": product.id,
            "price": product.amount,
            "currency": product.currency,
            "start": _iso(args.start, city),
            "end": _iso(end, city),
            "breakdown": [{"product": product.name, "amount": product.amount}],
        }
    q = pricing.quote_stay(
        city,
        args.product,
        args.start,
        minutes=args.minutes,
        end=args.end,
        amount=args.amount,
        breakdown=True,
    )
    if q.exceeds_max_stay:
        rule = city.raw["city"].get("max_stay_rule", "max_stay")
        raise TariffError(
            f"the stay would exceed the maximum stay of {q.max_stay_minutes} minutes in zone "
            f"{city.product(args.product).zone!r}",
            rule=rule,
        )
    return {
        "city": city.id,
        "product": args.product,
        "price": q.price,
        "currency": q.currency,
        "start": _iso(q.start, city),
        "end": _iso(q.end, city),
        "minutes": q.minutes,
        "carried_over": q.carried_over,
        "capped": q.capped,
        "minimum_applied": q.minimum_applied,
        "breakdown": [_jsonable(part, city) for part in q.breakdown],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tariff_kernel")
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quote", help="price one purchase or ride, JSON out")
    q.add_argument("--city", required=True)
    q.add_argument("--product", required=True, help="short code, called number, zone or area")
    q.add_argument("--start", required=True, type=_time, help="ISO 8601 with offset")
    how = q.add_mutually_exclusive_group()
    how.add_argument("--minutes", type=int)
    how.add_argument("--end", type=_time)
    how.add_argument("--amount", type=int, help="minor units: the end this amount buys")
    q.add_argument("--stops", type=int)
    q.add_argument("--entitlement")
    q.add_argument("--card-class")
    args = parser.parse_args(argv)
    try:
        result = quote(args)
    except TariffError as exc:
        print(json.dumps({"error": str(exc), "rule": exc.rule}, ensure_ascii=False))
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
