"""The operator's verdicts built from the worker's outcome records (NIS-9)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from loadtest.operator import verdict_for
from streams.contract import parse_event, routing_key

SALE = {
    "id": "lt1-42",
    "city": "nis",
    "type": "sms.received",
    "owner": "NI123ŠĐ",
    "outcome": "accepted",
    "facts": {"ticket_id": "t-7", "pin": "0123456789", "operator": "mts", "price": 6000},
    "time": "2026-11-24T09:00:00Z",
}


def test_nis9_verdict_names_plate_and_pin_about_three_minutes_after_the_sale():
    event = verdict_for(SALE, "381641234567", random.Random(1), 0.0, "lt1")
    assert event is not None
    parsed = parse_event(event.to_json())
    assert parsed.type == "operator.verdict"
    assert parsed.data.plate == "NI123ŠĐ" and parsed.data.pin == "0123456789"
    assert parsed.data.accepted is True and parsed.data.msisdn == "381641234567"
    sold = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert timedelta(minutes=2) <= parsed.time - sold <= timedelta(minutes=4)
    # keyed to the plate's owner, like the sale it answers
    assert routing_key(parsed, "sms_parking") == "nis|NI123ŠĐ"
    assert parsed.id == "lt1-verdict-lt1-42"


def test_nis9_rejections_follow_the_configured_share_and_carry_a_reason():
    rng = random.Random(5)
    verdicts = [verdict_for(SALE, "381641234567", rng, 0.25, "lt1") for _ in range(2000)]
    rejected = [v for v in verdicts if v is not None and not v.data.accepted]
    assert 400 < len(rejected) < 600
    assert all(v.data.reason for v in rejected)


def test_only_accepted_sms_sales_with_a_pin_get_a_verdict():
    rng = random.Random(1)
    refused = {**SALE, "outcome": "refused"}
    app = {**SALE, "type": "parking.start"}
    no_pin = {**SALE, "facts": {"ticket_id": "t-7"}}
    assert verdict_for(refused, "381641234567", rng, 0.5, "lt1") is None
    assert verdict_for(app, "381641234567", rng, 0.5, "lt1") is None
    assert verdict_for(no_pin, "381641234567", rng, 0.5, "lt1") is None
