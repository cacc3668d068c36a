"""moBILET (MOB-1..6) and ZCS (ZCS-2..8) app parking through the real engine and tariff.

Prices of these cities are example prices in their configs, so expectations are either
relations that must hold whatever the prices (capture + release = hold, refund = paid -
cost) or the tariff kernel's own quote for the same stay.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.app_parking import make_rules
from streams.contract import Event, make_event, validity_key
from streams.runtime.replay import Published, Replay
from tariff_kernel import charging_window, load_city, quote_stay

WARSAW = ZoneInfo("Europe/Warsaw")
ROME = ZoneInfo("Europe/Rome")
RULES = make_rules(["mobilet", "zcs"])
MOB = RULES.cities["mobilet"]
ZCS = RULES.cities["zcs"]
MOB_ZONE = sorted(MOB.products)[0]
ZCS_ZONE = sorted(ZCS.products)[0]
_seq = iter(range(1_000_000))


def warsaw(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WARSAW)  # 24th is a Tuesday


def window_start(city: str, zone: str, day_noon: datetime) -> datetime:
    found = charging_window(city, zone, day_noon)
    assert found is not None
    return found[0]


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME)


def ev(city: str, type_: str, at: datetime, event_id: str | None = None, **data) -> Event:
    return make_event(type_, city, data, at, id=event_id or f"{type_}-{next(_seq)}")


def replay(partitions: int = 2) -> Replay:
    return Replay(
        {"mobilet": "app_parking", "zcs": "app_parking"}, {"app_parking": RULES}, partitions
    )


def only_outcome(out: Published):
    (outcome,) = out.outcomes
    return outcome


def topup(r: Replay, city: str, account: str, amount: int, at: datetime) -> Published:
    return r.feed(ev(city, "wallet.topup", at, account_id=account, amount=amount, method="card"))


def plates_record(r: Replay, city: str, plate: str, account: str):
    return r.out.validity[validity_key(city, "plate", plate, account)]


# -- MOB -----------------------------------------------------------------------------------


def test_mob1_wallet_stay_is_charged_from_the_prepaid_wallet_with_balance_after() -> None:
    r = replay()
    topup(r, "mobilet", "acc1", 10_000, warsaw(24, 9))
    start = ev(
        "mobilet",
        "parking.start",
        warsaw(24, 10),
        "s1",
        account_id="acc1",
        plate="KR 12345",
        zone=MOB_ZONE,
        payment="wallet",
        max_minutes=60,
    )
    out = r.feed(start)
    price = quote_stay("mobilet", MOB.products[MOB_ZONE], warsaw(24, 10), minutes=60).price
    (charge,) = out.ledger
    assert (charge.purse, charge.kind, charge.amount) == ("wallet", "charge", price)
    assert charge.balance_after == 10_000 - price and charge.caused_by == "s1"


def test_mob1_insufficient_wallet_is_refused_with_the_reason() -> None:
    r = replay()
    topup(r, "mobilet", "acc2", 1, warsaw(24, 9))
    out = r.feed(
        ev(
            "mobilet",
            "parking.start",
            warsaw(24, 10),
            account_id="acc2",
            plate="KR1",
            zone=MOB_ZONE,
            payment="wallet",
            max_minutes=120,
        )
    )
    outcome = only_outcome(out)
    assert (outcome.outcome, outcome.rule) == ("refused", "MOB-1")
    assert out.ledger == [] and "środków" in out.notifications[0].text


def test_mob1_card_hold_for_the_maximum_then_early_stop_captures_cost_releases_rest() -> None:
    r = replay()
    start = ev(
        "mobilet",
        "parking.start",
        warsaw(24, 10),
        "c1",
        account_id="acc3",
        plate="KR2",
        zone=MOB_ZONE,
        payment="card",
        max_minutes=120,
    )
    (hold,) = r.feed(start).ledger
    assert (hold.purse, hold.kind) == ("card", "hold")
    out = r.feed(ev("mobilet", "parking.stop", warsaw(24, 10, 37), account_id="acc3", stay_id="c1"))
    kinds = {e.kind: e.amount for e in out.ledger}
    cost = quote_stay(
        "mobilet", MOB.products[MOB_ZONE], warsaw(24, 10), end=warsaw(24, 10, 37)
    ).price
    assert kinds["capture"] == cost
    assert kinds["capture"] + kinds["release"] == hold.amount
    (ent,) = plates_record(r, "mobilet", "KR2", "acc3").entitlements
    assert ent.valid_until == warsaw(24, 10, 37) and ent.price == cost


def test_mob1_card_stay_running_to_its_maximum_is_captured_once_by_the_clock() -> None:
    r = replay(partitions=3)
    start = ev(
        "mobilet",
        "parking.start",
        warsaw(24, 10),
        "c2",
        account_id="acc4",
        plate="KR3",
        zone=MOB_ZONE,
        payment="card",
        max_minutes=30,
    )
    (hold,) = r.feed(start).ledger
    tick = lambda at: ev("mobilet", "clock.tick", at)  # noqa: E731
    assert r.feed(tick(warsaw(24, 10, 29))).ledger == []
    out = r.feed(tick(warsaw(24, 10, 30)))
    assert sum(e.amount for e in out.ledger if e.kind == "capture") == hold.amount
    assert [n.kind for n in out.notifications] == ["expired"]
    again = r.feed(tick(warsaw(24, 10, 30)), tick(warsaw(24, 10, 31)))
    assert again.ledger == [] and again.notifications == []


def test_mob2_extension_without_returning_to_the_car_charges_the_difference() -> None:
    r = replay()
    topup(r, "mobilet", "acc5", 50_000, warsaw(24, 9))
    r.feed(
        ev(
            "mobilet",
            "parking.start",
            warsaw(24, 10),
            "w1",
            account_id="acc5",
            plate="KR4",
            zone=MOB_ZONE,
            payment="wallet",
            max_minutes=30,
        )
    )
    out = r.feed(
        ev(
            "mobilet",
            "parking.extend",
            warsaw(24, 10, 20),
            account_id="acc5",
            stay_id="w1",
            minutes=30,
        )
    )
    product = MOB.products[MOB_ZONE]
    whole = quote_stay("mobilet", product, warsaw(24, 10), end=warsaw(24, 11)).price
    first = quote_stay("mobilet", product, warsaw(24, 10), minutes=30).price
    (charge,) = out.ledger
    assert charge.amount == whole - first
    (ent,) = plates_record(r, "mobilet", "KR4", "acc5").entitlements
    assert ent.valid_until == warsaw(24, 11)


def test_mob2_pay_per_minute_early_stop_refunds_the_unused_part_to_the_wallet() -> None:
    r = replay()
    topup(r, "mobilet", "acc6", 50_000, warsaw(24, 9))
    (charge,) = r.feed(
        ev(
            "mobilet",
            "parking.start",
            warsaw(24, 10),
            "w2",
            account_id="acc6",
            plate="KR5",
            zone=MOB_ZONE,
            payment="wallet",
            max_minutes=180,
        )
    ).ledger
    out = r.feed(ev("mobilet", "parking.stop", warsaw(24, 10, 41), account_id="acc6", stay_id="w2"))
    cost = quote_stay(
        "mobilet", MOB.products[MOB_ZONE], warsaw(24, 10), end=warsaw(24, 10, 41)
    ).price
    (refund,) = out.ledger
    assert refund.kind == "refund" and refund.amount == charge.amount - cost
    assert refund.balance_after == 50_000 - cost


def test_mob3_start_confirms_time_is_running_and_the_ticket_is_valid_from_the_server_time() -> None:
    r = replay()
    out = r.feed(
        ev(
            "mobilet",
            "parking.start",
            warsaw(24, 10, 5),
            "c3",
            account_id="acc7",
            plate="kr-777",
            zone=MOB_ZONE,
            payment="card",
            max_minutes=60,
        )
    )
    (push,) = out.notifications
    assert push.channel == "push" and push.to == "acc7" and push.kind == "started"
    (ent,) = plates_record(r, "mobilet", "KR777", "acc7").entitlements
    assert ent.valid_from == warsaw(24, 10, 5) and ent.channel == "app"
    assert ent.ticket_id == "c3"


def test_mob4_one_account_wallet_pays_stays_in_every_subzone() -> None:
    r = replay()
    topup(r, "mobilet", "acc8", 50_000, warsaw(24, 9))
    balances = []
    for n, zone in enumerate(sorted(MOB.products)):
        out = r.feed(
            ev(
                "mobilet",
                "parking.start",
                warsaw(24, 10),
                account_id="acc8",
                plate=f"KR8{n}",
                zone=zone,
                payment="wallet",
                max_minutes=60,
            )
        )
        balances.append(out.ledger[0].balance_after)
    assert balances == sorted(balances, reverse=True) and len(set(balances)) == len(balances)


def test_mob5_a_start_from_sms_or_web_channel_is_the_same_stay_as_from_the_app() -> None:
    r = replay()
    facts = []
    for n, source in enumerate(["urn:mobilet:app", "urn:mobilet:sms", "urn:mobilet:web"]):
        event = make_event(
            "parking.start",
            "mobilet",
            {
                "account_id": f"acc9{n}",
                "plate": "KR9",
                "zone": MOB_ZONE,
                "payment": "card",
                "max_minutes": 60,
            },
            warsaw(24, 10),
            id=f"ch{n}",
            source=source,
        )
        facts.append(only_outcome(r.feed(event)).facts["price"])
    assert len(set(facts)) == 1


def test_mob6_registration_is_free_a_new_account_has_no_charge() -> None:
    r = replay()
    out = r.feed(
        ev("mobilet", "account.plate_added", warsaw(24, 9), account_id="new1", plate="KR10")
    )
    assert out.ledger == [] and only_outcome(out).outcome == "accepted"
    state = r.store.get("app_parking", "mobilet|new1")["state"]
    assert state["wallet"] == 0 and state["plates"] == ["KR10"]


# -- ZCS -----------------------------------------------------------------------------------


def zcs_start(
    r: Replay, at: datetime, end: datetime, event_id: str, account: str = "it1", **extra
) -> Published:
    return r.feed(
        ev(
            "zcs",
            "parking.start",
            at,
            event_id,
            account_id=account,
            plate="AB123CD",
            zone=ZCS_ZONE,
            payment="wallet",
            end=end,
            **extra,
        )
    )


def test_zcs2_new_plate_is_saved_and_deleting_it_keeps_its_stays() -> None:
    r = replay()
    topup(r, "zcs", "it2", 10_000, rome(24, 9))
    zcs_start(r, rome(24, 10), rome(24, 11), "z1", account="it2")
    state = r.store.get("app_parking", "zcs|it2")["state"]
    assert state["plates"] == ["AB123CD"]
    r.feed(ev("zcs", "account.plate_removed", rome(24, 10, 5), account_id="it2", plate="ab 123 cd"))
    state = r.store.get("app_parking", "zcs|it2")["state"]
    assert state["plates"] == [] and [s["id"] for s in state["stays"]] == ["z1"]
    assert plates_record(r, "zcs", "AB123CD", "it2").entitlements[0].ticket_id == "z1"


def test_zcs3_start_and_end_are_clamped_to_the_area_charging_hours() -> None:
    r = replay()
    topup(r, "zcs", "it3", 10_000, rome(24, 5))
    opens = window_start("zcs", ZCS_ZONE, rome(24, 12))
    closes = charging_window("zcs", ZCS_ZONE, rome(24, 12))[1]
    early = opens - timedelta(hours=1)
    out = zcs_start(r, early, early + timedelta(hours=2), "z2", account="it3")
    facts = only_outcome(out).facts
    assert datetime.fromisoformat(facts["start"]) == opens
    (ent,) = plates_record(r, "zcs", "AB123CD", "it3").entitlements
    assert ent.valid_from == opens and ent.valid_until <= closes


def test_zcs3_end_before_the_start_is_refused() -> None:
    r = replay()
    topup(r, "zcs", "it4", 10_000, rome(24, 9))
    outcome = only_outcome(zcs_start(r, rome(24, 12), rome(24, 11), "z3", account="it4"))
    assert (outcome.outcome, outcome.rule) == ("refused", "ZCS-3")


def test_zcs4_stay_starts_at_confirmation_not_at_the_entered_start() -> None:
    r = replay()
    topup(r, "zcs", "it5", 10_000, rome(24, 9))
    out = zcs_start(
        r, rome(24, 12, 13), rome(24, 13), "z4", account="it5", requested_start=rome(24, 12, 11)
    )
    assert datetime.fromisoformat(only_outcome(out).facts["start"]) == rome(24, 12, 13)


def test_zcs5_cost_goes_to_the_wallet_card_is_refused_and_topup_mentions_invoice() -> None:
    r = replay()
    note = topup(r, "zcs", "it6", 10_000, rome(24, 9)).notifications[0]
    assert "fattura" in note.text
    out = r.feed(
        ev(
            "zcs",
            "parking.start",
            rome(24, 10),
            account_id="it6",
            plate="AB1",
            zone=ZCS_ZONE,
            payment="card",
            end=rome(24, 11),
        )
    )
    assert only_outcome(out).rule == "ZCS-5" and out.ledger == []
    (charge,) = zcs_start(r, rome(24, 10), rome(24, 11), "z5", account="it6").ledger
    assert charge.purse == "wallet" and charge.kind == "charge"


def test_zcs5_insufficient_wallet_is_refused() -> None:
    r = replay()
    outcome = only_outcome(zcs_start(r, rome(24, 10), rome(24, 11), "z6", account="it7"))
    assert (outcome.outcome, outcome.rule) == ("refused", "ZCS-5")


def test_zcs6_price_never_exceeds_the_area_maximum_and_the_end_is_the_latest_it_covers() -> None:
    r = replay()
    topup(r, "zcs", "it8", 100_000, rome(24, 7))
    closes = charging_window("zcs", ZCS_ZONE, rome(24, 12))[1]
    opens = window_start("zcs", ZCS_ZONE, rome(24, 12))
    out = zcs_start(r, opens, closes + timedelta(hours=5), "z7", account="it8")
    facts = only_outcome(out).facts
    whole_day = quote_stay("zcs", ZCS.products[ZCS_ZONE], opens, end=closes)
    assert facts["capped"] is True and whole_day.capped
    assert facts["price"] == whole_day.price
    assert datetime.fromisoformat(facts["end"]) == closes
    extended = r.feed(
        ev(
            "zcs",
            "parking.extend",
            opens + timedelta(hours=1),
            account_id="it8",
            stay_id="z7",
            minutes=60,
        )
    )
    assert extended.ledger == []  # nothing more than the maximum, ever


def test_zcs7_minimum_cost_is_charged_for_a_very_short_stay() -> None:
    r = replay()
    topup(r, "zcs", "it9", 10_000, rome(24, 9))
    out = zcs_start(r, rome(24, 10), rome(24, 10, 2), "z8", account="it9")
    facts = only_outcome(out).facts
    assert facts["minimum_applied"] is True
    assert (
        out.ledger[0].amount
        == quote_stay("zcs", ZCS.products[ZCS_ZONE], rome(24, 10), end=rome(24, 10, 2)).price
    )


def test_zcs8_extension_charges_the_extra_and_early_stop_refunds_the_unused_part() -> None:
    r = replay()
    topup(r, "zcs", "it10", 10_000, rome(24, 9))
    (first,) = zcs_start(r, rome(24, 10), rome(24, 11), "z9", account="it10").ledger
    (extra,) = r.feed(
        ev(
            "zcs",
            "parking.extend",
            rome(24, 10, 30),
            account_id="it10",
            stay_id="z9",
            end=rome(24, 12),
        )
    ).ledger
    product = ZCS.products[ZCS_ZONE]
    assert (
        first.amount + extra.amount
        == quote_stay("zcs", product, rome(24, 10), end=rome(24, 12)).price
    )
    out = r.feed(ev("zcs", "parking.stop", rome(24, 11), account_id="it10", stay_id="z9"))
    cost = quote_stay("zcs", product, rome(24, 10), end=rome(24, 11)).price
    (refund,) = out.ledger
    assert refund.amount == first.amount + extra.amount - cost
    assert refund.balance_after == 10_000 - cost


def test_zcs8_stopping_an_unknown_or_ended_stay_is_refused() -> None:
    r = replay()
    outcome = only_outcome(
        r.feed(ev("zcs", "parking.stop", rome(24, 10), account_id="it11", stay_id="nope"))
    )
    assert (outcome.outcome, outcome.rule) == ("refused", "ZCS-8")


@pytest.mark.parametrize("partitions", [1, 4])
def test_redelivered_app_events_never_charge_twice(partitions: int) -> None:
    """MOB-1, ZCS-5: a redelivered app event never charges the wallet or the card twice."""
    r = replay(partitions)
    events = [
        ev("zcs", "wallet.topup", rome(24, 9), "t1", account_id="it12", amount=5000, method="app"),
        ev(
            "zcs",
            "parking.start",
            rome(24, 10),
            "t2",
            account_id="it12",
            plate="AB9",
            zone=ZCS_ZONE,
            payment="wallet",
            end=rome(24, 11),
        ),
        ev("zcs", "parking.stop", rome(24, 10, 30), "t3", account_id="it12", stay_id="t2"),
    ]
    first = r.feed(*events)
    again = r.feed(*events)
    assert again.ledger == [] and again.notifications == []
    wallet = [e for e in first.ledger if e.purse == "wallet"]
    signed = sum(e.amount if e.kind in ("topup", "refund") else -e.amount for e in wallet)
    assert signed == wallet[-1].balance_after


def test_load_city_currency_is_used_for_money() -> None:
    """MOB-1, ZCS-5: money is kept in the city's currency, in minor units."""
    r = replay()
    (entry,) = topup(r, "zcs", "it13", 100, rome(24, 9)).ledger
    assert entry.currency == load_city("zcs").currency
