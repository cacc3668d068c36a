"""Niš SMS parking rules (NIS-1..14) through the real engine (Replay), tariff and config.

Every test runs on event time given in Niš local time; prices come from the city's
tariff config (`rsd(...)` converts whole dinars to para), never from constants here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.contract import Event, make_event, validity_key
from streams.runtime.replay import Published, Replay
from streams.sms_parking import make_rules, service_unavailable_reply
from streams.sms_parking.codes import ShortCode
from streams.sms_parking.pins import PIN_DIGITS
from streams.sms_parking.rules import SmsCity, SmsParkingRules
from tariff_kernel import load_city

BELGRADE = ZoneInfo("Europe/Belgrade")
NIS = load_city("nis")
RULES = make_rules(["nis"])
CODES = RULES.cities["nis"].codes
PHONE = "381641234567"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Niš, November 2026 (23rd Monday ... 28th Saturday, 29th Sunday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BELGRADE)


def rsd(dinars: int) -> int:
    return dinars * 10**NIS.minor_units


def zone_of(code: str) -> str:
    return CODES[code].zone


_seq = iter(range(1_000_000))


def sms(to: str, text: str, at: datetime, event_id: str | None = None) -> Event:
    data = {"msisdn": PHONE, "to": to, "text": text, "operator": "mts"}
    return make_event("sms.received", "nis", data, at, id=event_id or f"sms-{next(_seq)}")


def verdict(plate: str, pin: str, accepted: bool, at: datetime, reason: str | None = None):
    data = {"msisdn": PHONE, "plate": plate, "pin": pin, "accepted": accepted}
    if reason:
        data["reason"] = reason
    return make_event("operator.verdict", "nis", data, at, id=f"verdict-{next(_seq)}")


def tick(at: datetime) -> Event:
    return make_event("clock.tick", "nis", {}, at, id=f"tick-{at.isoformat()}-{next(_seq)}")


def replay(rules: SmsParkingRules = RULES, partitions: int = 2) -> Replay:
    return Replay({"nis": "sms_parking"}, {"sms_parking": rules}, partitions)


def tickets_of(r: Replay, plate: str):
    record = r.out.validity[validity_key("nis", "plate", plate, plate)]
    assert record is not None
    return record.entitlements


def accepted(out: Published) -> dict:
    (outcome,) = out.outcomes
    assert outcome.outcome == "accepted", outcome
    return outcome.facts


def refused(out: Published):
    (outcome,) = out.outcomes
    assert outcome.outcome == "refused", outcome
    return outcome


# -- NIS-1 / NIS-2 / NIS-6 -----------------------------------------------------------------


def test_nis1_plate_keeps_serbian_letters_and_ignores_case_spaces_dashes() -> None:
    r = replay()
    out = r.feed(sms("9182", " ni 123-šđ ", local(24, 9)))
    accepted(out)
    (ticket,) = tickets_of(r, "NI123ŠĐ")
    assert ticket.plate == "NI123ŠĐ"
    assert "NI123ŠĐ" in out.notifications[0].text
    assert validity_key("nis", "plate", "NI123SD", "NI123SD") not in r.out.validity


def test_nis2_short_code_selects_zone_and_hourly_price() -> None:
    r = replay()
    extra = accepted(r.feed(sms("9180", "NI1AA", local(24, 9))))
    green = accepted(r.feed(sms("9182", "NI2AA", local(24, 9))))
    red = accepted(r.feed(sms("9181", "NI3AA", local(24, 9))))
    assert (extra["price"], red["price"], green["price"]) == (rsd(90), rsd(60), rsd(45))
    assert tickets_of(r, "NI1AA")[0].zone == zone_of("9180")
    assert tickets_of(r, "NI2AA")[0].zone == zone_of("9182")


def test_nis2_sms_to_a_number_that_is_no_short_code_is_refused_uncharged() -> None:
    out = replay().feed(sms("9999", "NI1AA", local(24, 9)))
    assert refused(out).rule == "NIS-2"
    assert out.ledger == [] and out.validity == {}
    assert out.notifications[0].to == PHONE


def test_nis6_confirmation_has_plate_zone_amount_pin_and_keep_reminder() -> None:
    r = replay()
    out = r.feed(sms("9181", "NI123AB", local(24, 9)))
    facts = accepted(out)
    (reply,) = out.notifications
    pin = facts["pin"]
    assert pin.isdigit() and len(pin) == PIN_DIGITS
    zone_name = NIS.zones[zone_of("9181")].name
    for part in ("NI123AB", zone_name, "60", pin, "10:00"):
        assert part in reply.text, (part, reply.text)
    assert "Sačuvajte" in reply.text  # the city's language (sr), keep-the-message reminder
    (ticket,) = tickets_of(r, "NI123AB")
    assert ticket.pin == pin and ticket.ticket_id == facts["ticket_id"]
    assert ticket.state == "provisional" and ticket.channel == "sms"


def test_nis6_pins_of_many_tickets_are_distinct() -> None:
    r = replay(partitions=4)
    pins = set()
    for n in range(60):
        pins.add(accepted(r.feed(sms("9182", f"NI{n}XX", local(24, 9))))["pin"])
    assert len(pins) == 60


# -- NIS-3 / NIS-11 / NIS-13 / NIS-14 ---------------------------------------------------------


def test_nis13_friday_2050_hourly_ticket_ends_when_charging_ends_at_2100() -> None:
    r = replay()
    facts = accepted(r.feed(sms("9181", "NI5AB", local(27, 20, 50))))
    assert datetime.fromisoformat(facts["valid_until"]) == local(27, 21)
    (ticket,) = tickets_of(r, "NI5AB")
    assert ticket.valid_until == local(27, 21)


def test_nis11_sunday_sms_is_carried_to_monday_0700_0800_and_reply_says_so() -> None:
    r = replay()
    out = r.feed(sms("9181", "NI6AB", local(22, 11)))  # Sunday 22 Nov: no charging (NIS-3)
    facts = accepted(out)
    assert facts["carried_over"] is True
    (ticket,) = tickets_of(r, "NI6AB")
    assert (ticket.valid_from, ticket.valid_until) == (local(23, 7), local(23, 8))
    assert "sledećeg dana naplate" in out.notifications[0].text


def test_nis3_saturday_afternoon_sms_is_carried_to_monday() -> None:
    r = replay()
    accepted(r.feed(sms("9182", "NI7AB", local(28, 15))))
    (ticket,) = tickets_of(r, "NI7AB")
    assert ticket.valid_from == local(30, 7)


def test_nis14_day_ticket_valid_until_charging_ends_and_not_limited_by_max_stay() -> None:
    r = replay()
    facts = accepted(r.feed(sms("9184", "NI8AB", local(24, 8))))
    assert facts["price"] == rsd(600)
    (ticket,) = tickets_of(r, "NI8AB")
    assert ticket.kind == "day" and ticket.valid_until == local(24, 21)
    assert ticket.valid_until - ticket.valid_from > timedelta(minutes=120)  # > red max stay


def test_nis14_day_ticket_bought_on_sunday_covers_monday() -> None:
    r = replay()
    accepted(r.feed(sms("9185", "NI9AB", local(22, 18))))
    (ticket,) = tickets_of(r, "NI9AB")
    assert (ticket.valid_from, ticket.valid_until) == (local(23, 7), local(23, 21))


def test_nis14_second_day_ticket_in_the_same_zone_is_refused() -> None:
    r = replay()
    accepted(r.feed(sms("9184", "NI9AC", local(24, 8))))
    out = r.feed(sms("9184", "NI9AC", local(24, 9)))
    assert refused(out).rule == "NIS-14" and out.ledger == []


# -- NIS-4 / NIS-5 -------------------------------------------------------------------------


def test_nis4_extension_before_expiry_is_contiguous_and_red_second_hour_costs_180() -> None:
    r = replay()
    accepted(r.feed(sms("9181", "NI10AB", local(24, 9))))
    facts = accepted(r.feed(sms("9181", "NI10AB", local(24, 9, 40))))
    assert facts["price"] == rsd(180) and facts["extension"] is True
    first, second = tickets_of(r, "NI10AB")
    assert second.valid_from == first.valid_until == local(24, 10)
    assert second.valid_until == local(24, 11)


def test_nis4_green_zone_three_contiguous_hours() -> None:
    r = replay()
    for minute in (0, 50, 110):
        facts = accepted(r.feed(sms("9182", "NI11AB", local(24, 9) + timedelta(minutes=minute))))
        assert facts["price"] == rsd(45)
    assert [t.valid_until for t in tickets_of(r, "NI11AB")] == [
        local(24, 10),
        local(24, 11),
        local(24, 12),
    ]


def test_nis4_sms_after_the_paid_time_ended_starts_a_new_stay_at_first_hour_price() -> None:
    r = replay()
    accepted(r.feed(sms("9181", "NI12AB", local(24, 9))))
    facts = accepted(r.feed(sms("9181", "NI12AB", local(24, 10, 5))))
    assert facts["price"] == rsd(60) and facts["extension"] is False
    assert tickets_of(r, "NI12AB")[1].valid_from == local(24, 10, 5)


def test_nis5_red_zone_third_hour_is_refused_with_when_paying_is_possible() -> None:
    r = replay()
    accepted(r.feed(sms("9181", "NI13AB", local(24, 9))))
    accepted(r.feed(sms("9181", "NI13AB", local(24, 9, 30))))
    out = r.feed(sms("9181", "NI13AB", local(24, 10, 30)))
    outcome = refused(out)
    assert outcome.rule == "NIS-5"
    possible = local(24, 11, 30)  # paid until 11:00, then 30 minutes away from the zone
    assert datetime.fromisoformat(outcome.facts["possible_from"]) == possible
    assert "11:30" in out.notifications[0].text
    assert out.ledger == []


def test_nis5_extra_zone_second_hour_is_refused() -> None:
    r = replay()
    accepted(r.feed(sms("9180", "NI14AB", local(24, 9))))
    assert refused(r.feed(sms("9180", "NI14AB", local(24, 9, 30)))).rule == "NIS-5"


def test_nis5_lockout_refuses_inside_30_minutes_then_allows_paying_again() -> None:
    r = replay()
    accepted(r.feed(sms("9181", "NI15AB", local(24, 9))))
    accepted(r.feed(sms("9181", "NI15AB", local(24, 9, 50))))  # paid until 11:00 = max
    r.feed(tick(local(24, 11, 1)))
    out = r.feed(sms("9181", "NI15AB", local(24, 11, 10)))
    outcome = refused(out)
    assert outcome.rule == "NIS-5"
    assert datetime.fromisoformat(outcome.facts["possible_from"]) == local(24, 11, 30)
    # Another zone is fine during the lockout.
    accepted(r.feed(sms("9182", "NI15AB", local(24, 11, 15))))
    r.feed(tick(local(24, 11, 31)))
    facts = accepted(r.feed(sms("9181", "NI15AB", local(24, 11, 31))))
    assert facts["price"] == rsd(60)


def test_nis5_lockout_holds_even_if_no_tick_arrived_since_the_stay_ended() -> None:
    r = replay()
    accepted(r.feed(sms("9180", "NI16AB", local(24, 9))))  # extra zone: max 60 at once
    assert refused(r.feed(sms("9180", "NI16AB", local(24, 10, 20)))).rule == "NIS-5"
    accepted(r.feed(sms("9180", "NI16AB", local(24, 10, 30))))


# -- NIS-7 / NIS-8 -------------------------------------------------------------------------


def test_nis7_unreadable_sms_gets_resend_reply_and_nothing_is_charged() -> None:
    out = replay().feed(sms("9181", "NI 12#4", local(24, 9)))
    outcome = refused(out)
    assert outcome.rule == "NIS-7" and outcome.owner == PHONE
    (reply,) = out.notifications
    assert reply.kind == "unreadable" and reply.to == PHONE
    assert out.ledger == [] and out.validity == {}


def test_nis8_tariff_failure_gets_service_unavailable_reply_not_silence() -> None:
    city = RULES.cities["nis"]
    broken = dict(city.codes)
    broken["9181"] = ShortCode("9181", "no-such-product", city.codes["9181"].zone, False)
    rules = SmsParkingRules({"nis": SmsCity(**{**city.__dict__, "codes": broken})})
    out = replay(rules).feed(sms("9181", "NI17AB", local(24, 9)))
    assert refused(out).rule == "NIS-8"
    assert out.notifications[0].kind == "unavailable" and out.ledger == []


def test_nis8_gateway_apology_reply_in_the_city_language() -> None:
    note = service_unavailable_reply("nis", PHONE, "gw-1", local(24, 9))
    assert note.kind == "unavailable" and note.to == PHONE
    assert "Izvinjavamo se" in note.text


# -- NIS-9 / NIS-12 ------------------------------------------------------------------------


def test_nis9_operator_rejection_revokes_by_plate_and_pin_from_the_verdict_time() -> None:
    r = replay()
    facts = accepted(r.feed(sms("9181", "NI18AB", local(24, 9))))
    out = r.feed(verdict("ni-18ab", facts["pin"], False, local(24, 9, 3), "no credit"))
    (ticket,) = tickets_of(r, "NI18AB")
    assert ticket.state == "revoked" and ticket.revoked_at == local(24, 9, 3)
    (refund,) = out.ledger
    assert (refund.kind, refund.amount, refund.ticket_id) == ("refund", rsd(60), ticket.ticket_id)
    assert out.notifications[0].kind == "revoked" and out.notifications[0].to == PHONE
    # The revoked hour no longer counts: the next SMS starts a new stay at first-hour price.
    assert accepted(r.feed(sms("9181", "NI18AB", local(24, 9, 10))))["price"] == rsd(60)


def test_nis9_operator_acceptance_confirms_the_ticket() -> None:
    r = replay()
    facts = accepted(r.feed(sms("9182", "NI19AB", local(24, 9))))
    r.feed(verdict("NI19AB", facts["pin"], True, local(24, 9, 3)))
    assert tickets_of(r, "NI19AB")[0].state == "confirmed"


def test_nis9_ticket_without_verdict_is_confirmed_when_the_window_passes() -> None:
    r = replay()
    accepted(r.feed(sms("9182", "NI20AB", local(24, 9))))
    r.feed(tick(local(24, 9, 5)))
    assert tickets_of(r, "NI20AB")[0].state == "provisional"
    r.feed(tick(local(24, 9, 11)))
    (ticket,) = tickets_of(r, "NI20AB")
    assert ticket.state == "confirmed" and ticket.details["verdict"] == "timeout"


def test_nis9_verdict_with_unknown_pin_is_refused_and_changes_nothing() -> None:
    r = replay()
    accepted(r.feed(sms("9182", "NI21AB", local(24, 9))))
    out = r.feed(verdict("NI21AB", "000000000000", False, local(24, 9, 3)))
    assert refused(out).rule == "NIS-9" and out.ledger == []
    assert tickets_of(r, "NI21AB")[0].state == "provisional"


def test_nis12_charge_is_recorded_for_the_operator_with_its_verdict() -> None:
    r = replay()
    out = r.feed(sms("9182", "NI22AB", local(24, 9)))
    (charge,) = out.ledger
    assert (charge.purse, charge.kind, charge.holder, charge.amount) == (
        "operator",
        "charge",
        PHONE,
        rsd(45),
    )
    facts = accepted(out)
    r.feed(verdict("NI22AB", facts["pin"], True, local(24, 9, 3)))
    (ticket,) = tickets_of(r, "NI22AB")
    assert ticket.details["operator"] == "mts" and ticket.details["verdict"] == "accepted"


# -- NIS-10 and the timers -----------------------------------------------------------------


def test_nis10_warning_five_minutes_before_the_end_exactly_once() -> None:
    r = replay(partitions=3)
    accepted(r.feed(sms("9182", "NI23AB", local(24, 9))))
    assert r.feed(tick(local(24, 9, 54))).notifications == []
    out = r.feed(tick(local(24, 9, 55)))
    (warning,) = out.notifications
    assert warning.kind == "warning" and warning.to == PHONE
    assert "24.11.2026 10:00" in warning.text
    again = r.feed(tick(local(24, 9, 55)), tick(local(24, 9, 56)), tick(local(24, 9, 57)))
    assert again.notifications == []


def test_nis10_extension_moves_the_warning_to_the_new_end() -> None:
    r = replay()
    accepted(r.feed(sms("9182", "NI24AB", local(24, 9))))
    accepted(r.feed(sms("9182", "NI24AB", local(24, 9, 30))))
    assert r.feed(tick(local(24, 9, 56))).notifications == []
    (warning,) = r.feed(tick(local(24, 10, 55))).notifications
    assert "11:00" in warning.text


def test_nis10_redelivered_sms_never_charges_or_replies_twice() -> None:
    r = replay()
    first = r.feed(sms("9182", "NI25AB", local(24, 9), event_id="dup-1"))
    again = r.feed(sms("9182", "NI25AB", local(24, 9), event_id="dup-1"))
    assert len(first.ledger) == 1 and again.ledger == [] and again.notifications == []


def test_expired_tickets_are_kept_as_recent_then_the_validity_key_is_removed() -> None:
    """NIS-9, ENF-1: an expired ticket stays visible as recent evidence, then its key is removed."""
    r = replay()
    accepted(r.feed(sms("9182", "NI26AB", local(24, 9))))
    r.feed(tick(local(24, 12)))
    assert len(tickets_of(r, "NI26AB")) == 1  # expired but recent: "expired since 10:00"
    r.feed(tick(local(25, 10, 1)))
    assert r.out.validity[validity_key("nis", "plate", "NI26AB", "NI26AB")] is None


def test_same_events_replayed_give_identical_ledger_and_validity() -> None:
    """NIS-6, NIS-12: replaying the same SMS events gives the identical ledger and validity."""

    def run() -> Replay:
        r = replay(partitions=3)
        r.feed(
            sms("9181", "NI27AB", local(24, 9), "a1"),
            sms("9181", "NI27AB", local(24, 9, 50), "a2"),
            sms("9182", "NI28AB", local(24, 9), "a3"),
            tick(local(24, 10, 56)),
        )
        return r

    one, two = run(), run()
    assert one.out.ledger == two.out.ledger
    assert one.out.validity == two.out.validity
    assert one.out.notifications == two.out.notifications


@pytest.mark.parametrize("partitions", [1, 5])
def test_nis9_verdict_reaches_the_plate_state_whatever_the_partitioning(partitions: int) -> None:
    r = replay(partitions=partitions)
    facts = accepted(r.feed(sms("9181", "NI29AB", local(24, 9))))
    r.feed(verdict("NI29AB", facts["pin"], False, local(24, 9, 2)))
    assert tickets_of(r, "NI29AB")[0].state == "revoked"


def test_nis10_redelivery_restores_a_warning_timer_lost_in_a_crash() -> None:
    """A crash may keep the plate's state but lose the timer index write of its batch;
    the redelivered SMS (a duplicate) schedules the warning again, and it fires once."""
    r = replay(partitions=1)
    accepted(r.feed(sms("9182", "NI30AB", local(24, 9), event_id="lost-1")))
    r.store.tables["timers"].clear()  # the lost write
    r.feed(sms("9182", "NI30AB", local(24, 9), event_id="lost-1"))
    (warning,) = r.feed(tick(local(24, 9, 55)), tick(local(24, 9, 56))).notifications
    assert warning.kind == "warning"
