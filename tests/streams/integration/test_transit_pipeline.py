"""The transit pipeline on real Kafka with a running worker (HKR and TRN end to end).

One worker (event clock) on its own topics and only the transit cities; events are
produced the way every producer does (keyed by `routing_key`), outputs read back from
the notifications, ledger, validity and outcomes topics. Hradec: register → five tickets
by missed call → the 6th refused by voice → the 6th by SMS; spending up to the 2 000 CZK
limit → suspension → renewal → ordering again. The worker is then killed (SIGKILL) in the
middle of the stream and a new one takes over from the changelogs: Tarnów's check-in and
check-out after 10 stops, a tap repeated with the same counter (charged once), a group
of three refunded at check-out, an online top-up pending through an interrupted sync and
written at a completed one. The kill lands in a burst of demo traffic, between a batch's
published records and its state write. Every record id is published with one content
only, and the ledger, the outcomes and the final validity of every key equal what the
same events give through Replay.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.contract import Event, make_event
from streams.demo_transit import demo_events
from streams.runtime.replay import Replay
from streams.systems import load_rules
from tariff_kernel import check_in_deposit, ride_refund, transit_product

pytestmark = pytest.mark.integration

CITIES = {"hradec": "missed_call", "tarnow": "card_fare"}
PRAGUE, WARSAW = ZoneInfo("Europe/Prague"), ZoneInfo("Europe/Warsaw")
PHONE = "420601000111"
CARD, FRIEND_CARD = "TRN-INT-1", "TRN-INT-2"


def prague(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=PRAGUE)


def warsaw(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 11, 24, h, m, s, tzinfo=WARSAW)


def call(event_id: str, to: str, at: datetime) -> Event:
    return make_event("call.missed", "hradec", {"msisdn": PHONE, "to": to}, at, id=event_id)


def sms(event_id: str, text: str, at: datetime) -> Event:
    data = {"msisdn": PHONE, "to": "90230", "text": text, "operator": "o2"}
    return make_event("sms.received", "hradec", data, at, id=event_id)


def card(event_id: str, type_: str, at: datetime, card_id: str = CARD, **data) -> Event:
    return make_event(type_, "tarnow", {"card_id": card_id, **data}, at, id=event_id)


def tap(event_id: str, counter: int, stop: int, at: datetime, card_id: str = CARD) -> Event:
    return card(
        event_id,
        "card.tap",
        at,
        card_id,
        validator_id="V-1",
        trip_id="L5-0800",
        stop_seq=stop,
        counter=counter,
        card_class="standard",
        entitlement="normal",
    )


def hradec_events() -> tuple[list[Event], list[Event]]:
    """(register, 5 tickets, 6th by call, 6th by SMS), (limit, suspension, renewal)."""
    day_product = transit_product("hradec", "910301024")
    first = [
        call("h-reg", "910301000", prague(24, 7)),
        sms("h-ano", "ano hkr", prague(24, 7, 1)),
        *(call(f"h-call{n}", "910301001", prague(24, 8, n)) for n in range(5)),
        call("h-call6", "910301003", prague(24, 8, 10)),
        sms("h-sms6", "ZLEVNENA HKR", prague(24, 8, 11)),
    ]
    # Day tickets, five a day from the 25th: 2 000 CZK minus the 150 CZK spent above.
    spent = 5 * transit_product("hradec", "910301001").amount
    count = (200_000 - spent) // day_product.amount
    limit = [call(f"h-day{n}", "910301024", prague(25 + n // 5, 9, n % 5)) for n in range(count)]
    after = prague(25 + count // 5 + 1, 9)
    limit += [
        call("h-over", "910301024", after),
        sms("h-renew", "ANO HKR", after + timedelta(minutes=1)),
        call("h-again", "910301003", after + timedelta(minutes=2)),
    ]
    return first, limit


def tarnow_events() -> tuple[list[Event], list[Event]]:
    """(funding and the ride, up to the check-in), (the rest after the worker restarts)."""
    group = {
        "validator_id": "V-1",
        "trip_id": "L5-0800",
        "stop_seq": 1,
        "counter": 1,
        "card_class": "standard",
        "entitlement": "normal",
        "include_self": True,
        "tickets": [
            {"entitlement": "normal", "count": 1},
            {"entitlement": "local_reduced", "count": 1},
        ],
    }
    before = [
        card("c-cash", "card.epurse_topup", warsaw(7), machine_id="P-1", amount=5000),
        card("c-move", "card.transfer", warsaw(7, 1), validator_id="V-1", amount=5000),
        tap("c-in", 1, 2, warsaw(8)),
        tap("c-in-again", 1, 2, warsaw(8, 0, 3)),  # TRN-3: uncertain write, same counter
    ]
    after = [
        tap("c-out", 2, 12, warsaw(8, 30)),
        card("c-order", "card.online_order", warsaw(9), FRIEND_CARD, kind="topup", amount=3000),
        card(
            "c-sync-cut", "card.sync", warsaw(10), FRIEND_CARD, validator_id="V-2", completed=False
        ),
        card("c-group", "card.group", warsaw(10, 1), FRIEND_CARD, **group),
        card("c-sync", "card.sync", warsaw(10, 2), FRIEND_CARD, validator_id="V-2"),
        card("c-group2", "card.group", warsaw(10, 3), FRIEND_CARD, **group),
        tap("c-group-out", 2, 9, warsaw(10, 30), FRIEND_CARD),
    ]
    return before, after


def test_transit_on_real_kafka_survives_a_killed_worker(
    run_worker, pipeline, city_config, topic_prefix: str
) -> None:
    prefix = f"{topic_prefix}transit{secrets.token_hex(2)}."
    env = {
        "PLATFORM_TOPIC_PREFIX": prefix,
        "PLATFORM_CONFIG_DIR": str(city_config(CITIES)),
        "STREAMS_STORE": "memory://",
        "STREAMS_PARTITIONS": "3",
        # The killed worker's partitions move to its successor after this many seconds.
        "STREAMS_SESSION_TIMEOUT": "8",
    }
    worker = run_worker(**env)
    pipe = pipeline(prefix, CITIES)
    pipe.workers = [worker]
    hradec_first, hradec_limit = hradec_events()
    tarnow_before, tarnow_after = tarnow_events()
    # HKR-1, HKR-6, HKR-8: register, five by call, the 6th refused by voice, by SMS.
    pipe.send(*hradec_first, *tarnow_before)
    outcomes = pipe.wait_for("h-sms6", "c-in-again")
    assert outcomes["h-ano"]["facts"]["registration"] == "active"
    assert all(outcomes[f"h-call{n}"]["outcome"] == "accepted" for n in range(5))
    assert (outcomes["h-call6"]["outcome"], outcomes["h-call6"]["rule"]) == ("refused", "HKR-6")
    pipe.wait(lambda: bool(pipe.notifications("h-call6")), timeout_s=60)
    assert [n["channel"] for n in pipe.notifications("h-call6")] == ["voice"]
    assert outcomes["h-sms6"]["outcome"] == "accepted"
    code = outcomes["h-sms6"]["facts"]["code"]
    # HKR-9: the validity topic is consumed beside the outcomes topic, so the ticket's
    # record may arrive after its outcome: wait for it rather than assume the order.
    ticket_key = f"hradec|ticket|{code}|{PHONE}"
    pipe.wait(lambda: pipe.validity(ticket_key) is not None, timeout_s=20)
    assert outcomes["c-in-again"]["outcome"] == "duplicate"  # TRN-3

    # The worker dies mid-stream (no clean shutdown) while it works through a burst
    # of demo traffic: killed as soon as the burst's first outcome is out, i.e.
    # between publishing a batch's records and writing its state. A new one takes over.
    burst = demo_burst()
    pipe.send(*hradec_limit[:7], *burst)
    pipe.wait(lambda: any(e.id in pipe.outcomes() for e in burst))
    worker.popen.kill()
    worker.popen.wait(timeout=10)
    pipe.workers = [run_worker(**env)]
    pipe.send(*hradec_limit[7:], *tarnow_after)
    outcomes = pipe.wait_for("h-again", "c-group-out", "c-out", *(e.id for e in burst))

    # HKR-7: the order over the limit suspends; ANO HKR renews; ordering works again.
    assert (outcomes["h-over"]["outcome"], outcomes["h-over"]["rule"]) == ("refused", "HKR-7")
    assert outcomes["h-renew"]["rule"] == "HKR-7"
    assert outcomes["h-again"]["outcome"] == "accepted"

    # TRN-1/2: 10 stops, refund of the difference.
    assert outcomes["c-out"]["facts"]["stops"] == 10
    refund = ride_refund("tarnow", 10, "normal", "standard")
    assert outcomes["c-out"]["facts"]["refunded"] == refund
    # TRN-9: pending through the cut sync, written at the completed one; TRN-6: the
    # first group found no money, the second was charged per ticket and refunded.
    assert outcomes["c-sync-cut"]["outcome"] == "refused"
    assert (outcomes["c-group"]["outcome"], outcomes["c-group"]["rule"]) == ("refused", "TRN-4")
    assert outcomes["c-sync"]["facts"]["t_purse"] == 3000
    assert len(outcomes["c-group2"]["facts"]["tickets"]) == 3
    deposits = sum(
        check_in_deposit("tarnow", e, "standard") for e in ("normal", "normal", "local_reduced")
    )
    group_refund = sum(
        ride_refund("tarnow", 8, e, "standard") for e in ("normal", "normal", "local_reduced")
    )
    assert outcomes["c-group-out"]["facts"]["refunded"] == group_refund
    assert outcomes["c-group-out"]["facts"]["t_purse"] == 3000 - deposits + group_refund

    # Nothing lost, nothing charged twice: a record re-published after the kill is
    # byte for byte the first one (one content per id), and the ledger, the outcomes
    # and the final validity of every key are exactly what the same events give
    # through the in-memory engine (Replay, same partitioning).
    replay = Replay(CITIES, load_rules(CITIES), partitions=3)
    replay.feed(*hradec_first, *tarnow_before, *hradec_limit[:7], *burst)
    replay.feed(*hradec_limit[7:], *tarnow_after)
    expected = {e.id: json.loads(e.to_json()) for e in replay.out.ledger}
    pipe.wait(lambda: len({e["id"] for e in pipe.ledger()}) >= len(expected))
    by_id: dict[str, dict] = {}
    for entry in pipe.ledger():
        assert by_id.setdefault(entry["id"], entry) == entry
    assert by_id == expected
    seen_outcomes: dict[str, dict] = {}
    for _, outcome in pipe.records[pipe.topics.outcomes]:
        assert outcome is not None
        assert seen_outcomes.setdefault(outcome["id"], outcome) == outcome
    assert seen_outcomes == {o.id: json.loads(o.to_json()) for o in replay.out.outcomes}
    expected_validity = {
        k: json.loads(v.to_json()) if v is not None else None
        for k, v in replay.out.validity.items()
    }
    # The validity topic is read on its own: give its last records time to arrive.
    pipe.settle(lambda: pipe.final_validity() == expected_validity)
    assert pipe.final_validity() == expected_validity


def demo_burst() -> list[Event]:
    """Demo traffic of other phones and cards (no clock ticks), a few hundred events."""
    hradec = demo_events("hradec", prague(24, 12), 150, seed=7)
    tarnow = demo_events("tarnow", warsaw(12), 150, seed=7)
    return sorted(hradec + tarnow, key=lambda e: (e.time, e.id))
