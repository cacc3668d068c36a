"""Hradec Králové missed-call tickets (HKR-1..9) through the real engine (Replay).

Prices and validity come from the city's tariff config through the tariff kernel; the
numbers and keywords from its messages config, never from constants here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from streams.contract import Event, make_event, validity_key
from streams.missed_call import make_rules
from streams.runtime.replay import Published, Replay
from tariff_kernel import load_city, transit_product

PRAGUE = ZoneInfo("Europe/Prague")
HRADEC = load_city("hradec")
RULES = make_rules(["hradec"])
CITY = RULES.cities["hradec"]
PHONE = "420601234567"
REGISTER, SMS_NUMBER = CITY.registration_number, CITY.sms_number
FULL, REDUCED, DAY = "910301001", "910301003", "910301024"
KEYWORD = {product: word for word, product in CITY.keywords.orders.items()}

_seq = iter(range(1_000_000))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PRAGUE)


def call(to: str, at: datetime, phone: str = PHONE) -> Event:
    data = {"msisdn": phone, "to": to}
    return make_event("call.missed", "hradec", data, at, id=f"call-{next(_seq)}")


def sms(text: str, at: datetime, phone: str = PHONE, to: str = SMS_NUMBER) -> Event:
    data = {"msisdn": phone, "to": to, "text": text, "operator": "o2"}
    return make_event("sms.received", "hradec", data, at, id=f"sms-{next(_seq)}")


def tick(at: datetime) -> Event:
    return make_event("clock.tick", "hradec", {}, at, id=f"tick-{next(_seq)}")


def replay(partitions: int = 2) -> Replay:
    return Replay({"hradec": "missed_call"}, {"missed_call": RULES}, partitions)


def registered(r: Replay, at: datetime, phone: str = PHONE) -> None:
    r.feed(call(REGISTER, at, phone), sms("ANO HKR", at + timedelta(seconds=30), phone))


def only_outcome(out: Published):
    (outcome,) = out.outcomes
    return outcome


def test_hkr1_registration_by_missed_call_and_ano_hkr() -> None:
    r = replay()
    first = r.feed(call(REGISTER, local(24, 8)))
    (ask,) = first.notifications
    assert ask.channel == "sms" and ask.to == PHONE and "ANO HKR" in ask.text
    assert first.ledger == []
    welcome = r.feed(sms("  ano   hkr ", local(24, 8, 1)))
    assert only_outcome(welcome).facts["registration"] == "active"
    assert welcome.notifications[0].text == CITY.replies.render("welcome")
    ticket = r.feed(call(FULL, local(24, 8, 5)))
    assert only_outcome(ticket).outcome == "accepted" and len(ticket.ledger) == 1


def test_hkr2_each_number_issues_its_product_charged_through_the_operator() -> None:
    r = replay()
    registered(r, local(24, 8))
    for offset, number in enumerate((FULL, REDUCED, DAY)):
        at = local(24, 9, offset)
        out = r.feed(call(number, at))
        product = transit_product(HRADEC, number)
        (charge,) = out.ledger
        assert (charge.purse, charge.kind, charge.amount, charge.channel) == (
            "operator",
            "charge",
            product.amount,
            "missed_call",
        )
        outcome = only_outcome(out)
        until = datetime.fromisoformat(outcome.facts["valid_until"])
        assert until - at == timedelta(minutes=product.validity_minutes)
        (reply,) = out.notifications
        assert reply.kind == "ticket" and outcome.facts["code"] in reply.text


def test_hkr2_missed_call_to_another_number_is_ignored() -> None:
    r = replay()
    registered(r, local(24, 8))
    out = r.feed(call("910301099", local(24, 9)))
    assert only_outcome(out).outcome == "ignored" and out.notifications == []


def test_hkr3_unregistered_caller_gets_instructions_and_no_ticket() -> None:
    out = replay().feed(call(FULL, local(24, 9)))
    outcome = only_outcome(out)
    assert (outcome.outcome, outcome.rule) == ("refused", "HKR-3")
    (reply,) = out.notifications
    assert reply.channel == "sms" and "910 301 000" in reply.text
    assert out.ledger == [] and out.validity == {}


def test_hkr4_help_sms_returns_the_helpdesk() -> None:
    out = replay().feed(sms("help hkr", local(24, 9)))
    (reply,) = out.notifications
    assert "234 493 120" in reply.text and only_outcome(out).rule == "HKR-4"


def test_hkr5_stop_removes_the_phone_but_its_tickets_stay_valid() -> None:
    r = replay()
    registered(r, local(24, 8))
    bought = r.feed(call(DAY, local(24, 9)))
    code = only_outcome(bought).facts["code"]
    stopped = r.feed(sms("STOP HKR", local(24, 10)))
    assert only_outcome(stopped).rule == "HKR-5"
    again = r.feed(call(FULL, local(24, 11)))
    assert only_outcome(again).rule == "HKR-3" and again.ledger == []
    ticket_key = validity_key("hradec", "ticket", code, PHONE)
    phone_key = validity_key("hradec", "phone", PHONE, PHONE)
    assert r.out.validity[ticket_key] is not None
    assert [e.code for e in r.out.validity[phone_key].entitlements] == [code]


def test_hkr6_sixth_valid_ticket_by_call_refused_by_voice_then_bought_by_sms() -> None:
    r = replay()
    registered(r, local(24, 8))
    for minute in range(5):
        assert only_outcome(r.feed(call(FULL, local(24, 9, minute)))).outcome == "accepted"
    sixth = r.feed(call(REDUCED, local(24, 9, 10)))
    outcome = only_outcome(sixth)
    assert (outcome.outcome, outcome.rule) == ("refused", "HKR-6")
    (voice,) = sixth.notifications
    assert voice.channel == "voice" and voice.kind == "voice_limit"
    assert sixth.ledger == []
    by_sms = r.feed(sms(KEYWORD[REDUCED], local(24, 9, 11)))
    assert only_outcome(by_sms).rule == "HKR-8" and by_sms.ledger[0].channel == "sms"
    # Validity is by time: at 10:00:30 the 9:00 ticket has ended, five are still valid
    # (9:01..9:04 by call, 9:11 by SMS); at 10:01 the 9:01 one has ended too.
    half_past = local(24, 10) + timedelta(seconds=30)
    assert only_outcome(r.feed(call(FULL, half_past))).rule == "HKR-6"
    assert only_outcome(r.feed(call(FULL, local(24, 10, 1)))).outcome == "accepted"


def test_hkr7_limit_suspends_ordering_by_call_until_renewal() -> None:
    r = replay()
    registered(r, local(23, 7))
    day_price = transit_product(HRADEC, DAY).amount
    orders = CITY.registration_limit // day_price  # exactly the limit, 5 a day (HKR-6)
    for n in range(orders):
        at = local(23 + n // 5, 8, n % 5)
        assert only_outcome(r.feed(call(DAY, at))).outcome == "accepted", n
    over = r.feed(call(DAY, local(23 + orders // 5, 8, 30)))
    outcome = only_outcome(over)
    assert (outcome.outcome, outcome.rule) == ("refused", "HKR-7") and over.ledger == []
    assert "ANO HKR" in over.notifications[0].text
    later = local(23 + orders // 5, 9)
    assert only_outcome(r.feed(call(REDUCED, later))).rule == "HKR-7"
    # SMS ordering still works while suspended (HKR-8).
    assert only_outcome(r.feed(sms(KEYWORD[REDUCED], later))).outcome == "accepted"
    renewed = r.feed(sms("ANO HKR", later + timedelta(minutes=1)))
    assert only_outcome(renewed).rule == "HKR-7"
    assert renewed.notifications[0].text == CITY.replies.render(
        "renewed", amount_limit=CITY.registration_limit
    )
    again = r.feed(call(REDUCED, later + timedelta(minutes=2)))
    assert (
        only_outcome(again).facts["registration_total"] == transit_product(HRADEC, REDUCED).amount
    )


def test_hkr8_sms_orders_work_unregistered_and_do_not_count_towards_the_limit() -> None:
    r = replay()
    for minute in range(7):
        out = r.feed(sms(KEYWORD[FULL].lower(), local(24, 9, minute)))
        assert only_outcome(out).outcome == "accepted"
        assert only_outcome(out).facts["registration_total"] is None
    unknown = r.feed(sms("JIZDENKA", local(24, 9, 10)))
    assert only_outcome(unknown).rule == "HKR-8" and unknown.ledger == []


def test_hkr9_inspector_reads_a_ticket_code_and_a_phones_valid_tickets() -> None:
    r = replay(partitions=4)
    phones = [f"42060100{n:04d}" for n in range(12)]
    codes = []
    for n, phone in enumerate(phones):
        out = r.feed(sms(KEYWORD[FULL], local(24, 9, n), phone=phone))
        codes.append(only_outcome(out).facts["code"])
    assert len(set(codes)) == len(codes)  # unique across partitions
    record = r.out.validity[validity_key("hradec", "ticket", codes[3], phones[3])]
    (entitlement,) = record.entitlements
    assert entitlement.code == codes[3] and entitlement.valid_from == local(24, 9, 3)
    assert entitlement.valid_until == local(24, 10, 3)
    phone = r.out.validity[validity_key("hradec", "phone", phones[3], phones[3])]
    assert [e.code for e in phone.entitlements] == [codes[3]]


def test_hkr9_records_are_removed_a_day_after_the_ticket_ends() -> None:
    r = replay()
    out = r.feed(sms(KEYWORD[FULL], local(24, 9)))
    code = only_outcome(out).facts["code"]
    r.feed(tick(local(25, 9, 59)))
    ticket_key = validity_key("hradec", "ticket", code, PHONE)
    assert r.out.validity[ticket_key] is not None
    r.feed(tick(local(25, 10, 1)))
    assert r.out.validity[ticket_key] is None
    assert r.out.validity[validity_key("hradec", "phone", PHONE, PHONE)] is None
    assert r.store.get("missed_call", f"hradec|{PHONE}")["state"] is None


def test_hkr_redelivered_call_issues_one_ticket_and_replay_gives_the_same_ledger() -> None:
    """HKR-2: a redelivered missed call issues one ticket; a replay gives the same ledger."""
    events = [
        call(REGISTER, local(24, 8)),
        sms("ANO HKR", local(24, 8, 1)),
        call(FULL, local(24, 8, 2)),
        call(DAY, local(24, 8, 3)),
        sms(KEYWORD[REDUCED], local(24, 8, 4)),
    ]
    first = replay()
    first.feed(*events)
    first.feed(events[2])  # redelivered
    second = replay()
    second.feed(*events)
    assert len(first.out.ledger) == 3
    assert [e.to_json() for e in first.out.ledger] == [e.to_json() for e in second.out.ledger]
