"""End to end on real Kafka: an SMS posted to the API's ingestion endpoint is bought by the
Niš worker, published on the validity topic, picked up by the API's replica and answered to
a warden — then revoked by the operator's verdict (ENF-1, NIS-9, NIS-6)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from enforcement_api.cities import CityDirectory
from enforcement_api.core.config import ApiSettings
from enforcement_api.main import create_app, kafka_services
from streams.contract import Topics, format_time
from tariff_kernel.config import REPO_CONFIG
from tests.enforcement_api.enf_helpers import ISSUER, SECRET, make_token

pytestmark = pytest.mark.integration

NIS_TUESDAY_9 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 in Niš, charging in force
WARDEN = make_token("warden", "nis", subject="W-e2e")
GATEWAY = make_token("ingest", "nis", subject="gw-e2e")


def sms(event_id: str, plate: str, at: datetime) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:sms-gateway:mts",
        "type": "sms.received",
        "time": format_time(at),
        "city": "nis",
        "data": {"msisdn": "+381641112223", "to": "9181", "text": plate, "operator": "mts"},
    }


def verdict(event_id: str, plate: str, pin: str, at: datetime) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:operator:mts",
        "type": "operator.verdict",
        "time": format_time(at),
        "city": "nis",
        "data": {
            "msisdn": "+381641112223",
            "plate": plate,
            "pin": pin,
            "accepted": False,
            "reason": "insufficient prepaid credit",
        },
    }


def catching_up(response) -> bool:
    """The 503 a process answers until its replica has read the validity topic."""
    return response.status_code == 503 and "catching up" in response.json()["detail"]


def poll(client: TestClient, path: str, params: dict, token: str, status: str) -> dict:
    """Ask until the answer has `status`; a replica still catching up is asked again."""
    # Generous: a worker that restarts itself in place (docs/architecture.md) re-reads
    # its changelogs first; a loaded machine makes that tens of seconds.
    deadline = time.monotonic() + 150
    while True:
        response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        if not catching_up(response):
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] == status:
                return body
        assert time.monotonic() < deadline, f"never {status}: {response.text}"
        time.sleep(0.2)


def wait_for(client: TestClient, plate: str, at: datetime, status: str) -> dict:
    params = {"zone": "red", "at": format_time(at)}
    return poll(client, f"/v1/cities/nis/plates/{plate}", params, WARDEN, status)


def post(client: TestClient, event: dict) -> None:
    response = client.post("/v1/events", json=event, headers={"Authorization": f"Bearer {GATEWAY}"})
    assert response.status_code == 202, response.text


def test_enf1_nis9_sms_through_ingest_worker_and_replica_to_the_warden(
    run_worker, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_CONFIG_DIR", str(REPO_CONFIG))
    prefix = f"{topic_prefix}e2e{secrets.token_hex(2)}."
    run_worker(
        PLATFORM_TOPIC_PREFIX=prefix,
        PLATFORM_CONFIG_DIR=str(REPO_CONFIG),
        STREAMS_STORE="memory://",
        STREAMS_PARTITIONS="2",
    )
    settings = ApiSettings(
        kafka_bootstrap=kafka_bootstrap,
        topics=Topics(prefix),
        partitions=2,
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        rate_per_s=0,
    )
    plate = f"NI{secrets.randbelow(900) + 100}EE"
    with TestClient(create_app(kafka_services(settings, CityDirectory()))) as client:
        post(client, sms("e2e-sms-1", plate.lower(), NIS_TUESDAY_9))
        paid = wait_for(client, plate, NIS_TUESDAY_9 + timedelta(minutes=30), "valid")
        (ticket,) = paid["entitlements"]
        assert (ticket["channel"], ticket["zone"], ticket["state"]) == ("sms", "red", "provisional")
        assert ticket["pin"] and ticket["price"] == 6000
        assert paid["valid_until"] == format_time(NIS_TUESDAY_9 + timedelta(hours=1))
        assert paid["as_of"] is not None
        assert "msisdn" not in ticket["details"]

        post(
            client,
            verdict("e2e-verdict-1", plate, ticket["pin"], NIS_TUESDAY_9 + timedelta(minutes=3)),
        )
        revoked = wait_for(client, plate, NIS_TUESDAY_9 + timedelta(minutes=30), "revoked")
        assert revoked["revoked_at"] == format_time(NIS_TUESDAY_9 + timedelta(minutes=3))
        still_valid_before = wait_for(client, plate, NIS_TUESDAY_9 + timedelta(minutes=2), "valid")
        assert still_valid_before["valid_until"] == format_time(
            NIS_TUESDAY_9 + timedelta(minutes=3)
        )


def event(event_id: str, type_: str, city: str, at: datetime, **data) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:test:e2e",
        "type": type_,
        "time": format_time(at),
        "city": city,
        "data": data,
    }


def inspect(client: TestClient, path: str, at: datetime, status: str) -> dict:
    token = make_token("inspector", "hradec", "tarnow", subject="I-e2e")
    return poll(client, path, {"at": format_time(at)}, token, status)


def test_hkr9_trn10_tickets_and_cards_through_ingest_worker_and_replica_to_the_inspector(
    run_worker, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_CONFIG_DIR", str(REPO_CONFIG))
    prefix = f"{topic_prefix}e2t{secrets.token_hex(2)}."
    run_worker(
        PLATFORM_TOPIC_PREFIX=prefix,
        PLATFORM_CONFIG_DIR=str(REPO_CONFIG),
        STREAMS_STORE="memory://",
        STREAMS_PARTITIONS="2",
    )
    settings = ApiSettings(
        kafka_bootstrap=kafka_bootstrap,
        topics=Topics(prefix),
        partitions=2,
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        rate_per_s=0,
    )
    gateway = make_token("ingest", "hradec", "tarnow", subject="gw-e2e")
    phone, card = "+420603555111", f"TK-E2E{secrets.randbelow(10**6):06d}"
    prague_8 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Hradec Králové
    events = [
        event("h-reg", "call.missed", "hradec", prague_8, msisdn=phone, to="910 301 000"),
        event(
            "h-ano",
            "sms.received",
            "hradec",
            prague_8 + timedelta(minutes=1),
            msisdn=phone,
            to="90230",
            text="ano hkr",
            operator="o2",
        ),
        event(
            "h-buy",
            "call.missed",
            "hradec",
            prague_8 + timedelta(minutes=2),
            msisdn=phone,
            to="910 301 001",
        ),
        event(
            "c-cash",
            "card.epurse_topup",
            "tarnow",
            prague_8,
            card_id=card,
            machine_id="P-1",
            amount=5000,
        ),
        event(
            "c-move",
            "card.transfer",
            "tarnow",
            prague_8 + timedelta(minutes=1),
            card_id=card,
            validator_id="V-1",
            amount=5000,
        ),
        event(
            "c-in",
            "card.tap",
            "tarnow",
            prague_8 + timedelta(minutes=2),
            card_id=card,
            validator_id="V-1",
            trip_id="L5-0800",
            stop_seq=2,
            counter=1,
            card_class="standard",
            entitlement="normal",
        ),
    ]
    moment = prague_8 + timedelta(minutes=10)
    with TestClient(create_app(kafka_services(settings, CityDirectory()))) as client:
        response = client.post(
            "/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {gateway}"}
        )
        assert response.status_code == 202, response.text
        by_phone = inspect(client, f"/v1/cities/hradec/phones/{phone}/tickets", moment, "valid")
        code = by_phone["entitlements"][0]["code"]
        assert code and by_phone["entitlements"][0]["channel"] == "missed_call"
        by_code = inspect(client, f"/v1/cities/hradec/tickets/{code}", moment, "valid")
        assert by_code["valid_until"] == by_phone["valid_until"]
        assert "msisdn" not in by_code["entitlements"][0]["details"]
        ride = inspect(client, f"/v1/cities/tarnow/cards/{card}", moment, "valid")
        assert ride["entitlements"][0]["kind"] == "ride"
        assert ride["entitlements"][0]["details"]["trip"] == "L5-0800"
