"""Tarnów contactless cards as a stream system (TRN-1..10).

Owner: the card id. The card's state is card.py's shape and is kept for the card's life
(its purses and the transaction-counter memory must never be forgotten). This module
wires the pure deciders of the sibling modules to the engine's `decide` / `on_clock`;
validator answers are `display` notifications addressed to the validator (or the
machine) the card was presented to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.card_fare import card, counters, faults, orders, purses, rides
from streams.card_fare.settings import CardCity
from streams.contract import Event, LedgerEntry, Notification
from streams.contract.events import (
    CardCheck,
    CardEpurseTopup,
    CardGroup,
    CardOnlineOrder,
    CardSync,
    CardTap,
    CardTransfer,
)
from streams.parking_time import iso
from streams.runtime.rules import Output, Step, ValidityRemoved, outcome_of


class CardFareRules:
    system = "card_fare"

    def __init__(self, cities: dict[str, CardCity]) -> None:
        self.cities = cities

    # -- events ---------------------------------------------------------------------------

    def decide(self, state: dict[str, Any] | None, event: Event, owner: str) -> Step:
        city = self.cities[event.city]
        state = state or card.empty_card(owner)
        data = event.data
        if isinstance(data, CardTap | CardGroup):
            return self._validator_operation(city, state, event, data)
        if isinstance(data, CardCheck):
            return self._check(city, state, event, data)
        if isinstance(data, CardTransfer):
            return self._transfer(city, state, event, data)
        if isinstance(data, CardEpurseTopup):
            return self._epurse_topup(city, state, event, data)
        if isinstance(data, CardOnlineOrder):
            return self._online_order(state, event, data)
        if isinstance(data, CardSync):
            return self._sync(city, state, event, data)
        return _step(state, [outcome_of(event, owner, "ignored", None, "not a card event")])

    def _validator_operation(
        self, city: CardCity, state: dict[str, Any], event: Event, op: CardTap | CardGroup
    ) -> Step:
        owner = state["card"]
        repeat = counters.repeat_of(state["counters"], op.counter)
        if repeat is not None:
            # TRN-3: the operation with this counter already happened; never charge twice.
            if repeat.shown is None:
                kind, text = "stale", city.replies.render("stale", counter=op.counter)
            else:
                kind, text = "repeat", city.replies.render("repeat", shown=repeat.shown)
            display = _display(event, op.validator_id, kind, text)
            facts = {"counter": op.counter, "first_event": repeat.first_event}
            reason = "this transaction counter was already processed"
            return _step(
                state, [display, outcome_of(event, owner, "duplicate", "TRN-3", reason, facts)]
            )
        fault = faults.card_fault(owner, city.deny_list)
        if fault is not None:
            return self._fault(city, state, event, op.validator_id, fault)
        ride = rides.current_ride(state["ride"], event.time)
        if isinstance(op, CardTap):
            kind = rides.classify_tap(ride, op.trip_id, op.stop_seq)
            if kind == "check_out":
                assert ride is not None
                return self._check_out(city, state, event, op, ride)
            if kind == "already_in":
                assert ride is not None
                reason = "already checked in; check-out is accepted after the bus leaves"
                return _already_in(city, state, event, op.validator_id, ride, "TRN-2", reason)
            tickets = rides.group_tickets(
                f"{owner}:{op.counter}", op.entitlement, op.card_class, True, [], city.fares
            )
            return self._board(city, state, event, op, ride, tickets, "check_in", "TRN-1")
        co = [(t.entitlement, t.count) for t in op.tickets]
        joins = ride is not None and ride["trip"] == op.trip_id
        include_self = op.include_self and not (joins and rides.has_own_ticket(ride))
        first = len(ride["tickets"]) if joins and ride else 0
        tickets = rides.group_tickets(
            f"{owner}:{op.counter}",
            op.entitlement,
            op.card_class,
            include_self,
            co,
            city.fares,
            first,
        )
        if not tickets:  # only "for me", and the owner already has this trip's ticket
            assert ride is not None
            reason = "the owner already has a ticket for this trip"
            return _already_in(city, state, event, op.validator_id, ride, "TRN-6", reason)
        return self._board(city, state, event, op, ride, tickets, "group", "TRN-6")

    def _board(
        self,
        city: CardCity,
        state: dict[str, Any],
        event: Event,
        op: CardTap | CardGroup,
        ride: dict[str, Any] | None,
        tickets: list[dict[str, Any]],
        template: str,
        rule: str,
    ) -> Step:
        """Check-in (TRN-1) or a group purchase (TRN-6): charge every ticket's deposit."""
        owner = state["card"]
        total = sum(t["deposit"] for t in tickets)
        fault = faults.funds_fault(purses.balance(state, "t_purse"), total)
        if fault is not None:
            return self._fault(city, state, event, op.validator_id, fault)
        new_state = state
        movements = []
        for t in tickets:
            new_state, movement = purses.move(
                new_state,
                "t_purse",
                "charge",
                t["deposit"],
                f"charge:{t['id']}",
                t["id"],
                "distance_ticket",
            )
            movements.append(movement)
        joins = ride is not None and ride["trip"] == op.trip_id
        abandoned = state["ride"] if not joins and state["ride"] is not None else None
        if joins and ride is not None:
            new_ride = {**ride, "tickets": [*ride["tickets"], *tickets]}
        else:
            new_ride = rides.new_ride(
                op.trip_id, op.validator_id, op.stop_seq, event.time, city.max_ride, tickets
            )
        new_state = {**new_state, "ride": new_ride}
        balance = purses.balance(new_state, "t_purse")
        text = city.replies.render(
            template, amount=total, amount_balance=balance, count=len(tickets)
        )
        new_state = {
            **new_state,
            "counters": counters.remember(state["counters"], op.counter, event.id, text),
        }
        facts = {
            "counter": op.counter,
            "trip": op.trip_id,
            "charged": total,
            "t_purse": balance,
            "tickets": [t["id"] for t in tickets],
            # TRN-5: a period ticket does not stop a tap from charging.
            "period_ticket_valid": bool(card.valid_periods(state["periods"], event.time)),
            "abandoned_trip": abandoned["trip"] if abandoned else None,
        }
        outputs: list[Output] = [
            _display(event, op.validator_id, template, text),
            *(_ledger(city, event, owner, m, "card") for m in movements),
            _card_record(city, event.city, new_state, event.time, event.id),
            outcome_of(event, owner, "accepted", rule, template, facts),
        ]
        return _step(new_state, outputs)

    def _check_out(
        self, city: CardCity, state: dict[str, Any], event: Event, tap: CardTap, ride: dict
    ) -> Step:
        """TRN-2, TRN-6: the owner's check-out refunds every ticket of the ride."""
        owner = state["card"]
        refunds = rides.check_out(ride, tap.stop_seq, city.fares)
        new_state = {**state, "ride": None}
        movements = []
        for r in refunds:
            if r.amount > 0:
                new_state, movement = purses.move(
                    new_state,
                    "t_purse",
                    "refund",
                    r.amount,
                    f"refund:{r.ticket['id']}",
                    r.ticket["id"],
                    "distance_ticket",
                )
                movements.append(movement)
        total = sum(r.amount for r in refunds)
        stops = tap.stop_seq - ride["board_seq"]
        balance = purses.balance(new_state, "t_purse")
        text = city.replies.render(
            "check_out", amount=total, amount_balance=balance, stops=stops, count=len(refunds)
        )
        new_state["counters"] = counters.remember(state["counters"], tap.counter, event.id, text)
        facts = {
            "counter": tap.counter,
            "trip": ride["trip"],
            "stops": stops,
            "refunded": total,
            "t_purse": balance,
            "tickets": [r.ticket["id"] for r in refunds],
        }
        outputs: list[Output] = [
            _display(event, tap.validator_id, "check_out", text),
            *(_ledger(city, event, owner, m, "card") for m in movements),
            _card_record(city, event.city, new_state, event.time, event.id),
            outcome_of(event, owner, "accepted", "TRN-2", "check_out", facts),
        ]
        return _step(new_state, outputs)

    def _fault(
        self, city: CardCity, state: dict[str, Any], event: Event, validator: str, fault: Any
    ) -> Step:
        """TRN-4: a message, nothing charged, nothing remembered (nothing was written)."""
        text = city.replies.render(fault.template, amount_balance=purses.balance(state, "t_purse"))
        display = _display(event, validator, fault.template, text)
        return _step(
            state, [display, outcome_of(event, state["card"], "refused", fault.rule, fault.reason)]
        )

    def _check(self, city: CardCity, state: dict[str, Any], event: Event, check: CardCheck) -> Step:
        """TRN-7: purses, period ticket and the tickets bought in the current ride."""
        now = event.time
        view = card.check_view({**state, "ride": rides.current_ride(state["ride"], now)}, now)
        template = "card_check_period" if view["period_until"] else "card_check"
        text = city.replies.render(
            template,
            amount_e=view["e_purse"],
            amount_t=view["t_purse"],
            valid_until=view["period_until"],
            count=view["ride_tickets"],
        )
        facts = {
            **view,
            "period_until": iso(view["period_until"]) if view["period_until"] else None,
        }
        outputs: list[Output] = [
            _display(event, check.validator_id, "card_check", text),
            outcome_of(event, state["card"], "accepted", "TRN-7", "card_check", facts),
        ]
        return _step(state, outputs)

    def _transfer(
        self, city: CardCity, state: dict[str, Any], event: Event, transfer: CardTransfer
    ) -> Step:
        """TRN-8: e-purse to t-purse, all of the amount or nothing."""
        owner = state["card"]
        try:
            new_state, movements = purses.transfer(state, transfer.amount, "transfer")
        except purses.InsufficientFunds as short:
            text = city.replies.render(
                "transfer_refused", amount=transfer.amount, amount_e=state["e_purse"]
            )
            display = _display(event, transfer.validator_id, "transfer_refused", text)
            return _step(state, [display, outcome_of(event, owner, "refused", "TRN-8", str(short))])
        text = city.replies.render(
            "transfer",
            amount=transfer.amount,
            amount_e=new_state["e_purse"],
            amount_t=new_state["t_purse"],
        )
        facts = {"e_purse": new_state["e_purse"], "t_purse": new_state["t_purse"]}
        outputs: list[Output] = [
            _display(event, transfer.validator_id, "transfer", text),
            *(_ledger(city, event, owner, m, "card") for m in movements),
            outcome_of(event, owner, "accepted", "TRN-8", "transfer", facts),
        ]
        return _step(new_state, outputs)

    def _epurse_topup(
        self, city: CardCity, state: dict[str, Any], event: Event, topup: CardEpurseTopup
    ) -> Step:
        """TRN-8: cash paid into the e-purse (e.g. at a parking meter)."""
        owner = state["card"]
        new_state, movement = purses.move(state, "e_purse", "topup", topup.amount, "topup")
        text = city.replies.render(
            "epurse_topup", amount=topup.amount, amount_e=new_state["e_purse"]
        )
        outputs: list[Output] = [
            _display(event, topup.machine_id, "epurse_topup", text),
            _ledger(city, event, owner, movement, None),
            outcome_of(
                event, owner, "accepted", "TRN-8", "epurse_topup", {"e_purse": new_state["e_purse"]}
            ),
        ]
        return _step(new_state, outputs)

    def _online_order(self, state: dict[str, Any], event: Event, order: CardOnlineOrder) -> Step:
        """TRN-9: the order waits in the back office for the card's next sync."""
        pending = [*state["pending"], orders.pending_order(event.id, order, event.time)]
        facts = {"kind": order.kind, "amount": order.amount, "pending": len(pending)}
        outcome = outcome_of(event, state["card"], "accepted", "TRN-9", "pending", facts)
        return _step({**state, "pending": pending}, [outcome])

    def _sync(self, city: CardCity, state: dict[str, Any], event: Event, sync: CardSync) -> Step:
        """TRN-9: write every pending order onto the card, or nothing."""
        owner = state["card"]
        result = orders.sync(state["pending"], sync.completed, event.time)
        if result.status == "nothing_pending":
            text = city.replies.render("sync_nothing")
            display = _display(event, sync.validator_id, "sync_nothing", text)
            return _step(
                state, [display, outcome_of(event, owner, "ignored", "TRN-9", "nothing pending")]
            )
        if result.status == "removed":
            text = city.replies.render("sync_removed", count=len(result.still_pending))
            display = _display(event, sync.validator_id, "sync_removed", text)
            reason = "card removed during the write: nothing written, orders stay pending"
            facts = {"pending": len(result.still_pending)}
            return _step(
                state, [display, outcome_of(event, owner, "refused", "TRN-9", reason, facts)]
            )
        new_state = {**state, "pending": []}
        outputs: list[Output] = []
        for order in result.written:
            tag = f"order:{order['id']}"
            if order["kind"] == "period_ticket":
                period = card.period_ticket(owner, order, event.time)
                new_state = {**new_state, "periods": [*new_state["periods"], period]}
                outputs.append(_period_charge(city, event, owner, order, period))
                continue
            kind = "topup" if order["kind"] == "topup" else "refund"
            new_state, movement = purses.move(
                new_state, "t_purse", kind, order["amount"], tag, product=order["kind"]
            )
            outputs.append(_ledger(city, event, owner, movement, "web"))
        balance = purses.balance(new_state, "t_purse")
        text = city.replies.render(
            "sync_written", count=len(result.written), amount_balance=balance
        )
        outputs.insert(0, _display(event, sync.validator_id, "sync_written", text))
        if result.not_possible:
            text = city.replies.render("sync_not_possible", count=len(result.not_possible))
            outputs.insert(1, _display(event, sync.validator_id, "sync_not_possible", text, n=1))
        if any(o["kind"] == "period_ticket" for o in result.written):
            outputs.append(_card_record(city, event.city, new_state, event.time, event.id))
        facts = {
            "written": [o["id"] for o in result.written],
            "not_possible": [o["id"] for o in result.not_possible],
            "t_purse": balance,
        }
        outputs.append(outcome_of(event, owner, "accepted", "TRN-9", "written", facts))
        return _step(new_state, outputs)

    # -- the clock ------------------------------------------------------------------------

    def on_clock(self, state: dict[str, Any], now: datetime, city_id: str, owner: str) -> Step:
        """A ride not checked out in time ends without refund (TRN-2); period tickets end."""
        if state is None:
            return Step(None)
        city = self.cities[city_id]
        ride = rides.current_ride(state["ride"], now)
        periods = card.current_periods(state["periods"], now)
        if ride is state["ride"] and len(periods) == len(state["periods"]):
            return _step(state, [])
        new_state = {**state, "ride": ride, "periods": periods}
        record = _card_record(city, city_id, new_state, now, f"clock:{city_id}:{iso(now)}")
        return _step(new_state, [record])


