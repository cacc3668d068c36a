"""Hradec Králové missed-call tickets as a stream system (HKR-1..9).

Owner: the phone number (msisdn). The phone's state: `{"msisdn", "registration":
registration.py's shape or None, "tickets": [tickets.py's shape]}`; it is dropped when the
phone is not registered and has no current or recent ticket. This module wires the pure
deciders of the sibling modules to the engine's `decide` / `on_clock`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.contract import Event, LedgerEntry, Notification
from streams.contract.events import CallMissed, SmsReceived
from streams.missed_call import registration, tickets
from streams.missed_call.ordering import Refusal, refuse_call_order
from streams.missed_call.settings import MissedCallCity
from streams.parking_time import at, iso
from streams.runtime.rules import Output, Step, TicketNumbers, ValidityRemoved, outcome_of
from streams.sms_parking.pins import PinSpaceExhausted
from tariff_kernel import ticket_valid_until


def empty_state(msisdn: str) -> dict[str, Any]:
    return {"msisdn": msisdn, "registration": None, "tickets": []}


class MissedCallRules:
    system = "missed_call"
    uses_ticket_numbers = True

    def __init__(self, cities: dict[str, MissedCallCity]) -> None:
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
        state = state or empty_state(owner)
        data = event.data
        if isinstance(data, CallMissed):
            return self._call(city, state, event, data, numbers)
        if isinstance(data, SmsReceived):
            return self._sms(city, state, event, data, numbers)
        return _step(state, [outcome_of(event, owner, "ignored", None, "not a missed-call event")])

    def _call(
        self,
        city: MissedCallCity,
        state: dict[str, Any],
        event: Event,
        call: CallMissed,
        numbers: TicketNumbers | None,
    ) -> Step:
        if call.to == city.registration_number:
            change = registration.registration_call(state["registration"], event.time)
            return self._registration(city, state, event, change)
        product = city.products.get(call.to)
        if product is None:
            reason = f"{call.to} is not a number of the service"
            return _step(state, [outcome_of(event, state["msisdn"], "ignored", "HKR-2", reason)])
        refusal = refuse_call_order(
            state["registration"],
            state["tickets"],
            product.amount,
            event.time,
            city.max_valid_tickets,
            city.registration_limit,
        )
        if refusal is not None:
            return self._refuse_order(city, state, event, refusal, product)
        return self._issue(city, state, event, product, "missed_call", numbers)

    def _sms(
        self,
        city: MissedCallCity,
        state: dict[str, Any],
        event: Event,
        sms: SmsReceived,
        numbers: TicketNumbers | None,
    ) -> Step:
        msisdn = state["msisdn"]
        if sms.to != city.sms_number:
            reason = f"{sms.to} is not the service's SMS number"
            return _step(state, [outcome_of(event, msisdn, "ignored", "HKR-1", reason)])
        command = city.keywords.parse(sms.text)
        if command.kind == "confirm":
            change = registration.confirm(state["registration"], event.time)
            return self._registration(city, state, event, change)
        if command.kind == "stop":
            change = registration.stop(state["registration"])
            return self._registration(city, state, event, change)
        if command.kind == "help":
            reply = _reply(city, event, msisdn, "help", "help")
            return _step(
                state, [reply, outcome_of(event, msisdn, "accepted", "HKR-4", "help sent")]
            )
        if command.kind == "order":
            assert command.product is not None
            product = city.products[command.product]
            # HKR-8: SMS orders are not subject to the 1+4 rule or the financial limit.
            return self._issue(city, state, event, product, "sms", numbers)
        reply = _reply(city, event, msisdn, "refusal", "unknown_keyword")
        reason = "the SMS is no keyword of the service"
        return _step(state, [reply, outcome_of(event, msisdn, "refused", "HKR-8", reason)])

    def _registration(
        self,
        city: MissedCallCity,
        state: dict[str, Any],
        event: Event,
        change: registration.Change,
    ) -> Step:
        msisdn = state["msisdn"]
        new_state = {**state, "registration": change.registration}
        reply = _reply(city, event, msisdn, "registration", change.template)
        status = change.registration["status"] if change.registration else None
        outcome = outcome_of(
            event,
            msisdn,
            "refused" if change.refused else "accepted",
            change.rule,
            change.template,
            {"registration": status},
        )
        return _step(new_state, [reply, outcome])

    def _refuse_order(
        self,
        city: MissedCallCity,
        state: dict[str, Any],
        event: Event,
        refusal: Refusal,
        product: Any,
    ) -> Step:
        msisdn = state["msisdn"]
        new_state = state
        if refusal.suspend:
            new_state = {
                **state,
                "registration": registration.suspend(state["registration"], event.time),
            }
        reply = _reply(
            city,
            event,
            msisdn,
            "refusal",
            refusal.template,
            channel=refusal.channel,
        )
        facts = {"product": str(product.id), "price": product.amount}
        outcome = outcome_of(event, msisdn, "refused", refusal.rule, refusal.reason, facts)
        return _step(new_state, [reply, outcome])

    def _issue(
        self,
        city: MissedCallCity,
        state: dict[str, Any],
        event: Event,
        product: Any,
        channel: str,
        numbers: TicketNumbers | None,
    ) -> Step:
        msisdn = state["msisdn"]
        if numbers is None:
            raise RuntimeError("missed_call needs ticket numbers from the engine")
        try:
            code = tickets.ticket_code(numbers.next(), event.city, city.code_key)
        except PinSpaceExhausted as exhausted:
            reply = _reply(city, event, msisdn, "refusal", "unavailable")
            return _step(
                state, [reply, outcome_of(event, msisdn, "refused", "HKR-9", str(exhausted))]
            )
        ticket = tickets.new_ticket(
            event.city,
            code,
            product,
            channel,
            msisdn,
            event.time,
            ticket_valid_until(city.config, product.id, event.time),
            event.id,
        )
        reg = state["registration"]
        if channel == "missed_call":
            reg = registration.add_to_total(reg, product.amount)
        kept = tickets.keep_recent(state["tickets"], event.time)
        new_state = {**state, "registration": reg, "tickets": [*kept, ticket]}
        reply = _reply(
            city,
            event,
            msisdn,
            "ticket",
            "ticket",
            ticket_id=ticket["id"],
            name=product.name,
            amount=product.amount,
            code=code,
            valid_from=event.time,
            valid_until=at(ticket["valid_until"]),
        )
        charge = LedgerEntry(
            id=f"{event.id}:charge",
            city=event.city,
            holder=msisdn,
            purse="operator",  # HKR-2: a premium SMS, charged through the operator
            kind="charge",
            amount=product.amount,
            currency=product.currency,
            ticket_id=ticket["id"],
            product=str(product.id),
            channel=channel,  # type: ignore[arg-type]
            caused_by=event.id,
            time=event.time,
        )
        facts = {
            "ticket_id": ticket["id"],
            "code": code,
            "product": str(product.id),
            "price": product.amount,
            "channel": channel,
            "valid_until": ticket["valid_until"],
            "registration_total": reg["total"] if reg else None,
        }
        outputs: list[Output] = [
            reply,
            charge,
            tickets.ticket_record(event.city, ticket, event.time, event.id),
            tickets.phone_record(event.city, msisdn, new_state["tickets"], event.time, event.id),
            outcome_of(
                event, msisdn, "accepted", "HKR-8" if channel == "sms" else "HKR-2", "issued", facts
            ),
        ]
        outputs.extend(_forgotten(event.city, state["tickets"], kept))
        return _step(new_state, outputs)

    # -- the clock ------------------------------------------------------------------------

    def on_clock(self, state: dict[str, Any], now: datetime, city_id: str, owner: str) -> Step:
        if state is None:
            return Step(None)
        kept = tickets.keep_recent(state["tickets"], now)
        outputs: list[Output] = list(_forgotten(city_id, state["tickets"], kept))
        if outputs:
            caused_by = f"clock:{city_id}:{iso(now)}"
            if kept:
                outputs.append(tickets.phone_record(city_id, owner, kept, now, caused_by))
            else:
                outputs.append(ValidityRemoved(tickets.phone_key(city_id, owner)))
        return _step({**state, "tickets": kept}, outputs)


def _forgotten(city: str, before: list[dict[str, Any]], kept: list[dict[str, Any]]) -> list[Output]:
    """Tombstones for ticket codes that are no longer recent."""
    kept_ids = {t["id"] for t in kept}
    return [ValidityRemoved(tickets.ticket_key(city, t)) for t in before if t["id"] not in kept_ids]


def _step(state: dict[str, Any], outputs: list[Output]) -> Step:
    if state["registration"] is None and not state["tickets"]:
        return Step(None, outputs, None)
    return Step(state, outputs, tickets.next_prune(state["tickets"]))


def _reply(
    city: MissedCallCity,
    event: Event,
    to: str,
    kind: str,
    template: str,
    ticket_id: str | None = None,
    channel: str = "sms",
    **values: Any,
) -> Notification:
    return Notification(
        id=f"{event.id}:reply",
        city=event.city,
        channel=channel,  # type: ignore[arg-type]
        to=to,
        kind=kind if channel == "sms" else template,
        text=city.replies.render(
            template,
            amount_limit=city.registration_limit,
            max_valid=city.max_valid_tickets,
            **values,
        ),
        ticket_id=ticket_id,
        caused_by=event.id,
        time=event.time,
    )


def make_rules(cities: list[str]) -> MissedCallRules:
    return MissedCallRules({c: MissedCallCity.load(c) for c in cities})
