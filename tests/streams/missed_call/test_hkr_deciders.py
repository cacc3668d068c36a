"""Hradec deciders on plain data (HKR-1, HKR-3, HKR-5..9), without the engine."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from streams.missed_call import registration
from streams.missed_call.keywords import Keywords
from streams.missed_call.ordering import refuse_call_order
from streams.missed_call.tickets import (
    keep_recent,
    new_ticket,
    normalise_code,
    ticket_code,
    valid_at,
)
from tariff_kernel import load_city, transit_product

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
HRADEC = load_city("hradec")
FULL = transit_product(HRADEC, "910301001")
KEYWORDS = Keywords.of("ANO HKR", "STOP HKR", "HELP HKR", {"jizdenka hkr": "910301001"})
LIMIT = 200_000


def ticket(at: datetime, product=FULL, n: int = 0) -> dict:
    until = at + timedelta(minutes=product.validity_minutes)
    return new_ticket("hradec", f"{n:010d}", product, "missed_call", "420601", at, until, f"e{n}")


def active(total: int = 0) -> dict:
    return {"status": "active", "since": T0.isoformat(), "total": total}


@pytest.mark.parametrize("text", ["ANO HKR", "ano hkr", "  Ano   HKR ", "ANO\tHKR"])
def test_hkr1_confirm_keyword_ignores_case_and_extra_spaces(text: str) -> None:
    assert KEYWORDS.parse(text).kind == "confirm"


def test_hkr1_hkr4_hkr5_hkr8_keywords_and_unknown_text() -> None:
    assert KEYWORDS.parse("stop  hkr").kind == "stop"
    assert KEYWORDS.parse("Help HKR").kind == "help"
    order = KEYWORDS.parse("JIZDENKA  HKR")
    assert (order.kind, order.product) == ("order", "910301001")
    assert KEYWORDS.parse("ANOHKR").kind == "unknown"


def test_hkr8_keywords_must_not_clash() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Keywords.of("ANO HKR", "STOP HKR", "HELP HKR", {"ano  hkr": "910301001"})


def test_hkr1_missed_call_then_confirmation_activates_ordering() -> None:
    pending = registration.registration_call(None, T0)
    assert pending.template == "confirm_request"
    assert not registration.can_order_by_call(pending.registration)
    done = registration.confirm(pending.registration, T0)
    assert done.template == "welcome" and registration.can_order_by_call(done.registration)


def test_hkr1_confirmation_without_a_registration_call_is_refused() -> None:
    change = registration.confirm(None, T0)
    assert change.refused and change.registration is None


def test_hkr5_stop_removes_the_registration() -> None:
    change = registration.stop(active())
    assert change.registration is None and change.rule == "HKR-5"


def test_hkr7_renewal_of_a_suspended_registration_starts_at_zero() -> None:
    suspended = registration.suspend(active(total=199_000), T0)
    change = registration.confirm(suspended, T0 + timedelta(days=1))
    assert change.template == "renewed"
    assert change.registration["status"] == "active" and change.registration["total"] == 0


def test_hkr7_missed_call_while_suspended_restarts_full_registration() -> None:
    suspended = registration.suspend(active(total=199_000), T0)
    change = registration.registration_call(suspended, T0)
    assert change.registration["status"] == "pending" and change.registration["total"] == 0


def test_hkr3_unregistered_or_pending_phone_gets_no_ticket() -> None:
    assert refuse_call_order(None, [], 3000, T0, 5, LIMIT).rule == "HKR-3"
    pending = registration.registration_call(None, T0).registration
    assert refuse_call_order(pending, [], 3000, T0, 5, LIMIT).rule == "HKR-3"


def test_hkr6_sixth_valid_ticket_by_call_is_refused_by_voice() -> None:
    five = [ticket(T0 + timedelta(minutes=i), n=i) for i in range(5)]
    refusal = refuse_call_order(active(), five, 3000, T0 + timedelta(minutes=10), 5, LIMIT)
    assert (refusal.rule, refusal.channel, refusal.suspend) == ("HKR-6", "voice", False)


def test_hkr6_validity_is_checked_by_time() -> None:
    five = [ticket(T0 + timedelta(minutes=i), n=i) for i in range(5)]
    # The first ticket (bought at T0, 60 minutes) is no longer valid at T0 + 60 min.
    later = T0 + timedelta(minutes=60)
    assert len(valid_at(five, later)) == 4
    assert refuse_call_order(active(), five, 3000, later, 5, LIMIT) is None


def test_hkr7_order_above_the_limit_is_refused_and_suspends() -> None:
    refusal = refuse_call_order(active(total=LIMIT - 2000), [], 3000, T0, 5, LIMIT)
    assert (refusal.rule, refusal.suspend, refusal.channel) == ("HKR-7", True, "sms")
    assert refuse_call_order(active(total=LIMIT - 3000), [], 3000, T0, 5, LIMIT) is None


def test_hkr7_suspended_registration_orders_nothing_by_call() -> None:
    suspended = registration.suspend(active(total=LIMIT), T0)
    assert refuse_call_order(suspended, [], 1500, T0, 5, LIMIT).template == "suspended"


def test_hkr9_ticket_codes_are_ten_digits_unique_and_not_sequential() -> None:
    key = b"test-key"
    codes = [ticket_code(n, "hradec", key) for n in range(5000)]
    assert len(set(codes)) == 5000
    assert all(len(c) == 10 and c.isdigit() for c in codes)
    # Consecutive ticket numbers give unrelated codes: no code is its neighbour plus one.
    assert sum(int(b) - int(a) == 1 for a, b in itertools.pairwise(codes)) == 0
    assert ticket_code(7, "hradec", key) != ticket_code(7, "nis", key)
    assert ticket_code(7, "hradec", b"other-key") != ticket_code(7, "hradec", key)


def test_hkr9_inspector_may_type_the_code_with_spaces() -> None:
    assert normalise_code("012 345-6789") == "0123456789"


def test_hkr9_expired_tickets_stay_visible_for_a_day_then_go() -> None:
    t = ticket(T0)
    assert keep_recent([t], T0 + timedelta(hours=24, minutes=59)) == [t]
    assert keep_recent([t], T0 + timedelta(hours=25)) == []
