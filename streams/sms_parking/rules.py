"""Niš SMS parking as a stream system: events and clock in, replies, money and validity out.

Owner: the normalised plate (an unreadable SMS is owned by its sender's number). The
plate's state: `{"plate", "tickets": [...] (tickets.py), "stays": {...} (stays.py),
"lockouts": {...} (lockout.py)}`. Everything here wires the pure deciders of the sibling
modules to the engine's `decide` / `on_clock`; no rule lives only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.contract import Event, LedgerEntry, Notification, Outcome, validity_key
from streams.contract.events import OperatorVerdict, SmsReceived
from streams.contract.plates import InvalidPlate, normalise_plate
from streams.parking_time import at, earliest, iso
from streams.replies import Replies
from streams.runtime.rules import Output, Step, TicketNumbers, ValidityRemoved, outcome_of
from streams.sms_parking import lockout, tickets, verdicts, warnings
from streams.sms_parking.codes import ShortCode, short_codes
from streams.sms_parking.pins import (
    PIN_DIGITS,
    PinSpaceExhausted,
    normalise_pin,
    pin_for,
    pin_key,
)
from streams.sms_parking.stays import Purchase, Refusal, decide_purchase
from tariff_kernel import TariffError, load_city

TEMPLATES = (
    "confirmation",
    "confirmation_extension",
    "confirmation_carried",
    "refusal_max_stay",
    "refusal_lockout",
    "refusal_already_paid",
    "unreadable",
    "unknown_number",
    "unavailable",
    "revoked",
    "warning",
)


@dataclass(frozen=True)
class SmsCity:
    """What the Niš rules need of one city's configuration, loaded once."""

    config: Any  # tariff_kernel.CityConfig
    replies: Replies
    codes: dict[str, ShortCode]
    pin_key: bytes
    verdict_window: timedelta
    warning_before: timedelta

    @classmethod
    def load(cls, city_id: str) -> SmsCity:
        config = load_city(city_id)
        replies = Replies.of(config)
        replies.require(TEMPLATES)
        settings = config.raw.get("sms_parking", {})
        codes = short_codes(config)
        if not codes:
            raise ValueError(f"city {city_id!r} has no SMS short codes in its products")
        return cls(
            config=config,
            replies=replies,
            codes=codes,
            pin_key=pin_key(),
            verdict_window=timedelta(minutes=int(settings.get("verdict_window_minutes", 10))),
            warning_before=timedelta(minutes=int(settings.get("warning_minutes", 5))),
        )


def empty_state(plate: str) -> dict[str, Any]:
    return {"plate": plate, "tickets": [], "stays": {}, "lockouts": {}}


