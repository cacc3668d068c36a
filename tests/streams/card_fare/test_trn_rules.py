"""Tarnów contactless cards (TRN-1..10) through the real engine (Replay).

Fares come from the city's tariff config through the tariff kernel (`check_in_deposit`,
`ride_refund`), the ride window and validator texts from its messages config.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.card_fare import make_rules
from streams.contract import Event, make_event, validity_key
from streams.runtime.replay import Published, Replay
from tariff_kernel import check_in_deposit, load_city, ride_refund

WARSAW = ZoneInfo("Europe/Warsaw")
TARNOW = load_city("tarnow")
RULES = make_rules(["tarnow"])
CITY = RULES.cities["tarnow"]
CARD = "TRN-0001"
BLOCKED = next(c for c, s in CITY.deny_list.items() if s == "blocked")

_seq = iter(range(1_000_000))


def local(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)


def event(kind: str, data: dict, at: datetime, card: str = CARD) -> Event:
    return make_event(kind, "tarnow", {"card_id": card, **data}, at, id=f"{kind}-{next(_seq)}")


def tap(
    counter: int,
    stop: int,
    at: datetime,
    trip: str = "L12-0815",
    card: str = CARD,
    card_class: str = "standard",
    entitlement: str = "normal",
) -> Event:
    data = {
        "validator_id": "V-17",
        "trip_id": trip,
        "stop_seq": stop,
        "counter": counter,
        "card_class": card_class,
        "entitlement": entitlement,
    }
    return event("card.tap", data, at, card)


def topup(amount: int, at: datetime, card: str = CARD) -> list[Event]:
    """Cash into the e-purse, then moved to the t-purse at a validator (TRN-8)."""
    return [
        event("card.epurse_topup", {"machine_id": "P-3", "amount": amount}, at, card),
        event("card.transfer", {"validator_id": "V-17", "amount": amount}, at, card),
    ]


def tick(at: datetime) -> Event:
    return make_event("clock.tick", "tarnow", {}, at, id=f"tick-{next(_seq)}")


def replay(partitions: int = 2) -> Replay:
    return Replay({"tarnow": "card_fare"}, {"card_fare": RULES}, partitions)


def funded(amount: int = 5000, card: str = CARD) -> Replay:
    r = replay()
    r.feed(*topup(amount, local(7), card))
    return r


def only_outcome(out: Published):
    (outcome,) = out.outcomes
    return outcome


def card_record(r: Replay, card: str = CARD):
    return r.out.validity.get(validity_key("tarnow", "card", card, card))


def balance(r: Replay, card: str = CARD) -> int:
    return r.store.get("card_fare", f"tarnow|{card}")["state"]["t_purse"]


@pytest.mark.parametrize("card_class", ["standard", "premium"])
@pytest.mark.parametrize("entitlement", ["normal", "local_reduced", "statutory_reduced"])
def test_trn1_check_in_charges_the_longest_bands_fare(card_class: str, entitlement: str) -> None:
    r = funded()
    out = r.feed(tap(1, 3, local(8), card_class=card_class, entitlement=entitlement))
    deposit = check_in_deposit(TARNOW, entitlement, card_class)
    (charge,) = out.ledger
    assert (charge.purse, charge.kind, charge.amount, charge.balance_after) == (
        "t_purse",
        "charge",
        deposit,
        5000 - deposit,
    )
    (display,) = out.notifications
    assert display.channel == "display" and display.to == "V-17"
    assert display.text == CITY.replies.render(
        "check_in", amount=deposit, amount_balance=5000 - deposit, count=1
    )


def test_trn2_check_out_after_ten_stops_refunds_the_difference() -> None:
    r = funded()
    r.feed(tap(1, 3, local(8)))
    out = r.feed(tap(2, 13, local(8, 25)))
    refund = ride_refund(TARNOW, 10, "normal", "standard")
    (entry,) = out.ledger
    assert (entry.kind, entry.amount) == ("refund", refund)
    deposit = check_in_deposit(TARNOW, "normal", "standard")
    assert balance(r) == 5000 - deposit + refund
    assert only_outcome(out).facts["stops"] == 10
    assert card_record(r) is None  # the ride is over: nothing left to show


def test_trn2_longest_ride_gets_no_refund_entry() -> None:
    r = funded()
    r.feed(tap(1, 0, local(8)))
    out = r.feed(tap(2, 30, local(9)))
    assert out.ledger == [] and only_outcome(out).facts["refunded"] == 0


def test_trn2_no_check_out_no_refund_and_the_ride_ends_on_time() -> None:
    r = funded()
    r.feed(tap(1, 3, local(8)))
    assert card_record(r) is not None
    r.feed(tick(local(8) + CITY.max_ride - timedelta(minutes=1)))
    assert card_record(r) is not None
    r.feed(tick(local(8) + CITY.max_ride))
    assert card_record(r) is None
    late = r.feed(tap(2, 9, local(8) + CITY.max_ride + timedelta(minutes=1)))
    assert [e.kind for e in late.ledger] == ["charge"]  # a new check-in, not a check-out


def test_trn2_tap_on_another_trip_is_a_new_check_in_without_refund() -> None:
    r = funded()
    r.feed(tap(1, 3, local(8)))
    out = r.feed(tap(2, 5, local(8, 40), trip="L3-0835"))
    assert [e.kind for e in out.ledger] == ["charge"]
    assert only_outcome(out).facts["abandoned_trip"] == "L12-0815"


def test_trn2_tap_before_the_bus_leaves_the_boarding_stop_charges_nothing() -> None:
    r = funded()
    r.feed(tap(1, 3, local(8)))
    out = r.feed(tap(2, 3, local(8, 1)))
    assert out.ledger == [] and only_outcome(out).rule == "TRN-2"
    assert out.notifications[0].kind == "already_in"


def test_trn3_repeated_tap_with_the_same_counter_charges_once() -> None:
    r = funded()
    first = r.feed(tap(41, 3, local(8)))
    again = r.feed(tap(41, 3, local(8, 0) + timedelta(seconds=4)))
    assert len(first.ledger) == 1 and again.ledger == []
    outcome = only_outcome(again)
    assert (outcome.outcome, outcome.rule) == ("duplicate", "TRN-3")
    assert first.notifications[0].text in again.notifications[0].text
    # ... and a repeated check-out refunds once.
    out = r.feed(tap(42, 9, local(8, 20)))
    repeat = r.feed(tap(42, 9, local(8, 21)))
    assert len(out.ledger) == 1 and repeat.ledger == []
    deposit = check_in_deposit(TARNOW, "normal", "standard")
    assert balance(r) == 5000 - deposit + ride_refund(TARNOW, 6, "normal", "standard")


def test_trn3_failed_operation_may_be_retried_with_the_same_counter() -> None:
    r = replay()
    broke = r.feed(tap(5, 3, local(8)))
    assert only_outcome(broke).rule == "TRN-4"
    r.feed(*topup(2000, local(8, 1)))
    retried = r.feed(tap(5, 3, local(8, 2)))
    assert [e.kind for e in retried.ledger] == ["charge"]


def test_trn4_no_funds_charges_nothing() -> None:
    r = funded(amount=check_in_deposit(TARNOW, "normal", "standard") - 1)
    out = r.feed(tap(1, 3, local(8)))
    outcome = only_outcome(out)
    assert (outcome.outcome, outcome.rule) == ("refused", "TRN-4")
    assert out.ledger == [] and out.notifications[0].kind == "fault_no_funds"
    assert card_record(r) is None


def test_trn4_blocked_card_charges_nothing() -> None:
    r = funded(card=BLOCKED)
    out = r.feed(tap(1, 3, local(8), card=BLOCKED))
    assert out.ledger == [] and out.notifications[0].kind == "fault_blocked"
    assert only_outcome(out).rule == "TRN-4"


def period_ticket(r: Replay, valid_until: datetime) -> None:
    order = {
        "kind": "period_ticket",
        "amount": 9900,
        "valid_from": local(0).isoformat(),
        "valid_until": valid_until.isoformat(),
    }
    r.feed(event("card.online_order", order, local(6)))
    r.feed(event("card.sync", {"validator_id": "V-17"}, local(7, 30)))


def test_trn5_a_period_ticket_does_not_stop_a_tap_from_charging() -> None:
    r = funded()
    period_ticket(r, local(0, day=28))
    out = r.feed(tap(1, 3, local(8)))
    assert [e.kind for e in out.ledger] == ["charge"]
    assert only_outcome(out).facts["period_ticket_valid"] is True


def test_trn6_group_of_three_charged_per_ticket_and_refunded_at_check_out() -> None:
    r = funded()
    group = {
        "validator_id": "V-17",
        "trip_id": "L12-0815",
        "stop_seq": 2,
        "counter": 1,
        "card_class": "premium",
        "entitlement": "normal",
        "include_self": True,
        "tickets": [
            {"entitlement": "normal", "count": 1},
            {"entitlement": "local_reduced", "count": 1},
        ],
    }
    out = r.feed(event("card.group", group, local(8)))
    expected = [
        check_in_deposit(TARNOW, "normal", "premium"),
        check_in_deposit(TARNOW, "normal", "standard"),
        check_in_deposit(TARNOW, "local_reduced", "standard"),
    ]
    assert [e.amount for e in out.ledger] == expected
    assert len(card_record(r).entitlements) == 3
    back = r.feed(tap(2, 10, local(8, 20), card_class="premium"))
    refunds = [
        ride_refund(TARNOW, 8, "normal", "premium"),
        ride_refund(TARNOW, 8, "normal", "standard"),
        ride_refund(TARNOW, 8, "local_reduced", "standard"),
    ]
    assert [e.amount for e in back.ledger] == refunds
    assert balance(r) == 5000 - sum(expected) + sum(refunds)


def test_trn7_card_check_shows_purses_period_and_ride_tickets() -> None:
    r = funded()
    r.feed(event("card.epurse_topup", {"machine_id": "P-3", "amount": 700}, local(7, 5)))
    r.feed(tap(1, 3, local(8)))
    check = {"validator_id": "V-17"}
    during = only_outcome(r.feed(event("card.check", check, local(8, 5))))
    deposit = check_in_deposit(TARNOW, "normal", "standard")
    assert (during.rule, during.facts["e_purse"], during.facts["t_purse"]) == (
        "TRN-7",
        700,
        5000 - deposit,
    )
    assert during.facts["ride_tickets"] == 1 and during.facts["period_until"] is None
    r.feed(tap(2, 8, local(8, 15)))
    after = only_outcome(r.feed(event("card.check", check, local(8, 16))))
    assert after.facts["ride_tickets"] == 0


def test_trn8_only_the_t_purse_pays_and_transfer_needs_e_purse_money() -> None:
    r = replay()
    r.feed(event("card.epurse_topup", {"machine_id": "P-3", "amount": 1000}, local(7)))
    assert only_outcome(r.feed(tap(1, 3, local(8)))).rule == "TRN-4"
    refused = r.feed(event("card.transfer", {"validator_id": "V-17", "amount": 1001}, local(8)))
    assert only_outcome(refused).rule == "TRN-8" and refused.ledger == []
    moved = r.feed(event("card.transfer", {"validator_id": "V-17", "amount": 1000}, local(8)))
    assert [(e.purse, e.kind) for e in moved.ledger] == [
        ("e_purse", "transfer_out"),
        ("t_purse", "transfer_in"),
    ]
    assert [e.kind for e in r.feed(tap(1, 3, local(8, 1))).ledger] == ["charge"]


def test_trn9_online_top_up_waits_for_a_completed_sync() -> None:
    r = replay()
    order = r.feed(event("card.online_order", {"kind": "topup", "amount": 2000}, local(6)))
    assert only_outcome(order).facts["pending"] == 1 and order.ledger == []
    nothing_yet = r.feed(tap(1, 3, local(7)))
    assert only_outcome(nothing_yet).rule == "TRN-4"
    removed = r.feed(event("card.sync", {"validator_id": "V-17", "completed": False}, local(7)))
    assert only_outcome(removed).outcome == "refused" and removed.ledger == []
    done = r.feed(event("card.sync", {"validator_id": "V-17"}, local(7, 1)))
    assert [(e.purse, e.kind, e.amount) for e in done.ledger] == [("t_purse", "topup", 2000)]
    empty = r.feed(event("card.sync", {"validator_id": "V-17"}, local(7, 2)))
    assert only_outcome(empty).outcome == "ignored"
    assert empty.notifications[0].kind == "sync_nothing"


def test_trn9_complaint_refund_and_an_ended_period_ticket() -> None:
    r = replay()
    r.feed(event("card.online_order", {"kind": "complaint_refund", "amount": 300}, local(6)))
    ended = {
        "kind": "period_ticket",
        "amount": 9900,
        "valid_from": local(0, day=1).isoformat(),
        "valid_until": local(0, day=20).isoformat(),
    }
    r.feed(event("card.online_order", ended, local(6)))
    out = r.feed(event("card.sync", {"validator_id": "V-17"}, local(7)))
    assert [(e.kind, e.amount) for e in out.ledger] == [("refund", 300)]
    assert len(only_outcome(out).facts["not_possible"]) == 1
    assert [n.kind for n in out.notifications] == ["sync_written", "sync_not_possible"]


def test_trn10_inspector_sees_the_period_ticket_and_the_rides_tickets() -> None:
    r = funded()
    period_ticket(r, local(0, day=28))
    r.feed(tap(1, 3, local(8)))
    record = card_record(r)
    assert sorted(e.kind for e in record.entitlements) == ["period_ticket", "ride"]
    ride = next(e for e in record.entitlements if e.kind == "ride")
    assert ride.details["trip"] == "L12-0815" and ride.valid_from == local(8)
    r.feed(tick(local(0, day=28)))
    r.feed(tap(2, 6, local(0, day=28)))  # a new trip on day 28, the period has ended
    assert [e.kind for e in card_record(r).entitlements] == ["ride"]


def test_trn_replay_gives_the_identical_ledger_and_redelivery_changes_nothing() -> None:
    """TRN-1, TRN-3: a replay gives the identical ledger and a redelivery changes nothing."""
    events = [
        *topup(3000, local(7)),
        tap(1, 3, local(8)),
        tap(1, 3, local(8, 1)),
        tap(2, 13, local(8, 30)),
        event("card.online_order", {"kind": "topup", "amount": 1000}, local(9)),
        event("card.sync", {"validator_id": "V-9"}, local(10)),
    ]
    first, second = replay(), replay(partitions=3)
    first.feed(*events)
    first.feed(*events[2:4])  # redelivered
    second.feed(*events)
    assert [e.to_json() for e in first.out.ledger] == [e.to_json() for e in second.out.ledger]
    # e-purse top-up, transfer out + in, check-in, check-out refund, online top-up.
    assert [e.kind for e in first.out.ledger] == [
        "topup",
        "transfer_out",
        "transfer_in",
        "charge",
        "refund",
        "topup",
    ]


def test_trn6_group_joining_the_owners_ride_adds_only_co_passengers() -> None:
    r = funded()
    r.feed(tap(1, 2, local(8)))
    group = {
        "validator_id": "V-17",
        "trip_id": "L12-0815",
        "stop_seq": 2,
        "counter": 2,
        "card_class": "standard",
        "entitlement": "normal",
        "include_self": True,
        "tickets": [{"entitlement": "statutory_reduced", "count": 1}],
    }
    out = r.feed(event("card.group", group, local(8, 1)))
    assert [e.amount for e in out.ledger] == [
        check_in_deposit(TARNOW, "statutory_reduced", "standard")
    ]
    assert len(card_record(r).entitlements) == 2
    alone = r.feed(event("card.group", {**group, "counter": 3, "tickets": []}, local(8, 2)))
    assert alone.ledger == [] and only_outcome(alone).outcome == "ignored"
