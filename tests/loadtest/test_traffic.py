"""The traffic model: reproducible, valid contract events, rates as configured, city facts
from the configs, and the shapes the rules care about (NIS-4/5/7, HKR-3/6/7, TRN-2/3/6,
MOB-1, ZCS-3)."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from loadtest.cityfacts import city_facts
from loadtest.scenario import SCENARIO_DIR, ScenarioError, load_scenario, parse_scenario
from loadtest.traffic import Traffic, with_ticks
from streams.contract import parse_event, routing_key

CITY_DAY = load_scenario("city-day")
TUESDAY_8 = datetime.fromisoformat("2026-11-24T08:00:00+01:00")


def window(scenario=CITY_DAY, hours: float = 1.0, **kw: Any) -> tuple[Traffic, list]:
    traffic = Traffic(scenario, **kw)
    start = kw.get("start") or scenario.start
    return traffic, list(traffic.until(start + timedelta(hours=hours)))


@pytest.fixture(scope="module")
def morning() -> tuple[Traffic, list]:
    """City-day from Tuesday 08:00 for three hours, generated once for this module."""
    return window(hours=3.0, start=TUESDAY_8)


def one_city(city: str, arrivals_per_hour: float, **params: Any) -> dict[str, Any]:
    table = {"arrivals_per_hour": arrivals_per_hour, "population": 2000, **params}
    return {
        "scenario": {"name": "one", "start": TUESDAY_8.isoformat(), "seed": 3},
        "cities": {city: table},
    }


def test_same_seed_same_events_other_seed_other_events():
    _, first = window(hours=0.3, seed=11)
    _, again = window(hours=0.3, seed=11)
    _, other = window(hours=0.3, seed=12)
    assert len(first) > 100
    assert [e.to_cloudevent() for e in first] == [e.to_cloudevent() for e in again]
    assert [e.to_cloudevent() for e in first] != [e.to_cloudevent() for e in other]


def test_events_are_valid_contract_events_in_time_order_with_unique_ids(morning):
    _, events = morning
    systems = CITY_DAY.systems()
    assert all(a.time <= b.time for a, b in itertools.pairwise(events))
    assert len({e.id for e in events}) == len(events)
    for event in events:
        parsed = parse_event(event.to_json(), frozenset(systems))
        assert parsed.data == event.data
        assert routing_key(parsed, systems[event.city]).startswith(f"{event.city}|")
    assert {e.city for e in events} == set(systems)


def test_arrivals_per_hour_within_poisson_tolerance():
    traffic, _ = window(parse_scenario(one_city("nis", 3600)), hours=2.0)
    expected = 2 * 3600
    # 5 standard deviations of a Poisson count: chance never fails it, a 10 % rate
    # error (8.5 sigma here) always does
    assert abs(traffic.arrivals["nis"] - expected) < 5 * math.sqrt(expected)
    assert traffic.sessions["nis"] + traffic.lost["nis"] == traffic.arrivals["nis"]


def test_profile_shapes_arrivals_by_local_hour_and_weekday():
    raw = one_city("nis", 600)
    raw["profile"] = {
        "hours": [0.05] * 7 + [1.0] * 14 + [0.05] * 3,
        "weekdays": [1, 1, 1, 1, 1, 0.5, 0.1],
    }
    scenario = parse_scenario(raw)
    midnight = datetime.fromisoformat("2026-11-24T00:00:00+01:00")
    traffic = Traffic(scenario, start=midnight)
    by_hour: Counter[int] = Counter()
    for event in traffic.until(midnight + timedelta(days=1)):
        by_hour[event.time.astimezone(traffic.streams["nis"].zone).hour] += 1
    assert sum(by_hour[h] for h in range(8, 20)) > 10 * sum(by_hour[h] for h in range(1, 6))
    sunday = datetime.fromisoformat("2026-11-29T10:00:00+01:00")
    assert traffic.per_second(sunday) == pytest.approx(0.1 * traffic.per_second(TUESDAY_8))


def test_city_facts_come_from_the_city_configs(morning):
    _, events = morning
    nis_codes = set(city_facts("nis").sms_codes)
    hradec = city_facts("hradec")
    hradec_numbers = {hradec.registration_number, *hradec.ticket_numbers}
    hradec_texts = {hradec.confirm_keyword, hradec.stop_keyword, hradec.help_keyword}
    hradec_texts |= set(hradec.sms_keywords.values())
    for e in events:
        if e.city == "nis":
            assert e.data.to in nis_codes  # NIS-2
        elif e.city == "hradec" and e.type == "call.missed":
            assert e.data.to in hradec_numbers  # HKR-1, HKR-2
        elif e.city == "hradec":
            assert e.data.to == hradec.sms_number and e.data.text in hradec_texts  # HKR-8
        elif e.type == "parking.start":
            assert e.data.zone in city_facts(e.city).zones
            assert e.data.payment in city_facts(e.city).payments  # MOB-1, ZCS-5


def test_a_mix_naming_what_the_config_lacks_is_refused():
    with pytest.raises(ScenarioError, match="9999"):
        parse_scenario(one_city("nis", 10, mix={"9181": 1.0, "9999": 1.0}))
    with pytest.raises(ScenarioError, match="differs"):
        parse_scenario(one_city("nis", 10, timezone="Europe/Rome"))


def test_nis4_extensions_are_contiguous_nis5_over_max_and_nis7_unreadable_appear(morning):
    traffic, events = morning
    assert traffic.kinds["nis:extension"] > 0
    assert traffic.kinds["nis:over_max"] > 0
    assert traffic.kinds["nis:unreadable"] > 0
    per_sender = defaultdict(list)
    for e in events:
        if e.city == "nis":
            per_sender[(e.data.msisdn, e.data.to)].append(e.time)
    gaps = [b - a for ts in per_sender.values() for a, b in itertools.pairwise(ts)]
    # NIS-4: the next SMS comes before the paid hour ends
    assert any(timedelta(minutes=45) <= g < timedelta(minutes=60) for g in gaps)
    # NIS-5: a green-zone stay that asks for a 4th hour
    green = city_facts("nis").sms_codes["9182"].max_hours
    longest = max(len(ts) for (_, to), ts in per_sender.items() if to == "9182")
    assert longest >= green + 1


def test_hkr6_one_order_more_than_may_be_valid_follows_a_registration():
    hradec = city_facts("hradec")
    raw = one_city("hradec", 400, pocket_burst=0.2, unregistered_order=0.1)
    _, events = window(parse_scenario(raw), hours=1.0)
    by_phone = defaultdict(list)
    for e in events:
        by_phone[e.data.msisdn].append(e)
    bursts = 0
    for phone_events in by_phone.values():
        orders = [
            e
            for e in phone_events
            if e.type == "call.missed" and e.data.to in hradec.ticket_numbers
        ]
        n = hradec.max_valid_tickets + 1
        for i in range(len(orders) - n + 1):
            # a burst: n orders within 90 s (3-10 s apart); one phone's sessions never
            # overlap, so these are one session's orders, not single orders of several
            if orders[i + n - 1].time - orders[i].time < timedelta(seconds=90):
                bursts += 1
                before = phone_events[: phone_events.index(orders[i])]
                assert any(
                    e.type == "call.missed" and e.data.to == hradec.registration_number
                    for e in before
                )
                assert any(e.type == "sms.received" and e.data.text == "ANO HKR" for e in before)
                break
    assert bursts >= 5


def test_hkr3_unregistered_orders_and_hkr7_renewal_before_the_limit():
    hradec = city_facts("hradec")
    raw = one_city("hradec", 600, pocket_burst=0.3, unregistered_order=0.2)
    raw["cities"]["hradec"].update(population=30, regulars=5, repeat_share=0.9)
    traffic, events = window(parse_scenario(raw), hours=8.0)
    assert traffic.kinds["hradec:unregistered_order"] > 0  # HKR-3
    assert traffic.kinds["hradec:renewal"] > 0  # HKR-7
    spent: dict[str, int] = defaultdict(int)
    for e in events:
        if e.type == "sms.received" and e.data.text == hradec.confirm_keyword:
            spent[e.data.msisdn] = 0
        elif e.type == "call.missed" and e.data.to in hradec.ticket_prices:
            spent[e.data.msisdn] += hradec.ticket_prices[e.data.to]
            registered_orders = spent[e.data.msisdn]
            assert registered_orders <= hradec.registration_limit


def test_trn_rides_tap_out_later_on_the_same_trip_repeats_keep_the_counter_and_groups(morning):
    traffic, events = morning
    taps = defaultdict(list)
    for e in events:
        if e.type in ("card.tap", "card.group"):
            taps[e.data.card_id].append(e)
    rides = 0
    for card_taps in taps.values():
        for a, b in itertools.pairwise(card_taps):
            if a.data.trip_id == b.data.trip_id and b.data.counter == a.data.counter + 1:
                assert b.data.stop_seq > a.data.stop_seq  # TRN-2: exit after boarding
                rides += 1
            if a.data.counter == b.data.counter:
                assert a.data == b.data  # TRN-3: the repeated tap is the same operation
        counters = [e.data.counter for e in card_taps]
        assert counters == sorted(counters)  # one card, one counter, never going back
    assert rides > 50
    assert traffic.kinds["tarnow:repeated_tap"] > 0
    groups = [e for e in events if e.type == "card.group"]
    assert groups and all(g.data.include_self and g.data.tickets for g in groups)  # TRN-6


def test_app_stays_mob_card_holds_chosen_maximum_zcs_enters_an_end(morning):
    _, events = morning
    starts = [e for e in events if e.type == "parking.start"]
    mobilet = [e for e in starts if e.city == "mobilet"]
    zcs = [e for e in starts if e.city == "zcs"]
    assert mobilet and all(e.data.max_minutes and e.data.end is None for e in mobilet)  # MOB-3
    assert {e.data.payment for e in mobilet} == {"wallet", "card"}  # MOB-1
    assert zcs and all(e.data.end and e.data.end > e.time for e in zcs)  # ZCS-3
    topups = [e for e in events if e.type == "wallet.topup"]
    assert {e.city for e in topups} == {"mobilet", "zcs"}


def test_with_ticks_puts_one_tick_per_city_at_each_boundary_before_later_events():
    scenario = CITY_DAY
    traffic = Traffic(scenario, start=TUESDAY_8)
    events = list(
        with_ticks(
            traffic.until(TUESDAY_8 + timedelta(minutes=10)), scenario.city_ids(), TUESDAY_8, 60
        )
    )
    ticks = [e for e in events if e.type == "clock.tick"]
    assert Counter(t.city for t in ticks) == {c: 9 for c in scenario.city_ids()}  # 8:01..8:09
    last_tick = TUESDAY_8
    for e in events:
        if e.type == "clock.tick":
            assert routing_key(e, scenario.systems()[e.city]) == "tick"
            last_tick = e.time
        else:
            assert e.time >= last_tick  # nothing is sent after a tick later than itself


def test_one_session_at_a_time_per_card(morning):
    _, events = morning
    trips: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e.type in ("card.tap", "card.group"):
            trips[e.data.card_id].append(e.data.trip_id)
    for seq in trips.values():
        # a card's taps are grouped by trip: it never returns to a trip it left
        seen: list[str] = []
        for trip in seq:
            if not seen or seen[-1] != trip:
                assert trip not in seen
                seen.append(trip)


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_standard_scenario_loads_and_generates_for_every_city(path):
    scenario = load_scenario(path)
    assert scenario.freshness.get("short_code", "9182") in city_facts("nis").sms_codes
    traffic = Traffic(scenario, start=TUESDAY_8)
    cities = set()
    for event in traffic.until(TUESDAY_8 + timedelta(minutes=30)):
        cities.add(event.city)
        if cities == set(scenario.cities):
            break
    assert cities == set(scenario.cities)