class SmsParkingRules:
    system = "sms_parking"
    uses_ticket_numbers = True

    def __init__(self, cities: dict[str, SmsCity]) -> None:
        self.cities = cities

    # -- events ---------------------------------------------------------------------------

    def decide(
        self,
        state: dict[str, Any] | None,
        event: Event,
        owner: str,
        numbers: TicketNumbers | None = None,
    ) -> Step:
        city = self.cities[event.city]
        data = event.data
        if isinstance(data, SmsReceived):
            return self._sms(city, state, event, data, numbers)
        if isinstance(data, OperatorVerdict):
            return self._verdict(city, state, event, data, owner)
        return Step(state, [outcome_of(event, owner, "ignored", None, "not an SMS parking event")])

    def _sms(
        self,
        city: SmsCity,
        state: dict[str, Any] | None,
        event: Event,
        sms: SmsReceived,
        numbers: TicketNumbers | None,
    ) -> Step:
        try:
            plate = normalise_plate(sms.text)
        except InvalidPlate as bad:
            # NIS-7: nothing charged; the sender is told to resend.
            reply = _reply(city, event, sms.msisdn, "unreadable", "unreadable")
            outcome = _refused(event, sms.msisdn, "NIS-7", bad.problem)
            return _same(city, state, [reply, outcome])
        state = state or empty_state(plate)
        code = city.codes.get(sms.to)
        if code is None:
            reply = _reply(city, event, sms.msisdn, "refusal", "unknown_number", number=sms.to)
            reason = f"{sms.to} is not a parking short code"
            return self._step(city, state, [reply, _refused(event, plate, "NIS-2", reason)])
        try:
            decision = decide_purchase(
                city.config, code, state["stays"], state["lockouts"], event.time
            )
            if isinstance(decision, Refusal):
                return self._refusal(city, state, event, sms, plate, decision)
            if numbers is None:
                raise RuntimeError("sms_parking needs ticket numbers from the engine")
            pin = pin_for(numbers.next(), event.city, city.pin_key, PIN_DIGITS)
        except (TariffError, PinSpaceExhausted) as failure:
            # NIS-8: we cannot sell now; the sender is told to pay another way.
            reply = _reply(city, event, sms.msisdn, "unavailable", "unavailable")
            return self._step(city, state, [reply, _refused(event, plate, "NIS-8", str(failure))])
        return self._sell(city, state, event, sms, plate, code, decision, pin)

    def _refusal(
        self,
        city: SmsCity,
        state: dict[str, Any],
        event: Event,
        sms: SmsReceived,
        plate: str,
        refusal: Refusal,
    ) -> Step:
        zone = city.config.zones[city.codes[sms.to].zone].name
        reply = _reply(
            city,
            event,
            sms.msisdn,
            "refusal",
            refusal.template,
            plate=plate,
            zone=zone,
            possible_from=refusal.possible_from or event.time,
        )
        outcome = _refused(event, plate, refusal.rule, refusal.reason)
        if refusal.possible_from is not None:
            outcome = outcome.model_copy(
                update={"facts": {"possible_from": iso(refusal.possible_from)}}
            )
        return self._step(city, state, [reply, outcome])

    def _sell(
        self,
        city: SmsCity,
        state: dict[str, Any],
        event: Event,
        sms: SmsReceived,
        plate: str,
        code: ShortCode,
        purchase: Purchase,
        pin: str,
    ) -> Step:
        ticket = tickets.new_ticket(
            event.city,
            pin,
            code,
            purchase,
            sms.msisdn,
            sms.operator,
            event.time,
            event.id,
            city.verdict_window,
        )
        stays = dict(state["stays"])
        previous = stays.get(purchase.stay_key) if purchase.extension else None
        stays[purchase.stay_key] = {
            "zone": code.zone,
            "product": code.product,
            "start": previous["start"] if previous else iso(purchase.start),
            "end": iso(purchase.end),
            "paid_minutes": purchase.paid_minutes,
            "bought_at": iso(event.time),
            "msisdn": sms.msisdn,
            "tickets": [*(previous["tickets"] if previous else []), ticket["id"]],
            "warned_for": None,
        }
        lockouts = dict(state["lockouts"])
        if purchase.reaches_max_stay:
            locked = lockout.lock(purchase.end, purchase.no_return_minutes)
            if locked:
                lockouts[code.zone] = locked
        new_state = {
            **state,
            "tickets": [*state["tickets"], ticket],
            "stays": stays,
            "lockouts": lockouts,
        }
        zone = city.config.zones[code.zone].name
        template = (
            "confirmation_carried"
            if purchase.carried_over
            else "confirmation_extension"
            if purchase.extension
            else "confirmation"
        )
        reply = _reply(
            city,
            event,
            sms.msisdn,
            "confirmation",
            template,
            ticket_id=ticket["id"],
            plate=plate,
            zone=zone,
            amount=purchase.price,
            pin=pin,
            valid_from=purchase.start,
            valid_until=purchase.end,
        )
        charge = (
            LedgerEntry(
                id=f"{event.id}:charge",
                city=event.city,
                holder=sms.msisdn,
                purse="operator",
                kind="charge",
                amount=purchase.price,
                currency=purchase.currency,
                ticket_id=ticket["id"],
                zone=code.zone,
                product=code.product,
                channel="sms",
                caused_by=event.id,
                time=event.time,
            )
            if purchase.price > 0
            else None
        )
        outcome = Outcome(
            id=event.id,
            city=event.city,
            type=event.type,
            owner=plate,
            outcome="accepted",
            facts={
                "ticket_id": ticket["id"],
                "pin": pin,
                "price": purchase.price,
                "valid_from": iso(purchase.start),
                "valid_until": iso(purchase.end),
                "extension": purchase.extension,
                "carried_over": purchase.carried_over,
                "operator": sms.operator,
            },
            time=event.time,
        )
        record = tickets.validity(event.city, plate, new_state["tickets"], event.time, event.id)
        outputs: list[Output] = [reply, record, outcome]
        if charge is not None:
            outputs.insert(1, charge)
        return self._step(city, new_state, outputs)

    def _verdict(
        self,
        city: SmsCity,
        state: dict[str, Any] | None,
        event: Event,
        verdict: OperatorVerdict,
        owner: str,
    ) -> Step:
        pin = normalise_pin(verdict.pin)
        ticket = tickets.find_by_pin(state["tickets"], pin) if state else None
        if state is None or ticket is None:
            reason = "no current or recent ticket with this plate and PIN"
            return _same(city, state, [_refused(event, owner, "NIS-9", reason)])
        result = verdicts.apply_verdict(ticket, verdict.accepted, event.time, verdict.reason)
        if result.ticket is None:
            return self._step(
                city, state, [outcome_of(event, owner, "ignored", "NIS-9", result.reason)]
            )
        changed = result.ticket
        all_tickets = [changed if t["id"] == changed["id"] else t for t in state["tickets"]]
        new_state = {**state, "tickets": all_tickets}
        outputs: list[Output] = []
        if result.revoked:
            new_state = _without_revoked_time(new_state, changed)
            outputs.append(
                _reply(
                    city,
                    event,
                    changed["msisdn"],
                    "revoked",
                    "revoked",
                    ticket_id=changed["id"],
                    plate=state["plate"],
                    pin=changed["pin"],
                )
            )
            if changed["price"] > 0:
                outputs.append(_refund(event, changed))
        outputs.append(
            tickets.validity(event.city, state["plate"], all_tickets, event.time, event.id)
        )
        outputs.append(
            Outcome(
                id=event.id,
                city=event.city,
                type=event.type,
                owner=owner,
                outcome="accepted",
                rule="NIS-9",
                facts={
                    "ticket_id": changed["id"],
                    "state": changed["state"],
                    "operator_reason": verdict.reason,
                },
                time=event.time,
            )
        )
        return self._step(city, new_state, outputs)

    # -- the clock ------------------------------------------------------------------------

    def on_clock(self, state: dict[str, Any], now: datetime, city_id: str, owner: str) -> Step:
        city = self.cities[city_id]
        if state is None or "tickets" not in state:
            return Step(state)
        outputs: list[Output] = []
        changed = False
        all_tickets = []
        for ticket in state["tickets"]:
            if verdicts.verdict_pending(ticket) and at(ticket["verdict_due"]) <= now:
                ticket = verdicts.confirm_by_silence(ticket)
                changed = True
            all_tickets.append(ticket)
        stays = {}
        for key, stay in state["stays"].items():
            due = warnings.warning_due_at(stay, city.warning_before)
            end = at(stay["end"])
            if due is not None and due <= now < end:
                outputs.append(_warning(city, city_id, state["plate"], stay, now))
                stay = {**stay, "warned_for": stay["end"]}
            if end > now:
                stays[key] = stay  # expiry: an ended stay leaves the state
        kept = tickets.keep_recent(all_tickets, now)
        changed = changed or len(kept) != len(all_tickets)
        new_state = {
            **state,
            "tickets": kept,
            "stays": stays,
            "lockouts": lockout.release_ended(state["lockouts"], now),
        }
        if changed:
            caused_by = f"clock:{city_id}:{iso(now)}"
            if kept:
                outputs.append(tickets.validity(city_id, state["plate"], kept, now, caused_by))
            else:
                key = validity_key(city_id, "plate", state["plate"], state["plate"])
                outputs.append(ValidityRemoved(key))
        return self._step(city, new_state, outputs)

    # -- helpers --------------------------------------------------------------------------

    def _step(self, city: SmsCity, state: dict[str, Any], outputs: list[Output]) -> Step:
        if not (state["tickets"] or state["stays"] or state["lockouts"]):
            return Step(None, outputs, None)
        return Step(state, outputs, next_wake(state, city.warning_before))


