"""The HTTP API over a replica fed in memory: every endpoint, status, auth and audit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from enforcement_api.api.schemas import PlateBatchResult, PlateCheck, SubjectCheck
from streams.contract import format_time
from tests.enforcement_api.enf_helpers import NIS_UNAVAILABLE_SR, SMS, ent, make_token, record, utc

TUE9 = utc("2026-11-24T09:00")  # Tuesday: charging in force in Niš
SUN11 = utc("2026-11-29T11:00")  # Sunday: free (NIS-3)
WARDEN = make_token("warden", "nis", subject="W-17")
INSPECTOR = make_token("inspector", "hradec", "tarnow", subject="I-3")
INGEST = make_token("ingest", "nis", subject="gw-telenor")

PLATE = "/v1/cities/nis/plates/{}"


def at(moment) -> str:
    return format_time(moment)


@pytest.fixture
def fed(api):
    """Niš plates in every state, a Hradec ticket and phone, a Tarnów card."""
    verdict = TUE9 + timedelta(minutes=3)
    api.index.record(
        record("NI123AB", [ent("nis-1", TUE9), ent("nis-2", TUE9 + timedelta(hours=1))])
    )
    api.index.record(record("NI777ŠĐ", [ent("nis-3", TUE9, state="revoked", revoked_at=verdict)]))
    api.index.record(record("NI456CD", [ent("nis-4", TUE9, zone="green", product="9182")]))
    hradec = ent(
        "hk-1",
        TUE9,
        90,
        zone=None,
        kind="transit_ticket",
        channel="missed_call",
        code="HK7Q2M9X",
        currency="CZK",
        product="910301001",
        price=3000,
    )
    api.index.record(
        record("HK7Q2M9X", [hradec], city="hradec", kind="ticket", owner="+420603123456")
    )
    api.index.record(record("+420603123456", [hradec], city="hradec", kind="phone"))
    ride = ent(
        "ride-1",
        TUE9,
        40,
        zone=None,
        kind="ride",
        channel="card",
        currency="PLN",
        product="band-4",
        details={"tickets": [{"entitlement": "normal", "count": 2}]},
    )
    api.index.record(record("TK-00012345", [ride], city="tarnow", kind="card"))
    return api


def check(api, plate, token=WARDEN, **params):
    response = api.get(PLATE.format(plate), token, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    PlateCheck.model_validate(body)
    return body


def test_enf1_valid_with_evidence_paid_until_and_as_of(fed):
    body = check(fed, "ni-123 ab", at=at(TUE9 + timedelta(minutes=30)), zone="red")
    assert body["plate"] == "NI123AB"
    assert body["status"] == "valid"
    assert body["valid_until"] == at(TUE9 + timedelta(hours=2))
    assert body["as_of"] == at(TUE9 + timedelta(hours=1))
    first = body["entitlements"][-1]
    assert (first["ticket_id"], first["pin"], first["zone"], first["channel"]) == (
        "nis-1",
        "nis-1"[-8:],
        "red",
        "sms",
    )
    assert first["price"] == 6000 and first["currency"] == "RSD"
    assert body["check_id"]


def test_enf1_grace_expired_and_none(fed):
    end = TUE9 + timedelta(hours=2)
    assert check(fed, "NI123AB", at=at(end + timedelta(minutes=2)))["status"] == "grace"
    expired = check(fed, "NI123AB", at=at(end + timedelta(minutes=30)))
    assert expired["status"] == "expired"
    assert expired["expired_at"] == at(end)
    assert check(fed, "BG999ZZ", at=at(TUE9))["status"] == "none"


def test_enf1_not_required_when_charging_is_off(fed):
    assert check(fed, "BG999ZZ", at=at(SUN11))["status"] == "not_required"
    assert check(fed, "BG999ZZ", at=at(SUN11), zone="red")["status"] == "not_required"


def test_nis9_revoked_after_the_operator_rejects(fed):
    body = check(fed, "NI777ŠĐ", at=at(TUE9 + timedelta(minutes=10)))
    assert body["status"] == "revoked"
    assert body["revoked_at"] == at(TUE9 + timedelta(minutes=3))
    assert check(fed, "ni777šđ", at=at(TUE9 + timedelta(minutes=1)))["status"] == "valid"


def test_enf1_zone_matters_and_the_other_zone_ticket_is_shown(fed):
    body = check(fed, "NI456CD", at=at(TUE9), zone="red")
    assert body["status"] == "none"
    assert [e["zone"] for e in body["entitlements"]] == ["green"]
    assert check(fed, "NI456CD", at=at(TUE9), zone="green")["status"] == "valid"


def test_enf1_near_miss_suggestions_for_a_plate_without_right(fed):
    body = check(fed, "NI123A8", at=at(TUE9))
    assert body["status"] == "none"
    assert [s["plate"] for s in body["suggestions"]] == ["NI123AB"]
    body = check(fed, "NI777SD", at=at(TUE9 + timedelta(minutes=1)))
    assert [s["plate"] for s in body["suggestions"]] == ["NI777ŠĐ"]
    assert check(fed, "NI123AB", at=at(TUE9))["suggestions"] == []


def test_enf1_batch_check_one_result_per_plate_in_order(fed):
    plates = ["NI123AB", "bad plate!", "NI777ŠĐ", "BG999ZZ"]
    response = fed.post(
        "/v1/cities/nis/plates:check",
        {"plates": plates, "at": at(TUE9 + timedelta(minutes=10))},
        WARDEN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    PlateBatchResult.model_validate(body)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["valid", "invalid", "revoked", "none"]
    assert body["results"][1]["input"] == "bad plate!"
    assert len(fed.audit.records) == 3
    # ENF-3: one audit record per check, each with its own id, all answered at one moment
    ids = [r.check_id for r in fed.audit.records]
    assert ids == [r["check_id"] for r in body["results"] if "check_id" in r]
    assert len(set(ids)) == 3 and all(uuid.UUID(hex=i).version == 4 for i in ids)
    assert len({r.answered_at for r in fed.audit.records}) == 1


def test_enf1_batch_is_limited_to_the_configured_size(fed):
    too_many = [f"NI{i:05d}" for i in range(1001)]
    response = fed.post("/v1/cities/nis/plates:check", {"plates": too_many}, WARDEN)
    assert response.status_code == 400
    assert "at most 1000" in response.json()["detail"]
    assert fed.post("/v1/cities/nis/plates:check", {"plates": []}, WARDEN).status_code == 400
    assert fed.post("/v1/cities/nis/plates:check", {"plate": "x"}, WARDEN).status_code == 400


def test_hkr9_ticket_by_code_and_tickets_of_a_phone(fed):
    response = fed.get("/v1/cities/hradec/tickets/HK7Q2M9X", INSPECTOR, at=at(TUE9))
    assert response.status_code == 200, response.text
    body = SubjectCheck.model_validate(response.json())
    assert body.status == "valid" and body.entitlements[0].code == "HK7Q2M9X"
    later = fed.get(
        "/v1/cities/hradec/tickets/HK7Q2M9X", INSPECTOR, at=at(TUE9 + timedelta(hours=3))
    )
    assert later.json()["status"] == "expired"
    for spelling in ("+420603123456", "420603123456", "420 603 123 456"):
        phone = fed.get(f"/v1/cities/hradec/phones/{spelling}/tickets", INSPECTOR, at=at(TUE9))
        assert phone.status_code == 200, phone.text
        assert [e["ticket_id"] for e in phone.json()["entitlements"]] == ["hk-1"]
    unknown = fed.get("/v1/cities/hradec/tickets/NOPE1234", INSPECTOR, at=at(TUE9))
    assert unknown.json()["status"] == "none"


def test_trn10_card_check_shows_the_ride_and_the_tickets_it_covers(fed):
    response = fed.get("/v1/cities/tarnow/cards/TK-00012345", INSPECTOR, at=at(TUE9))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "valid"
    assert body["entitlements"][0]["details"] == {
        "tickets": [{"entitlement": "normal", "count": 2}]
    }


def test_enf3_every_check_is_recorded_with_officer_answer_and_as_of(fed):
    body = check(fed, "NI123AB", at=at(TUE9), zone="red")
    (audit,) = fed.audit.records
    assert audit.check_id == body["check_id"]
    assert (audit.officer, audit.role, audit.city) == ("W-17", "warden", "nis")
    assert (audit.subject_kind, audit.subject, audit.zone) == ("plate", "NI123AB", "red")
    assert audit.status == "valid" and audit.ticket_ids == ["nis-1"]
    assert audit.at == TUE9 and audit.as_of == TUE9 + timedelta(hours=1)
    fed.get("/v1/cities/tarnow/cards/TK-00012345", INSPECTOR)
    assert fed.audit.records[-1].subject_kind == "card"


ENDPOINTS = [
    ("get", "/v1/cities/nis/plates/NI123AB", None, "warden"),
    ("post", "/v1/cities/nis/plates:check", {"plates": ["NI123AB"]}, "warden"),
    ("get", "/v1/cities/hradec/tickets/HK7Q2M9X", None, "inspector"),
    ("get", "/v1/cities/hradec/phones/+420603123456/tickets", None, "inspector"),
    ("get", "/v1/cities/tarnow/cards/TK-1", None, "inspector"),
    ("post", "/v1/events", {"events": []}, "ingest"),
]


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS)
def test_enf_401_without_or_with_a_bad_token_on_every_endpoint(api, method, path, body, role):
    expired = make_token(role, "*", ttl_s=1, now=0)
    forged = make_token(role, "*", secret="not-the-key-" * 4)
    for token in (None, "garbage", expired, forged):
        response = api.get(path, token) if method == "get" else api.post(path, body, token)
        assert response.status_code == 401, (token, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS)
def test_enf_403_for_the_wrong_role_or_city_on_every_endpoint(api, method, path, body, role):
    others = [r for r in ("warden", "inspector", "ingest", "manager") if r != role]
    wrong_city = make_token(role, "zcs")
    for token in [make_token(r, "*") for r in others] + ([wrong_city] if role != "ingest" else []):
        response = api.get(path, token) if method == "get" else api.post(path, body, token)
        assert response.status_code == 403, (token, response.text)
    admin = make_token("admin", "*")
    response = api.get(path, admin) if method == "get" else api.post(path, body, admin)
    assert response.status_code != 403


def test_enf1_no_check_is_answered_from_a_replica_still_catching_up(fed):
    """ENF-1: a process that has not read the validity topic up to its end would answer
    `none` for a plate paid for but not yet read; it refuses with 503 and Retry-After
    instead (several processes behind one socket: /readyz cannot tell which one a check
    reaches). Authentication still comes first; ingestion does not need the replica."""
    fed.services.replica.caught_up = False
    for method, path, body, role in ENDPOINTS:
        token = make_token(role, "*")
        if role == "ingest":
            assert fed.post(path, SMS, token).status_code == 202
            continue
        response = fed.get(path, token) if method == "get" else fed.post(path, body, token)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["retry-after"] == "1"
        assert "catching up" in response.json()["detail"]
        unauthenticated = fed.get(path) if method == "get" else fed.post(path, body)
        assert unauthenticated.status_code == 401
    assert fed.audit.records == []  # nothing was answered, so nothing to audit
    assert fed.get("/readyz").status_code == 503
    fed.services.replica.caught_up = True
    assert check(fed, "NI123AB", at=at(TUE9), zone="red")["status"] == "valid"


def test_enf_ingest_token_for_another_city_is_403(api):
    response = api.post("/v1/events", SMS, make_token("ingest", "zcs"))
    assert response.status_code == 403
    assert api.sink.messages == []


def test_input_validation_gives_4xx_with_a_message(api):
    cases = [
        ("/v1/cities/nis/plates/N", {}, 400, "invalid plate"),
        ("/v1/cities/nis/plates/NI12$AB", {}, 400, "not allowed"),
        ("/v1/cities/nis/plates/NI123AB", {"at": "yesterday"}, 400, "ISO 8601"),
        ("/v1/cities/nis/plates/NI123AB", {"at": "2026-11-24T10:00:00"}, 400, "offset"),
        ("/v1/cities/nis/plates/NI123AB", {"zone": "blue"}, 400, "unknown zone"),
        ("/v1/cities/atlantis/plates/NI123AB", {}, 404, "unknown city"),
        ("/v1/cities/hradec/plates/NI123AB", {}, 404, "no parking"),
    ]
    admin = make_token("admin", "*")
    for path, params, status, words in cases:
        response = api.get(path, admin, **params)
        assert response.status_code == status, (path, response.text)
        assert words in response.json()["detail"]
    bad_phone = api.get("/v1/cities/hradec/phones/12/tickets", admin)
    assert bad_phone.status_code == 400


def test_at_accepts_offsets_and_a_plus_decoded_as_space(fed):
    local = "2026-11-24T10:30:00+01:00"
    assert check(fed, "NI123AB", at=local)["at"] == at(TUE9 + timedelta(minutes=90))
    raw = fed.client.get(
        "/v1/cities/nis/plates/NI123AB?at=2026-11-24T10:30:00+01:00",
        headers={"Authorization": f"Bearer {WARDEN}"},
    )
    assert raw.json()["status"] == "valid"


def test_rate_limit_per_token_answers_429_with_retry_after(api):
    from enforcement_api.core.security import RateLimiter

    api.services.limiter = RateLimiter(rate_per_s=0.001, burst=2)
    token = make_token("warden", "nis")
    codes = [api.get(PLATE.format("NI123AB"), token).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.get(PLATE.format("NI123AB"), make_token("warden", "nis")).status_code == 200


def test_ingest_accepts_one_event_or_a_batch_keyed_by_owner(api):
    one = api.post("/v1/events", SMS, INGEST)
    assert one.status_code == 202, one.text
    assert one.json() == {"accepted": ["sms-1"]}
    batch = api.post("/v1/events", {"events": [SMS, {**SMS, "id": "sms-2"}]}, INGEST)
    assert batch.json() == {"accepted": ["sms-1", "sms-2"]}
    assert [m.key for m in api.sink.messages] == [b"nis|NI123AB"] * 3
    assert {m.topic for m in api.sink.messages} == {"unit.events.raw"}


def test_ingest_400_names_each_bad_event_and_stores_nothing(api):
    bad = {**SMS, "id": "bad-1", "time": "2026-11-24T10:00:00"}
    response = api.post("/v1/events", {"events": [SMS, bad]}, INGEST)
    assert response.status_code == 400
    (rejected,) = response.json()["rejected"]
    assert rejected["index"] == 1 and rejected["id"] == "bad-1"
    assert rejected["problems"][0]["field"] == "time"
    assert api.sink.messages == []
    not_json = api.client.post(
        "/v1/events", content=b"{nope", headers={"Authorization": f"Bearer {INGEST}"}
    )
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]


def test_nis8_ingest_503_with_the_city_reply_when_kafka_cannot_take_it(api):
    api.sink.down = True
    response = api.post("/v1/events", SMS, INGEST)
    assert response.status_code == 503
    assert response.json()["reply"] == NIS_UNAVAILABLE_SR
    assert response.json()["replies"] == {"nis": NIS_UNAVAILABLE_SR}
    assert response.headers["retry-after"] == "5"


def test_health_ready_metrics_and_openapi(fed):
    assert fed.client.get("/healthz").json() == {"status": "ok", "replica": {}}
    ready = fed.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["replica"]["subjects"] == 6
    check(fed, "NI123AB", at=at(TUE9))
    metrics = fed.client.get("/metrics").text
    assert 'enforcement_api_checks_total{kind="plate",status="valid"} 1.0' in metrics
    assert 'route="/v1/cities/{city}/plates/{plate}"' in metrics
    assert "NI123AB" not in metrics
    assert "enforcement_api_replica_as_of_age_seconds" in metrics
    spec = fed.client.get("/openapi.json").json()
    assert "/v1/cities/{city}/plates:check" in spec["paths"]
    assert spec["components"]["schemas"]["PlateCheck"]["examples"]
