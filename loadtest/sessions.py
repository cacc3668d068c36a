"""What one arrival does in each kind of city: the events of one session, in event time.

A session is one person's visit: a Niš stay paid by SMS with its extensions (NIS-2/4/5),
a Hradec registration and ticket order (HKR-1..8), a Tarnów bus ride with its taps
(TRN-1..8), a moBILET or ZCS app stay with wallet top-ups (MOB-1..3, ZCS-2..8). Each
builder is a pure function of the city's parameters, a seeded random source, the person
and the arrival time; the little it must remember about a person between sessions (a
phone already registered, a card's transaction counter) lives in `Memory`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loadtest.population import Person, Population
from loadtest.scenario import CityModel
from streams.contract import Event, make_event


@dataclass
class Memory:
    """What the generator knows about people from their earlier sessions in this run."""

    registered: set[int] = field(default_factory=set)  # Hradec phones (HKR-1)
    funded: set[int] = field(default_factory=set)  # cards / accounts with money
    counters: dict[int, int] = field(default_factory=dict)  # card transaction counters
    visits: dict[int, int] = field(default_factory=dict)
    plates: dict[int, set[str]] = field(default_factory=dict)  # ZCS saved plates
    spent: dict[int, int] = field(default_factory=dict)  # Hradec total per registration
    busy_until: dict[int, datetime] = field(default_factory=dict)  # last event of a session


@dataclass
class Session:
    """Context of one arrival: builds its events with deterministic ids."""

    city: CityModel
    rng: random.Random
    person: Person
    at: datetime
    memory: Memory
    new_id: Callable[[], str]
    source: str
    events: list[Event] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # what this session means to cause

    def emit(self, type_: str, at: datetime, data: dict[str, Any]) -> Event:
        event = make_event(type_, self.city.id, data, at, id=self.new_id(), source=self.source)
        self.events.append(event)
        return event

    def weighted(self, table: dict[str, Any], key: str = "weight") -> str:
        names = list(table)
        weights = [
            float(v.get(key, 1.0)) if isinstance(v, dict) else float(v) for v in table.values()
        ]
        return self.rng.choices(names, weights)[0]

    def mixed(self, choices: list[str] | tuple[str, ...]) -> str:
        """One of `choices` (from the city config) weighted by the scenario's `mix` table;
        a choice the table leaves out is never drawn, no table means uniform."""
        mix = self.city.get("mix", default={}) or {}
        if not mix:
            return self.rng.choice(sorted(choices))
        table = {str(k): float(v) for k, v in mix.items() if str(k) in choices}
        return self.weighted(table)

    def chance(self, name: str) -> bool:
        return self.rng.random() < float(self.city.get(name, default=0.0))


def seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


# --- Niš: SMS parking ---------------------------------------------------------------


def nis_session(s: Session) -> None:
    codes = s.city.facts.sms_codes
    operators = s.city.get("operators", default={"op": 1.0})
    operator = s.weighted(operators)
    code = codes[s.mixed(tuple(codes))]
    plate = s.person.plate

    def sms(at: datetime, text: str) -> None:
        s.emit(
            "sms.received",
            at,
            {"msisdn": s.person.phone, "to": code.number, "text": text, "operator": operator},
        )

    if s.chance("unreadable"):
        s.kinds.append("unreadable")  # NIS-7
        sms(s.at, s.rng.choice([plate + "!", "PARKING " + plate, plate[:3] + "*" + plate[3:]]))
        return
    shown = plate
    if s.chance("lowercase_or_spaced"):
        shown = f"{plate[:2].lower()} {plate[2:5]} {plate[5:]}"  # NIS-1: still readable
    if code.day_ticket:
        s.kinds.append("day_ticket")  # NIS-14
        sms(s.at, shown)
        return
    wanted = int(s.weighted(s.city.get("hours_wanted", default={"1": 1.0})))
    hours = min(wanted, code.max_hours)
    if s.chance("over_max"):
        hours = code.max_hours + 1  # NIS-5: the extra hour is refused
        s.kinds.append("over_max")
    sms(s.at, shown)
    s.kinds.append("hour")
    paid_until = s.at + timedelta(hours=1)
    for _ in range(hours - 1):
        # NIS-4: the next SMS comes a few minutes before the paid hour ends.
        at = paid_until - timedelta(minutes=s.rng.uniform(2, 12))
        sms(at, plate)
        s.kinds.append("extension")
        paid_until += timedelta(hours=1)
    if s.chance("late_extension"):
        sms(paid_until + timedelta(minutes=s.rng.uniform(1, 20)), plate)
        s.kinds.append("late_extension")


# --- Hradec: missed-call tickets ------------------------------------------------------


def hradec_session(s: Session) -> None:
    facts = s.city.facts
    phone = s.person.phone
    operator = s.weighted(s.city.get("operators", default={"o2": 1.0}))
    t = s.at
    idx = s.person.index

    def call(at: datetime, to: str) -> None:
        s.emit("call.missed", at, {"msisdn": phone, "to": to})

    def sms(at: datetime, text: str) -> None:
        data = {"msisdn": phone, "to": facts.sms_number, "text": text, "operator": operator}
        s.emit("sms.received", at, data)

    def order(at: datetime) -> None:
        number = s.mixed(facts.ticket_numbers)
        price = facts.ticket_prices.get(number, 0)
        spent = s.memory.spent.get(idx, 0)
        if facts.registration_limit and spent + price > facts.registration_limit:
            # HKR-7: the limit is near; a careful passenger renews before ordering on.
            sms(at, facts.confirm_keyword)
            s.kinds.append("renewal")
            at += seconds(s.rng.uniform(5, 30))
            spent = 0
        s.memory.spent[idx] = spent + price
        call(at, number)

    if s.chance("help"):
        sms(t, facts.help_keyword)  # HKR-4
        s.kinds.append("help")
        return
    if s.chance("sms_order") and facts.sms_keywords:
        # HKR-8: bought by SMS keyword, not subject to 1+4, the limit or registration.
        sms(t, facts.sms_keywords[s.mixed(tuple(facts.sms_keywords))])
        s.kinds.append("sms_order")
        return
    if idx not in s.memory.registered:
        if s.chance("unregistered_order"):
            call(t, s.mixed(facts.ticket_numbers))  # HKR-3: refused, told how to register
            s.kinds.append("unregistered_order")
            return
        call(t, facts.registration_number)  # HKR-1
        t += seconds(s.rng.uniform(15, 90))
        sms(t, facts.confirm_keyword)
        t += seconds(s.rng.uniform(5, 60))
        s.memory.registered.add(idx)
        s.memory.spent[idx] = 0
        s.kinds.append("registration")
    if s.chance("pocket_burst"):
        # HKR-6: one more order than may be valid at once, all within a few minutes.
        for _ in range(facts.max_valid_tickets + 1):
            order(t)
            t += seconds(s.rng.uniform(3, 10))
        s.kinds.append("sixth_order")
        return
    order(t)
    s.kinds.append("order")
    if s.chance("stop"):
        sms(t + timedelta(minutes=s.rng.uniform(1, 30)), facts.stop_keyword)
        s.memory.registered.discard(idx)  # HKR-5
        s.kinds.append("stop")


# --- Tarnów: card taps on buses ----------------------------------------------------


def _next_counter(s: Session) -> int:
    value = s.memory.counters.get(s.person.index, 0) + 1
    s.memory.counters[s.person.index] = value
    return value


def tarnow_session(s: Session) -> None:
    person = s.person
    card = person.card_id
    t = s.at
    lines: dict[str, dict[str, Any]] = s.city.get("lines")
    line = s.rng.choice(sorted(lines))
    stops = int(lines[line]["stops"])
    bus = s.rng.randrange(int(lines[line].get("buses", 1)))
    validator = f"V-{line}-{bus:02d}"
    first = person.index not in s.memory.funded
    amounts = s.city.get("topup_amount", default=[5000])
    if first:
        s.memory.funded.add(person.index)
        if s.chance("unfunded"):
            s.kinds.append("unfunded")  # TRN-4: the tap below is refused, no funds
        else:
            # TRN-9: an online top-up waits in the back office until the card's next sync.
            s.emit(
                "card.online_order",
                t,
                {"card_id": card, "kind": "topup", "amount": int(s.rng.choice(amounts))},
            )
            t += seconds(s.rng.uniform(60, 600))
            s.emit("card.sync", t, {"card_id": card, "validator_id": validator})
            t += seconds(s.rng.uniform(10, 40))
            s.kinds.append("topup")
    if s.chance("epurse_topup"):
        amount = int(s.rng.choice(amounts))
        s.emit(
            "card.epurse_topup",
            t,
            {"card_id": card, "machine_id": f"PM-{s.rng.randrange(40):02d}", "amount": amount},
        )
        t += timedelta(minutes=s.rng.uniform(5, 60))
        s.emit("card.transfer", t, {"card_id": card, "validator_id": validator, "amount": amount})
        t += seconds(s.rng.uniform(10, 40))
        s.kinds.append("epurse_topup")
    board = s.rng.randrange(0, stops - 1)
    exit_ = s.rng.randrange(board + 1, stops)
    per_stop = float(s.city.get("minutes_per_stop", default=1.5))
    # A trip is one run of a bus from its first stop: line, bus and departure minute, so
    # passengers boarding the same bus at later stops share the trip (TRN-2).
    departure = t - timedelta(minutes=board * per_stop)
    trip = f"{line}-{bus:02d}-{departure:%Y%m%d%H%M}"
    common = {
        "card_id": card,
        "validator_id": validator,
        "trip_id": trip,
        "card_class": person.card_class,
        "entitlement": person.entitlement,
    }
    counter = _next_counter(s)
    if s.chance("group"):
        count = s.rng.randint(1, 4)
        co_passengers = [c for c in s.city.facts.rider_categories if c != "statutory_reduced"]
        s.emit(
            "card.group",
            t,
            {
                **common,
                "stop_seq": board,
                "counter": counter,
                "include_self": True,
                "tickets": [
                    {"entitlement": s.rng.choice(co_passengers or ["normal"]), "count": count}
                ],
            },
        )
        s.kinds.append("group")  # TRN-6
    else:
        s.emit("card.tap", t, {**common, "stop_seq": board, "counter": counter})
        s.kinds.append("check_in")
        if s.chance("uncertain_write"):
            # TRN-3: triple beep, the passenger taps again with the same counter.
            s.emit(
                "card.tap",
                t + seconds(s.rng.uniform(2, 8)),
                {**common, "stop_seq": board, "counter": counter},
            )
            s.kinds.append("repeated_tap")
    ride = timedelta(minutes=(exit_ - board) * per_stop)
    if s.chance("card_check"):
        s.emit("card.check", t + ride / 2, {"card_id": card, "validator_id": validator})
        s.kinds.append("card_check")  # TRN-7
    if s.chance("no_tap_out"):
        s.kinds.append("no_tap_out")  # TRN-2: no refund
        return
    s.emit(
        "card.tap",
        t + ride - seconds(s.rng.uniform(10, 50)),
        {**common, "stop_seq": exit_, "counter": _next_counter(s)},
    )
    s.kinds.append("check_out")


# --- moBILET and ZCS: app parking ------------------------------------------------------


def _maybe_topup(s: Session, t: datetime) -> datetime:
    """Top up a wallet on the first visit and every `topup_every` visits after it.

    Returns when the stay can start (after the top-up); an account that never tops up
    meets insufficient funds (MOB-1/ZCS-5).
    """
    idx = s.person.index
    visits = s.memory.visits.get(idx, 0)
    s.memory.visits[idx] = visits + 1
    if visits == 0:
        if s.chance("insufficient_funds"):
            s.kinds.append("insufficient_funds")
            return t
        s.memory.funded.add(idx)
    if idx not in s.memory.funded:
        return t
    if visits % int(s.city.get("topup_every", default=5)) == 0:
        method = s.rng.choice(["bank_transfer", "card", "e_transfer", "app"])
        amount = int(s.rng.choice(s.city.get("topup_amount", default=[5000])))
        s.emit(
            "wallet.topup",
            t,
            {"account_id": s.person.account_id, "amount": amount, "method": method},
        )
        s.kinds.append("topup")
        t += seconds(s.rng.uniform(20, 300))
    return t


def mobilet_session(s: Session) -> None:
    t = s.at
    account = s.person.account_id
    weights = s.city.get("payments", default={}) or {}
    # MOB-1: only what the city config offers; the scenario weights it.
    payment = s.weighted({p: float(weights.get(p, 1.0)) for p in s.city.facts.payments})
    if payment == "wallet":
        t = _maybe_topup(s, t)
    max_minutes = int(s.rng.choice(s.city.get("max_minutes", default=[60])))
    start = s.emit(
        "parking.start",
        t,
        {
            "account_id": account,
            "plate": s.person.plate,
            "zone": s.mixed(s.city.facts.zones),
            "payment": payment,
            "max_minutes": max_minutes,
        },
    )
    s.kinds.append(f"start_{payment}")
    if s.chance("extend"):
        s.emit(
            "parking.extend",
            t + timedelta(minutes=max_minutes * s.rng.uniform(0.5, 0.95)),
            {"account_id": account, "stay_id": start.id, "minutes": s.rng.choice([15, 30, 60])},
        )
        s.kinds.append("extend")
    elif s.chance("early_stop"):
        s.emit(
            "parking.stop",
            t + timedelta(minutes=max_minutes * s.rng.uniform(0.2, 0.9)),
            {"account_id": account, "stay_id": start.id},
        )
        s.kinds.append("early_stop")  # MOB-1: unused part of the hold released


def zcs_session(s: Session) -> None:
    t = s.at
    idx = s.person.index
    account = s.person.account_id
    saved = s.memory.plates.setdefault(idx, set())
    plate = s.person.plate
    if not saved or s.chance("new_plate"):
        if saved:
            plate = f"{plate[:-1]}{s.rng.choice('ABCDEFGH')}"
        if plate not in saved:
            s.emit("account.plate_added", t, {"account_id": account, "plate": plate})
            saved.add(plate)
            s.kinds.append("plate_added")  # ZCS-2
            t += seconds(s.rng.uniform(5, 40))
    t = _maybe_topup(s, t)
    minutes = int(s.rng.choice(s.city.get("stay_minutes", default=[60])))
    data: dict[str, Any] = {
        "account_id": account,
        "plate": plate,
        "zone": s.mixed(s.city.facts.zones),
        "payment": "wallet",
        "end": (t + timedelta(minutes=minutes)).isoformat(),
    }
    if s.chance("requested_start_early"):
        data["requested_start"] = (t - timedelta(minutes=s.rng.uniform(1, 5))).isoformat()
    start = s.emit("parking.start", t, data)
    s.kinds.append("start_wallet")
    if s.chance("extend"):
        s.emit(
            "parking.extend",
            t + timedelta(minutes=minutes * s.rng.uniform(0.5, 0.95)),
            {
                "account_id": account,
                "stay_id": start.id,
                "end": (t + timedelta(minutes=minutes + s.rng.choice([15, 30, 60]))).isoformat(),
            },
        )
        s.kinds.append("extend")
    elif s.chance("early_stop"):
        s.emit(
            "parking.stop",
            t + timedelta(minutes=minutes * s.rng.uniform(0.2, 0.9)),
            {"account_id": account, "stay_id": start.id},
        )
        s.kinds.append("early_stop")  # ZCS-8: unused part refunded


def builder_for(city: CityModel) -> Callable[[Session], None]:
    """The session builder of a city: by system, and for app cities by payment style."""
    if city.system == "sms_parking":
        return nis_session
    if city.system == "missed_call":
        return hradec_session
    if city.system == "card_fare":
        return tarnow_session
    if "max_minutes" in city.params:
        return mobilet_session  # chosen maximum validity (MOB-3)
    return zcs_session  # entered end (ZCS-3)


def population_for(city: CityModel, seed: int) -> Population:
    prefixes = {
        "sms_parking": ("NI", "381"),
        "missed_call": ("HK", "420"),
        "card_fare": ("KT", "48"),
        "app_parking": ("KR", "48"),
    }
    plate_prefix, phone_prefix = prefixes[city.system]
    return Population(
        city.id,
        seed,
        city.population,
        city.regulars,
        city.repeat_share,
        plate_prefix=str(city.get("plate_prefix", default=plate_prefix)),
        phone_prefix=str(city.get("phone_prefix", default=phone_prefix)),
        account_prefix=str(city.get("account_prefix", default=city.id)),
        premium_share=float(city.get("premium_share", default=0.0)),
        entitlements=city.get("entitlements"),
    )