def next_wake(state: dict[str, Any], warning_before: timedelta) -> datetime | None:
    """The earliest timed action of a plate: verdict window, warning, expiry, lockout end,
    forgetting a ticket that is no longer recent."""
    pending = [at(t["verdict_due"]) for t in state["tickets"] if verdicts.verdict_pending(t)]
    warning_times = [warnings.warning_due_at(s, warning_before) for s in state["stays"].values()]
    stay_ends = [at(s["end"]) for s in state["stays"].values()]
    return earliest(
        *pending,
        *warning_times,
        *stay_ends,
        lockout.next_end(state["lockouts"]),
        tickets.next_prune(state["tickets"]),
    )


def _without_revoked_time(state: dict[str, Any], revoked: dict[str, Any]) -> dict[str, Any]:
    stays = dict(state["stays"])
    lockouts = dict(state["lockouts"])
    for key, stay in state["stays"].items():
        if revoked["id"] not in stay["tickets"]:
            continue
        kept = verdicts.recompute_stay(stay, state["tickets"])
        if kept is None:
            del stays[key]
            lockouts.pop(stay["zone"], None)
        else:
            stays[key] = kept
            if revoked["kind"] == "hourly":
                # The stay no longer used its maximum (or ends earlier): no lockout from it.
                lockouts.pop(stay["zone"], None)
    return {**state, "stays": stays, "lockouts": lockouts}


