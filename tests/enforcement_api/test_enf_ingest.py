"""Validation and keying of posted events (enforcement_api.ingest), NIS-8 reply texts."""

from __future__ import annotations

import json

import pytest

from enforcement_api.cities import DEFAULT_UNAVAILABLE_TEXT, CityDirectory
from enforcement_api.ingest import event_bodies, plan_ingest
from streams.contract import parse_event, routing_key
from tests.enforcement_api.enf_helpers import NIS_UNAVAILABLE_SR, SMS


@pytest.fixture
def plan(cities: CityDirectory):
    def run(bodies):
        return plan_ingest(
            bodies, known_cities=cities.known, system_of=cities.system, raw_topic="p.events.raw"
        )

    return run


def test_valid_event_is_keyed_by_its_owner_like_every_producer(plan):
    result = plan([SMS])
    assert result.rejected == []
    (message,) = result.messages
    assert message.topic == "p.events.raw"
    assert message.key == b"nis|NI123AB"
    assert message.key.decode() == routing_key(parse_event(SMS), "sms_parking")
    assert json.loads(message.value)["id"] == "sms-1"
    assert result.ids == ["sms-1"] and result.cities == ["nis"]


def test_every_bad_event_is_named_with_its_reasons(plan):
    bad_city = {**SMS, "id": "x1", "city": "atlantis"}
    bad_data = {**SMS, "id": "x2", "data": {**SMS["data"], "msisdn": "12"}}
    wrong_system = {
        **SMS,
        "id": "x3",
        "type": "card.check",
        "data": {"card_id": "c", "validator_id": "v"},
    }
    result = plan([SMS, bad_city, bad_data, wrong_system, "not an object"])
    assert [r.index for r in result.rejected] == [1, 2, 3, 4]
    assert "unknown city" in result.rejected[0].reason
    assert result.rejected[1].problems[0]["field"] == "data.msisdn"
    assert "not taken by nis" in result.rejected[2].reason
    assert result.rejected[2].id == "x3"


def test_one_event_or_a_batch_but_not_a_bare_list():
    assert event_bodies(SMS) == [SMS]
    assert event_bodies({"events": [SMS, SMS]}) == [SMS, SMS]
    with pytest.raises(ValueError):
        event_bodies([SMS])
    with pytest.raises(ValueError):
        event_bodies({"events": "x"})


def test_nis8_unavailable_reply_in_the_city_language_with_english_fallback(cities):
    assert cities.unavailable_text("nis") == NIS_UNAVAILABLE_SR
    assert cities.unavailable_text("hradec") == DEFAULT_UNAVAILABLE_TEXT
    assert cities.unavailable_text("atlantis") == DEFAULT_UNAVAILABLE_TEXT
