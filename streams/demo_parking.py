"""Demo traffic for the parking cities: `demo_events(city, start, n, seed) -> list[Event]`.

A plausible stream for `nis` (SMS to the zone short codes: first hours, extensions, day
tickets, now and then an unreadable message or a third red-zone hour that is refused) and
for the app cities `mobilet` and `zcs` (top-ups, stays paid by wallet or card, extensions,
early stops, plates saved). Deterministic for a given seed; events are in time order and
spread over a couple of hours after `start`. Zones and short codes come from the city's
config, so a new zone shows up in the demo without touching this module.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.app_parking.rules import products_by_zone
from streams.contract import Event, make_event
from streams.demo_time import city_demo, spread
from streams.sms_parking.codes import short_codes

_SERBIAN_LETTERS = "ABCDEFGHIJKLMNOPRSTUVZŠĐČĆŽ"
_LATIN = "ABCDEFGHJKLMNPRSTUVWXYZ"


def demo_events(
    city: str, start: datetime, n: int, seed: int = 0, *, ticks: bool = False
) -> list[Event]:
    """`n` events for `city` from `start` (aware) on; with `ticks`, a clock.tick every
    minute through the last event plus three hours (for event-clock workers)."""
    traffic = {"sms_parking": _sms_traffic, "app_parking": _app_traffic}
    return city_demo(city, start, n, seed, ticks=ticks, traffic=traffic, family="parking")


def _id(city: str, seed: int, n: int) -> str:
    return f"demo-{city}-{seed}-{n}"


def _sms_traffic(
    config: Any, start: datetime, n: int, rng: random.Random, seed: int
) -> list[Event]:
    codes = sorted(short_codes(config).values(), key=lambda c: c.number)
    hourly = [c for c in codes if not c.day_ticket]
    days = [c for c in codes if c.day_ticket]
    events: list[Event] = []
    count = 0

    def sms(at: datetime, to: str, text: str, msisdn: str) -> None:
        nonlocal count
        data = {
            "msisdn": msisdn,
            "to": to,
            "text": text,
            "operator": rng.choice(["mts", "a1", "yettel"]),
        }
        events.append(
            make_event(
                "sms.received",
                config.id,
                data,
                at,
                id=_id(config.id, seed, count),
                source="urn:demo:sms-gateway",
            )
        )
        count += 1

    while count < n:
        msisdn = f"3816{rng.randrange(10**7, 10**8)}"
        plate = "NI" + str(rng.randrange(100, 9999)) + "".join(rng.choices(_SERBIAN_LETTERS, k=2))
        shown = plate if rng.random() < 0.7 else f"{plate[:2].lower()} {plate[2:]}"
        at = spread(start, rng)
        roll = rng.random()
        if roll < 0.05:
            sms(at, rng.choice(codes).number, plate + "!?", msisdn)  # NIS-7: unreadable
        elif roll < 0.15 and days:
            sms(at, rng.choice(days).number, shown, msisdn)
        else:
            code = rng.choice(hourly)
            sms(at, code.number, shown, msisdn)
            # NIS-4: many drivers extend before the hour ends, some more than allowed.
            for extra in range(rng.choice([0, 0, 1, 1, 2, 3])):
                sms(at + timedelta(minutes=40 + 55 * extra), code.number, plate, msisdn)
    return events[:n] if len(events) > n else events


def _app_traffic(
    config: Any, start: datetime, n: int, rng: random.Random, seed: int
) -> list[Event]:
    zones = sorted(products_by_zone(config))
    payments = list(config.raw.get("app_parking", {}).get("payments", ["wallet"]))
    major = 10**config.minor_units
    events: list[Event] = []
    count = 0

    def emit(type_: str, at: datetime, data: dict[str, Any]) -> str:
        nonlocal count
        event_id = _id(config.id, seed, count)
        events.append(make_event(type_, config.id, data, at, id=event_id, source="urn:demo:app"))
        count += 1
        return event_id

    while count < n:
        account = f"demo{seed}-{rng.randrange(10**6)}"
        plate = "".join(rng.choices(_LATIN, k=2)) + str(rng.randrange(10000, 99999))
        at = spread(start, rng)
        payment = rng.choice(payments)
        if payment == "wallet":
            emit(
                "wallet.topup",
                at - timedelta(minutes=5),
                {
                    "account_id": account,
                    "amount": rng.choice([20, 50, 100]) * major,
                    "method": rng.choice(["card", "bank_transfer", "app"]),
                },
            )
        limit: dict[str, Any] = (
            {"max_minutes": rng.choice([30, 60, 90, 120])}
            if "card" in payments
            else {"end": (at + timedelta(minutes=rng.choice([20, 45, 60, 120, 600]))).isoformat()}
        )
        stay = emit(
            "parking.start",
            at,
            {
                "account_id": account,
                "plate": plate,
                "zone": rng.choice(zones),
                "payment": payment,
                **limit,
            },
        )
        roll = rng.random()
        if roll < 0.3:
            emit(
                "parking.extend",
                at + timedelta(minutes=15),
                {"account_id": account, "stay_id": stay, "minutes": 30},
            )
        if roll > 0.5:
            emit(
                "parking.stop",
                at + timedelta(minutes=rng.randrange(5, 25)),
                {"account_id": account, "stay_id": stay},
            )
    return events


if __name__ == "__main__":  # pragma: no cover - a quick look: python -m streams.demo_parking
    for event in demo_events("nis", datetime.now(UTC), 10, 1):
        print(event.to_json().decode())