def _already_in(
    city: CardCity,
    state: dict[str, Any],
    event: Event,
    validator: str,
    ride: dict[str, Any],
    rule: str,
    reason: str,
) -> Step:
    """The trip is paid already: say so, charge nothing, remember nothing."""
    text = city.replies.render("already_in", count=len(ride["tickets"]))
    display = _display(event, validator, "already_in", text)
    return _step(state, [display, outcome_of(event, state["card"], "ignored", rule, reason)])


def _step(state: dict[str, Any], outputs: list[Output]) -> Step:
    return Step(state, outputs, card.next_change(state))


def _card_record(
    city: CardCity, city_id: str, state: dict[str, Any], now: datetime, caused_by: str
) -> Output:
    found = card.record(city_id, state, city.config.currency, now, caused_by)
    return found if found is not None else ValidityRemoved(card.key(city_id, state["card"]))


def _ledger(
    city: CardCity, event: Event, holder: str, m: purses.Movement, channel: str | None
) -> LedgerEntry:
    return LedgerEntry(
        id=f"{event.id}:{m.tag}",
        city=event.city,
        holder=holder,
        purse=m.purse,
        kind=m.kind,  # type: ignore[arg-type]
        amount=m.amount,
        currency=city.config.currency,
        ticket_id=m.ticket_id,
        product=m.product,
        channel=channel,  # type: ignore[arg-type]
        balance_after=m.balance_after,
        caused_by=event.id,
        time=event.time,
    )


def _period_charge(
    city: CardCity, event: Event, holder: str, order: dict[str, Any], period: dict[str, Any]
) -> LedgerEntry:
    """A period ticket paid online by bank card, recorded when written to the card."""
    return LedgerEntry(
        id=f"{event.id}:order:{order['id']}",
        city=event.city,
        holder=holder,
        purse="card",
        kind="charge",
        amount=order["amount"],
        currency=city.config.currency,
        ticket_id=period["id"],
        product="period_ticket",
        channel="web",
        caused_by=event.id,
        time=event.time,
    )


def _display(event: Event, validator: str, kind: str, text: str, n: int = 0) -> Notification:
    return Notification(
        id=f"{event.id}:display" + (f":{n}" if n else ""),
        city=event.city,
        channel="display",
        to=validator,
        kind=kind,
        text=text,
        caused_by=event.id,
        time=event.time,
    )


def make_rules(cities: list[str]) -> CardFareRules:
    return CardFareRules({c: CardCity.load(c) for c in cities})
