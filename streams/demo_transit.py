"""Demo traffic for the transit cities: `demo_events(city, start, n, seed) -> list[Event]`.

A plausible stream for `hradec` (phones registering by a missed call and ANO HKR, tickets
ordered by missed call and by SMS keyword, now and then HELP, STOP, an unregistered
caller or a 6th ticket refused by voice) and for `tarnow` (cash into the e-purse and a
transfer, or an online top-up written at a sync; rides checked in and out at random
distances, some never checked out, a repeated tap after an uncertain write, group
tickets, card checks). Deterministic for a given seed; events in time order over a
couple of hours after `start`. Numbers, keywords and products come from the city's
config, so a new product shows up in the demo without touching this module.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.contract import Event, make_event
from streams.demo_time import city_demo, spread

ENTITLEMENTS = ("normal", "normal", "normal", "local_reduced", "statutory_reduced")


def demo_events(
    city: str, start: datetime, n: int, seed: int = 0, *, ticks: bool = False
) -> list[Event]:
    """`n` events for `city` from `start` (aware) on; with `ticks`, a clock.tick every
    minute through the last event plus three hours (for event-clock workers)."""
    traffic = {"missed_call": _missed_call_traffic, "card_fare": _card_traffic}
    return city_demo(city, start, n, seed, ticks=ticks, traffic=traffic, family="transit")


class _Emitter:
    def __init__(self, city: str, seed: int, source: str) -> None:
        self.city, self.seed, self.source = city, seed, source
        self.events: list[Event] = []

    def __call__(self, type_: str, at: datetime, data: dict[str, Any]) -> None:
        event_id = f"demo-{self.city}-{self.seed}-{len(self.events)}"
        self.events.append(make_event(type_, self.city, data, at, id=event_id, source=self.source))


def _missed_call_traffic(
    config: Any, start: datetime, n: int, rng: random.Random, seed: int
) -> list[Event]:
    section = config.raw["missed_call"]
    register, sms_number = str(section["registration_number"]), str(section["sms_number"])
    products = sorted(config.transit.products)
    keywords = sorted(section.get("sms_orders", {}))
    emit = _Emitter(config.id, seed, "urn:demo:telco")

    def call(at: datetime, msisdn: str, to: str) -> None:
        emit("call.missed", at, {"msisdn": msisdn, "to": to})

    def sms(at: datetime, msisdn: str, text: str) -> None:
        operator = rng.choice(["o2", "t-mobile", "vodafone"])
        emit(
            "sms.received",
            at,
            {"msisdn": msisdn, "to": sms_number, "text": text, "operator": operator},
        )

    while len(emit.events) < n:
        msisdn = f"4206{rng.randrange(10**7, 10**8)}"
        at = spread(start, rng)
        roll = rng.random()
        if roll < 0.1:
            call(at, msisdn, rng.choice(products))  # HKR-3: not registered
            continue
        if roll < 0.25 and keywords:
            sms(at, msisdn, rng.choice(keywords).lower())  # HKR-8: by SMS, no registration
            continue
        call(at, msisdn, register)
        sms(
            at + timedelta(seconds=rng.randrange(20, 90)),
            msisdn,
            rng.choice(["ANO HKR", "ano hkr"]),
        )
        at += timedelta(minutes=2)
        for _ in range(rng.choice([1, 1, 2, 3, 6])):  # six in a row: HKR-6 refuses one
            call(at, msisdn, rng.choice(products))
            at += timedelta(minutes=rng.randrange(1, 15))
        if rng.random() < 0.1:
            sms(at, msisdn, "HELP HKR")
        if rng.random() < 0.05:
            sms(at + timedelta(minutes=1), msisdn, "STOP HKR")
    return emit.events


def _card_traffic(
    config: Any, start: datetime, n: int, rng: random.Random, seed: int
) -> list[Event]:
    emit = _Emitter(config.id, seed, "urn:demo:validators")
    major = 10**config.minor_units
    trips = [f"L{line}-{rng.randrange(600, 2000)}" for line in range(1, 13)]
    cards = 0
    while len(emit.events) < n:
        card = f"TRN-{seed}-{cards:05d}"
        cards += 1
        at = spread(start, rng)
        _fund(emit, rng, card, at, major)
        holder = {
            "card_class": "premium" if rng.random() < 0.3 else "standard",
            "entitlement": rng.choice(ENTITLEMENTS),
        }
        counter = rng.randrange(1, 500)
        for _ in range(rng.choice([1, 1, 2, 3])):
            validator = f"V-{rng.randrange(1, 60)}"
            board = rng.randrange(0, 20)
            ride = {"card_id": card, "validator_id": validator, "trip_id": rng.choice(trips)}
            boarding = {**ride, **holder, "stop_seq": board, "counter": counter}
            if rng.random() < 0.1:  # TRN-6: a group with the card's owner
                co = {"entitlement": rng.choice(ENTITLEMENTS), "count": rng.randrange(1, 3)}
                emit("card.group", at, {**boarding, "include_self": True, "tickets": [co]})
            else:
                emit("card.tap", at, boarding)
                if rng.random() < 0.05:  # TRN-3: uncertain write, tapped again
                    emit("card.tap", at + timedelta(seconds=3), boarding)
            counter += 1
            stops = rng.randrange(1, 32)
            at += timedelta(minutes=2 * stops)
            if rng.random() < 0.85:  # TRN-2: most passengers check out
                emit("card.tap", at, {**boarding, "stop_seq": board + stops, "counter": counter})
                counter += 1
            if rng.random() < 0.15:  # TRN-7
                check = {"card_id": card, "validator_id": validator}
                emit("card.check", at + timedelta(seconds=20), check)
            at += timedelta(minutes=rng.randrange(5, 60))
    return emit.events


def _fund(emit: _Emitter, rng: random.Random, card: str, at: datetime, major: int) -> None:
    """Cash at a parking meter moved to the t-purse (TRN-8), or an online top-up (TRN-9)."""
    if rng.random() < 0.7:
        amount = rng.choice([20, 50, 100]) * major
        cash = {"card_id": card, "machine_id": "P-1", "amount": amount}
        emit("card.epurse_topup", at - timedelta(minutes=30), cash)
        move = {"card_id": card, "validator_id": "V-0", "amount": amount}
        emit("card.transfer", at - timedelta(minutes=29), move)
    else:
        amount = rng.choice([20, 50]) * major
        order = {"card_id": card, "kind": "topup", "amount": amount}
        emit("card.online_order", at - timedelta(hours=1), order)
        emit("card.sync", at - timedelta(minutes=1), {"card_id": card, "validator_id": "V-0"})


if __name__ == "__main__":  # pragma: no cover - a quick look: python -m streams.demo_transit
    for city in ("hradec", "tarnow"):
        for event in demo_events(city, datetime.now(UTC), 8, 1):
            print(event.to_json().decode())