def _refund(event: Event, ticket: dict[str, Any]) -> LedgerEntry:
    """NIS-9/NIS-12: the operator's rejected charge is reversed for settlement."""
    return LedgerEntry(
        id=f"{event.id}:refund",
        city=event.city,
        holder=ticket["msisdn"],
        purse="operator",
        kind="refund",
        amount=ticket["price"],
        currency=ticket["currency"],
        ticket_id=ticket["id"],
        zone=ticket["zone"],
        product=ticket["product"],
        channel="sms",
        caused_by=event.id,
        time=event.time,
    )


def _warning(city: SmsCity, city_id: str, plate: str, stay: dict[str, Any], now: datetime):
    zone = city.config.zones[stay["zone"]].name
    text = city.replies.render("warning", plate=plate, zone=zone, valid_until=at(stay["end"]))
    return Notification(
        id=f"{city_id}|{plate}|{stay['zone']}|warning|{stay['end']}",
        city=city_id,
        channel="sms",
        to=stay["msisdn"],
        kind="warning",
        text=text,
        ticket_id=stay["tickets"][-1] if stay["tickets"] else None,
        caused_by=f"clock:{city_id}:{iso(now)}",
        time=now,
    )


def _reply(
    city: SmsCity,
    event: Event,
    to: str,
    kind: str,
    template: str,
    ticket_id: str | None = None,
    **values: Any,
) -> Notification:
    return Notification(
        id=f"{event.id}:reply",
        city=event.city,
        channel="sms",
        to=to,
        kind=kind,
        text=city.replies.render(template, **values),
        ticket_id=ticket_id,
        caused_by=event.id,
        time=event.time,
    )


def _refused(event: Event, owner: str, rule: str, reason: str) -> Outcome:
    return outcome_of(event, owner, "refused", rule, reason)


def _same(city: SmsCity, state: dict[str, Any] | None, outputs: list[Output]) -> Step:
    if state is None:
        return Step(None, outputs, None)
    # A refusal does not move any timer; keep the state's own wake.
    return Step(state, outputs, next_wake(state, city.warning_before))


def make_rules(cities: list[str]) -> SmsParkingRules:
    return SmsParkingRules({c: SmsCity.load(c) for c in cities})


def service_unavailable_reply(city_id: str, msisdn: str, caused_by: str, time: datetime):
    """NIS-8: the reply the SMS gateway path sends when the pipeline cannot take the SMS."""
    replies = Replies.of(load_city(city_id))
    return Notification(
        id=f"{caused_by}:unavailable",
        city=city_id,
        channel="sms",
        to=msisdn,
        kind="unavailable",
        text=replies.render("unavailable"),
        caused_by=caused_by,
        time=time,
    )
