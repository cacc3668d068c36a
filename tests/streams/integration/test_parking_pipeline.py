"""The parking pipeline on real Kafka with a running worker (NIS, MOB, ZCS end to end).

One worker (event clock) on its own topics; events are produced the way every producer
does (keyed by `routing_key`), outputs are read back from the notifications, ledger,
validity and outcomes topics. Covers: Niš purchase, redelivery, extension, refusal at
the maximum stay, operator rejection revoking a ticket, the 5-minute warning exactly once
despite repeated ticks, the lockout and paying again after it; a moBILET card hold
stopped early (capture + release); a ZCS stay capped at the area's maximum cost.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.contract import Event, make_event

pytestmark = pytest.mark.integration

CITIES = {"nis": "sms_parking", "mobilet": "app_parking", "zcs": "app_parking"}
BELGRADE, WARSAW, ROME = (ZoneInfo(z) for z in ("Europe/Belgrade", "Europe/Warsaw", "Europe/Rome"))
PHONE_A, PHONE_B = "381641111111", "381642222222"


def nis(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 24, h, m, tzinfo=BELGRADE)  # a Tuesday


def sms(event_id: str, to: str, plate: str, at: datetime, phone: str = PHONE_A) -> Event:
    data = {"msisdn": phone, "to": to, "text": plate, "operator": "mts"}
    return make_event("sms.received", "nis", data, at, id=event_id)


def tick(city: str, at: datetime, event_id: str) -> Event:
    return make_event("clock.tick", city, {}, at, id=event_id)


def app(city: str, type_: str, event_id: str, at: datetime, **data) -> Event:
    return make_event(type_, city, data, at, id=event_id)


def test_parking_day_on_real_kafka(run_worker, pipeline, city_config, topic_prefix: str) -> None:
    """NIS-4/5/6/9/10/11/13, MOB-1, ZCS-6: a Niš day, a moBILET card hold, a capped ZCS stay."""
    prefix = f"{topic_prefix}parking{secrets.token_hex(2)}."
    worker = run_worker(
        PLATFORM_TOPIC_PREFIX=prefix,
        PLATFORM_CONFIG_DIR=str(city_config(CITIES)),
        STREAMS_STORE="memory://",
        STREAMS_PARTITIONS="3",
    )
    pipe = pipeline(prefix, CITIES)
    pipe.workers = [worker]
    # NIS-4/5/6: buy, redelivered SMS, extension, third red-zone hour refused.
    pipe.send(
        sms("n1", "9181", "NI100AA", nis(9)),
        sms("n1", "9181", "NI100AA", nis(9)),
        sms("n2", "9181", "NI100AA", nis(9, 40)),
        sms("n3", "9181", "NI100AA", nis(10, 30)),
        sms("n4", "9182", "NI200BB", nis(9), PHONE_B),
        # NIS-13: Friday 20:50 ends at 21:00; NIS-11: Sunday is carried to Monday 07:00.
        sms("n7", "9181", "NI300CC", datetime(2026, 11, 27, 20, 50, tzinfo=BELGRADE)),
        sms("n8", "9181", "NI400DD", datetime(2026, 11, 22, 11, 0, tzinfo=BELGRADE)),
        app(
            "mobilet",
            "parking.start",
            "m1",
            datetime(2026, 11, 24, 10, tzinfo=WARSAW),
            account_id="acc-int",
            plate="KR 1234",
            zone=_zone("mobilet"),
            payment="card",
            max_minutes=120,
        ),
        app(
            "mobilet",
            "parking.stop",
            "m2",
            datetime(2026, 11, 24, 10, 37, tzinfo=WARSAW),
            account_id="acc-int",
            stay_id="m1",
        ),
        app(
            "zcs",
            "wallet.topup",
            "z1",
            datetime(2026, 11, 24, 7, tzinfo=ROME),
            account_id="it-int",
            amount=100_000,
            method="card",
        ),
        app(
            "zcs",
            "parking.start",
            "z2",
            datetime(2026, 11, 24, 9, tzinfo=ROME),
            account_id="it-int",
            plate="AB123CD",
            zone=_zone("zcs"),
            payment="wallet",
            end=datetime(2026, 11, 25, 9, tzinfo=ROME),
        ),
    )
    outcomes = pipe.wait_for("n1", "n2", "n3", "n4", "n7", "n8", "m2", "z2")
    # The validity topic is read beside the outcomes topic, with no order between them.
    friday = pipe.wait_for_validity("nis|plate|NI300CC|NI300CC")["entitlements"][0]
    assert friday["valid_until"] == "2026-11-27T20:00:00Z"  # 21:00 in Niš
    sunday = pipe.wait_for_validity("nis|plate|NI400DD|NI400DD")["entitlements"][0]
    assert (sunday["valid_from"], sunday["valid_until"]) == (
        "2026-11-23T06:00:00Z",
        "2026-11-23T07:00:00Z",
    )
    assert outcomes["n2"]["outcome"] == "accepted" and outcomes["n2"]["facts"]["extension"]
    assert (outcomes["n3"]["outcome"], outcomes["n3"]["rule"]) == ("refused", "NIS-5")
    assert outcomes["z2"]["facts"]["capped"] is True  # ZCS-6

    # NIS-9: the operator rejects B's charge; then the clock passes A's warning time
    # three times (redelivered and later ticks) and the lockout; A pays again after it.
    pin_b = outcomes["n4"]["facts"]["pin"]
    verdict = {"msisdn": PHONE_B, "plate": "NI200BB", "pin": pin_b, "accepted": False}
    pipe.send(
        make_event("operator.verdict", "nis", verdict, nis(9, 3), id="v1"),
        tick("nis", nis(10, 55), "t1"),
        tick("nis", nis(10, 55), "t1"),
        tick("nis", nis(10, 56), "t2"),
    )
    pipe.wait(lambda: "v1" in pipe.outcomes())
    pipe.wait(lambda: any(n["kind"] == "warning" for n in pipe.notifications()))
    pipe.send(
        sms("n5", "9181", "NI100AA", nis(11, 10)),
        tick("nis", nis(11, 31), "t3"),
        sms("n6", "9181", "NI100AA", nis(11, 31)),
    )
    pipe.wait_for("n5", "n6")
    pipe.wait_for_validity(
        "nis|plate|NI100AA|NI100AA", lambda record: len(record["entitlements"]) == 3
    )
    pipe.wait(lambda: any(e["caused_by"] == "v1" for e in pipe.ledger()), timeout_s=60)
    pipe.drain(2.0)  # a (wrong) second warning would have arrived by now
    outcomes = pipe.outcomes()
    assert (outcomes["n5"]["outcome"], outcomes["n5"]["rule"]) == ("refused", "NIS-5")
    assert outcomes["n6"]["outcome"] == "accepted"

    warnings = [n for n in pipe.notifications() if n["kind"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["to"] == PHONE_A  # NIS-10, once

    ledger = pipe.ledger()
    counts = Counter(e["id"] for e in ledger)
    assert counts["n1:charge"] == 1 and max(counts.values()) == 1  # never twice
    kinds = {e["kind"]: e["amount"] for e in ledger if e["caused_by"] in ("m1", "m2")}
    assert kinds["capture"] + kinds["release"] == kinds["hold"]  # MOB-1
    assert any(e["kind"] == "refund" and e["caused_by"] == "v1" for e in ledger)

    # NIS-9: the rejected charge's ticket is revoked on the plate's validity record.
    revoked = pipe.wait_for_validity(
        "nis|plate|NI200BB|NI200BB", lambda record: record["entitlements"][0]["state"] == "revoked"
    )
    assert revoked["entitlements"][0]["state"] == "revoked"
    a_tickets = pipe.validity("nis|plate|NI100AA|NI100AA")["entitlements"]
    assert len(a_tickets) == 3  # 09:00, 10:00 extension, 11:31 after the lockout


def _zone(city: str) -> str:
    from streams.app_parking.rules import products_by_zone
    from tariff_kernel import load_city

    return sorted(products_by_zone(load_city(city)))[0]


def _demo() -> list[Event]:
    from streams.demo_parking import demo_events

    start = datetime(2026, 11, 24, 8, tzinfo=BELGRADE)
    return [
        *demo_events("nis", start, 150, seed=7),
        *demo_events("mobilet", start, 60, seed=7),
        *demo_events("zcs", start, 60, seed=7),
    ]


def _replayed(events: list[Event]):
    from streams.runtime.replay import Replay
    from streams.systems import load_rules

    replay = Replay(CITIES, load_rules(CITIES), partitions=3)
    replay.feed(*events)
    return replay.out


def _same_as_replay(pipe, events: list[Event]) -> None:
    """The ledger, final validity and notifications equal what Replay gives."""
    expected = _replayed(events)
    expected_ledger = {e.id: json.loads(e.to_json()) for e in expected.ledger}
    expected_validity = {
        k: (json.loads(v.to_json()) if v is not None else None)
        for k, v in expected.validity.items()
    }
    expected_notes = {n.id: json.loads(n.to_json()) for n in expected.notifications}

    def ledger() -> dict[str, dict]:
        by_id: dict[str, dict] = {}
        for entry in pipe.ledger():
            # At-least-once: a record may come twice after a crash, always byte-identical.
            assert by_id.setdefault(entry["id"], entry) == entry
        return by_id

    def notes() -> dict[str, dict]:
        return {n["id"]: n for n in pipe.notifications()}

    # Outcomes are all in; the other topics are read beside them: let them catch up.
    pipe.settle(
        lambda: (
            (ledger(), pipe.final_validity(), notes())
            == (expected_ledger, expected_validity, expected_notes)
        )
    )
    assert ledger() == expected_ledger
    assert pipe.final_validity() == expected_validity
    assert notes() == expected_notes


def test_killed_worker_restarts_from_changelogs_losing_and_duplicating_nothing(
    run_worker, pipeline, city_config, topic_prefix: str
) -> None:
    prefix = f"{topic_prefix}parking{secrets.token_hex(2)}."
    overrides = {
        "PLATFORM_TOPIC_PREFIX": prefix,
        "PLATFORM_CONFIG_DIR": str(city_config(CITIES)),
        "STREAMS_STORE": "memory://",
        "STREAMS_PARTITIONS": "3",
        # The killed worker's partitions move to its successor after this many seconds.
        "STREAMS_SESSION_TIMEOUT": "8",
    }
    first = run_worker(**overrides)
    pipe = pipeline(prefix, CITIES)
    pipe.workers = [first]
    events = _demo()
    half = len(events) // 2
    ids = {e.id for e in events}
    pipe.send(*events[:half])
    pipe.wait(lambda: {e.id for e in events[:half]} <= set(pipe.outcomes()))
    pipe.send(*events[half:])
    first.popen.kill()  # no goodbye: offsets and changelogs as they happen to be
    first.popen.wait(timeout=10)
    pipe.workers = [run_worker(**overrides)]
    pipe.wait(lambda: ids <= set(pipe.outcomes()), timeout_s=180)
    pipe.drain(2.0)
    _same_as_replay(pipe, events)


def test_two_workers_in_one_group_give_the_same_result_as_one(
    run_worker, pipeline, city_config, topic_prefix: str
) -> None:
    prefix = f"{topic_prefix}parking{secrets.token_hex(2)}."
    overrides = {
        "PLATFORM_TOPIC_PREFIX": prefix,
        "PLATFORM_CONFIG_DIR": str(city_config(CITIES)),
        "STREAMS_STORE": "memory://",
        "STREAMS_PARTITIONS": "3",
    }
    workers = [run_worker(**overrides), run_worker(**overrides)]
    pipe = pipeline(prefix, CITIES)
    pipe.workers = workers
    events = _demo()
    pipe.send(*events)
    pipe.wait(lambda: {e.id for e in events} <= set(pipe.outcomes()), timeout_s=180)
    pipe.drain(1.0)
    _same_as_replay(pipe, events)
