"""Tarnów deciders on plain data (TRN-2, 3, 4, 6, 8, 9), fares from the tariff kernel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from streams.card_fare import counters, faults, orders, purses, rides
from streams.card_fare.settings import KernelFares
from tariff_kernel import check_in_deposit, load_city, ride_refund

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TARNOW = load_city("tarnow")
FARES = KernelFares(TARNOW)


def test_trn8_movements_keep_balances_and_refuse_overdrawing() -> None:
    state, topup = purses.move({"e_purse": 0, "t_purse": 0}, "e_purse", "topup", 1000, "t")
    assert (state["e_purse"], topup.balance_after) == (1000, 1000)
    state, moves = purses.transfer(state, 600, "x")
    assert (state["e_purse"], state["t_purse"]) == (400, 600)
    assert [(m.purse, m.kind, m.amount) for m in moves] == [
        ("e_purse", "transfer_out", 600),
        ("t_purse", "transfer_in", 600),
    ]
    with pytest.raises(purses.InsufficientFunds):
        purses.transfer(state, 401, "y")
    with pytest.raises(purses.InsufficientFunds):
        purses.move(state, "t_purse", "charge", 601, "z")


def test_trn3_a_counter_is_remembered_and_repeats_are_found() -> None:
    memory = counters.remember({}, 7, "e1", "Check-in: 5,40 PLN")
    repeat = counters.repeat_of(memory, 7)
    assert repeat is not None and (repeat.first_event, repeat.shown) == ("e1", "Check-in: 5,40 PLN")
    assert counters.repeat_of(memory, 8) is None


def test_trn3_memory_is_bounded_and_older_counters_are_stale() -> None:
    memory: dict = {}
    for n in range(100, 100 + counters.WINDOW + 10):
        memory = counters.remember(memory, n, f"e{n}", "ok")
    assert len(memory) == counters.WINDOW
    stale = counters.repeat_of(memory, 101)
    assert stale is not None and stale.first_event is None
    assert counters.repeat_of(memory, 100 + counters.WINDOW + 10) is None


def test_trn4_deny_list_and_missing_funds_are_faults() -> None:
    deny = {"C1": "blocked", "C2": "expired"}
    assert faults.card_fault("C1", deny).template == "fault_blocked"
    assert faults.card_fault("C2", deny).template == "fault_expired"
    assert faults.card_fault("C3", deny) is None
    assert faults.funds_fault(539, 540).template == "fault_no_funds"
    assert faults.funds_fault(540, 540) is None


def test_trn2_tap_on_the_same_trip_after_boarding_is_a_check_out() -> None:
    ride = rides.new_ride("trip1", "v1", 4, T0, timedelta(hours=2), [])
    assert rides.classify_tap(None, "trip1", 5) == "check_in"
    assert rides.classify_tap(ride, "trip2", 9) == "check_in"
    assert rides.classify_tap(ride, "trip1", 4) == "already_in"
    assert rides.classify_tap(ride, "trip1", 5) == "check_out"


def test_trn2_a_ride_not_checked_out_in_time_is_over() -> None:
    ride = rides.new_ride("trip1", "v1", 4, T0, timedelta(hours=2), [])
    assert rides.current_ride(ride, T0 + timedelta(minutes=119)) is ride
    assert rides.current_ride(ride, T0 + timedelta(hours=2)) is None


@pytest.mark.parametrize("stops", [1, 5, 6, 10, 25, 26, 40])
def test_trn2_refund_is_deposit_minus_the_fare_of_the_stops(stops: int) -> None:
    tickets = rides.group_tickets("c:1", "normal", "premium", True, [], FARES)
    ride = rides.new_ride("trip1", "v1", 3, T0, timedelta(hours=2), tickets)
    (refund,) = rides.check_out(ride, 3 + stops, FARES)
    assert refund.stops == stops
    assert refund.amount == ride_refund(TARNOW, stops, "normal", "premium")
    assert tickets[0]["deposit"] == check_in_deposit(TARNOW, "normal", "premium")


def test_trn6_co_passengers_travel_at_the_standard_class() -> None:
    tickets = rides.group_tickets(
        "c:1", "local_reduced", "premium", True, [("normal", 2), ("statutory_reduced", 1)], FARES
    )
    assert [(t["holder"], t["entitlement"], t["card_class"]) for t in tickets] == [
        ("self", "local_reduced", "premium"),
        ("co", "normal", "standard"),
        ("co", "normal", "standard"),
        ("co", "statutory_reduced", "standard"),
    ]
    assert len({t["id"] for t in tickets}) == 4


def _order(kind: str, **dates) -> dict:
    data = SimpleNamespace(kind=kind, amount=1000, valid_from=None, valid_until=None, **dates)
    return orders.pending_order(f"o-{kind}", data, T0)


def test_trn9_sync_writes_everything_or_nothing() -> None:
    pending = [_order("topup"), _order("complaint_refund")]
    assert orders.sync([], True, T0).status == "nothing_pending"
    removed = orders.sync(pending, False, T0)
    assert removed.status == "removed" and removed.still_pending == pending
    written = orders.sync(pending, True, T0)
    assert written.status == "written" and written.written == pending


def test_trn9_a_period_ticket_already_ended_cannot_be_written() -> None:
    ended = _order("period_ticket")
    ended.update(valid_from=(T0 - timedelta(days=31)).isoformat(), valid_until=T0.isoformat())
    result = orders.sync([ended, _order("topup")], True, T0)
    assert [o["kind"] for o in result.written] == ["topup"]
    assert result.not_possible == [ended]
