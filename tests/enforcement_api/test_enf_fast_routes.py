"""The hot plate routes (api/hot.py) answer exactly as FastAPI's own routes do (ENF-1,
ENF-2, ENF-3): same bodies, statuses, auth refusals and audit records; and the plain
dict renderers give the bytes the documented pydantic models give."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from enforcement_api.api.render import plate_check_json, subject_check_json
from enforcement_api.api.schemas import PlateCheck, SubjectCheck
from enforcement_api.audit import MemoryAuditTrail
from enforcement_api.checks import check_plate, check_subject
from enforcement_api.core.config import ApiSettings
from enforcement_api.main import create_app
from enforcement_api.replica import ValidityIndex
from enforcement_api.services import MemoryReplica, Services
from streams.contract import Topics, format_time
from tests.enforcement_api.enf_helpers import ISSUER, SECRET, ListSink, ent, make_token, record, utc

TUE9 = utc("2026-11-24T09:00")
SUN11 = utc("2026-11-29T11:00")
WARDEN = make_token("warden", "nis", subject="W-17")
ADMIN = make_token("admin", "*", subject="root")


def _services(cities: Any, rate_per_s: float = 0) -> Services:
    settings = ApiSettings(
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        topics=Topics("unit."),
        rate_per_s=rate_per_s,
        rate_burst=2,
        ensure_topics=False,
        max_batch=5,
    )
    index = ValidityIndex()
    verdict = TUE9 + timedelta(minutes=3)
    index.record(record("NI123AB", [ent("nis-1", TUE9), ent("nis-2", TUE9 + timedelta(hours=1))]))
    index.record(record("NI777ŠĐ", [ent("nis-3", TUE9, state="revoked", revoked_at=verdict)]))
    index.record(
        record(
            "NI456CD",
            [ent("nis-4", TUE9, zone="green", product="9182", details={"msisdn": "+3816", "n": 2})],
        )
    )
    index.record(record("NI123A8", [ent("nis-5", TUE9, 600)]))  # a near miss of NI123AB
    # two owners of one plate: readers merge them
    index.record(record("NI999ZZ", [ent("nis-6", TUE9)], owner="acct-1"))
    index.record(record("NI999ZZ", [ent("nis-7", TUE9 + timedelta(minutes=30))], owner="acct-2"))
    ticket = ent("hk-1", TUE9, 90, zone=None, kind="transit_ticket", channel="missed_call")
    index.record(record("HK7Q2M9X", [ticket], city="hradec", kind="ticket", owner="+4206031"))
    return Services(
        settings=settings,
        cities=cities,
        replica=MemoryReplica(index),
        audit=MemoryAuditTrail(),
        events=ListSink(),
    )


@pytest.fixture
def both(cities: Any) -> Iterator[tuple[TestClient, TestClient, Services, Services]]:
    """The same data served with the hot routes and by FastAPI's routes alone."""
    hot_services, plain_services = _services(cities), _services(cities)
    with (
        TestClient(create_app(hot_services)) as hot,
        TestClient(create_app(plain_services, hot_routes=False)) as plain,
    ):
        yield hot, plain, hot_services, plain_services


def _same(hot: Any, plain: Any, now: bool = False) -> dict[str, Any]:
    """Both answers alike but for the check ids (and `at` when it is `now`); the hot
    one's JSON body."""
    assert hot.status_code == plain.status_code, (hot.text, plain.text)
    for header in ("content-type", "www-authenticate", "retry-after"):
        assert hot.headers.get(header) == plain.headers.get(header), header
    hot_body, plain_body = hot.json(), plain.json()
    skip = {"check_id", "at"} if now else {"check_id"}
    assert _without(hot_body, skip) == _without(plain_body, skip)
    return hot_body


def _without(body: Any, keys: set[str]) -> Any:
    if isinstance(body, dict):
        return {k: _without(v, keys) for k, v in body.items() if k not in keys}
    if isinstance(body, list):
        return [_without(v, keys) for v in body]
    return body


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


SINGLE_CASES = [
    # (plate as typed, token, query)
    ("ni-123 ab", WARDEN, {"at": format_time(TUE9 + timedelta(minutes=30)), "zone": "red"}),
    ("NI123AB", WARDEN, {"at": format_time(TUE9 + timedelta(hours=2, minutes=3))}),  # grace
    ("NI123AB", WARDEN, {"at": format_time(TUE9 + timedelta(hours=3))}),  # expired
    ("NI777ŠĐ", WARDEN, {"at": format_time(TUE9 + timedelta(minutes=10))}),  # revoked
    ("NI456CD", WARDEN, {"at": format_time(TUE9 + timedelta(minutes=10)), "zone": "red"}),
    ("NI456CD", WARDEN, {"at": format_time(TUE9 + timedelta(minutes=10))}),
    ("NI1Z3AB", WARDEN, {"at": format_time(TUE9 + timedelta(minutes=10))}),  # near misses
    ("NI123AB", WARDEN, {"at": format_time(SUN11)}),  # not_required
    ("NI999ZZ", ADMIN, {"at": format_time(TUE9 + timedelta(minutes=45)), "zone": "red"}),
    ("NI123AB", WARDEN, {"at": "2026-11-24T10:30:00 01:00"}),  # + decoded as a space
    ("NI123AB", WARDEN, {"zone": ["green", "red"]}),  # repeated: the last one counts
    ("NI123AB", WARDEN, {"zone": "", "at": ""}),  # blank: whole city, now
    # refusals, in FastAPI's order
    ("NI123AB", None, {}),
    ("NI123AB", "not-a-jwt", {}),
    ("NI123AB", make_token("inspector", "nis"), {}),
    ("NI123AB", make_token("warden", "beograd"), {}),
    ("NI 123 AB!", WARDEN, {}),
    ("NI123AB", WARDEN, {"at": "yesterday"}),
    ("NI123AB", WARDEN, {"at": "2026-11-24T10:00"}),
    ("NI123AB", WARDEN, {"zone": "purple"}),
]


@pytest.mark.parametrize(("plate", "token", "query"), SINGLE_CASES)
def test_enf1_hot_single_plate_answers_as_the_fastapi_route(both, plate, token, query):
    hot, plain, hot_services, plain_services = both
    path = f"/v1/cities/nis/plates/{plate}"
    now = not query.get("at")
    body = _same(
        hot.get(path, params=query, headers=_headers(token)),
        plain.get(path, params=query, headers=_headers(token)),
        now,
    )
    assert body  # a check or a {"detail": ...} refusal
    # ENF-3: the same audit record (but for its id and answer time) on both sides
    assert len(hot_services.audit.records) == len(plain_services.audit.records)
    for a, b in zip(hot_services.audit.records, plain_services.audit.records, strict=True):
        skip = {"check_id", "answered_at", "at"} if now else {"check_id", "answered_at"}
        assert a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


@pytest.mark.parametrize(
    ("city", "token"),
    [
        ("hradec", make_token("warden", "hradec")),  # a transit city: no parking, 404
        ("atlantis", ADMIN),  # unknown city
        ("nis", make_token("warden", "nis", secret="another-key-of-32-bytes-or-more!")),
    ],
)
def test_enf1_hot_refusals_for_cities_and_keys_match(both, city, token):
    hot, plain, *_ = both
    path = f"/v1/cities/{city}/plates/NI123AB"
    body = _same(hot.get(path, headers=_headers(token)), plain.get(path, headers=_headers(token)))
    assert body["detail"]


def test_enf1_hot_and_fastapi_routes_alike_refuse_while_catching_up(both):
    """ENF-1: the 503 of a replica still catching up, from both ways of answering."""
    hot, plain, hot_services, plain_services = both
    hot_services.replica.caught_up = plain_services.replica.caught_up = False
    single = "/v1/cities/nis/plates/NI123AB"
    _same(hot.get(single, headers=_headers(WARDEN)), plain.get(single, headers=_headers(WARDEN)))
    batch, body = "/v1/cities/nis/plates:check", {"plates": ["NI123AB"]}
    a = hot.post(batch, json=body, headers=_headers(WARDEN))
    b = plain.post(batch, json=body, headers=_headers(WARDEN))
    assert _same(a, b)["detail"].startswith("the validity replica")
    assert a.status_code == 503


def test_enf1_paths_the_hot_routes_do_not_take_go_to_fastapi(both):
    hot, plain, *_ = both
    for path in (
        "/v1/cities/nis/plates/NI123AB/",  # FastAPI redirects or refuses
        "/v1/cities/nis/plates/",
        "/v1/cities//plates/NI123AB",
    ):
        a = hot.get(path, headers=_headers(WARDEN), follow_redirects=False)
        b = plain.get(path, headers=_headers(WARDEN), follow_redirects=False)
        assert (a.status_code, a.content) == (b.status_code, b.content), path
    long_city = "x" * 21  # the batch route's {city} is at most 20: FastAPI's 422
    a = hot.post(
        f"/v1/cities/{long_city}/plates:check", json={"plates": ["NI1"]}, headers=_headers(ADMIN)
    )
    assert a.status_code == 422


BATCH_CASES = [
    (
        {
            "plates": ["ni-123 ab", "NI777ŠĐ", "??", "NI1Z3AB"],
            "zone": "red",
            "at": "2026-11-24T09:30:00+01:00",
        }
    ),
    ({"plates": ["NI123AB"], "at": format_time(SUN11)}),
    ({"plates": ["NI123AB"] * 6}),  # over max_batch (5)
    ({"plates": []}),
    ({"plates": ["NI123AB"], "speed": 3}),  # unknown field
    ({"plates": ["NI123AB"], "zone": "purple"}),
    ({"plates": ["NI123AB"], "at": "soon"}),
]


@pytest.mark.parametrize("request_body", BATCH_CASES)
def test_enf1_hot_batch_answers_as_the_fastapi_route(both, request_body):
    hot, plain, hot_services, plain_services = both
    path = "/v1/cities/nis/plates:check"
    body = _same(
        hot.post(path, json=request_body, headers=_headers(WARDEN)),
        plain.post(path, json=request_body, headers=_headers(WARDEN)),
        now="at" not in request_body,
    )
    assert body
    assert len(hot_services.audit.records) == len(plain_services.audit.records)


@pytest.mark.parametrize(
    ("token", "raw"),
    [
        (None, b'{"plates": ["NI123AB"]}'),
        (make_token("inspector", "nis"), b'{"plates": ["NI123AB"]}'),
        (make_token("warden", "tarnow"), b'{"plates": ["NI123AB"]}'),
        (WARDEN, b"{not json"),
        (WARDEN, b""),
    ],
)
def test_enf1_hot_batch_refusals_match(both, token, raw):
    hot, plain, *_ = both
    path = "/v1/cities/nis/plates:check"
    headers = {**_headers(token), "Content-Type": "application/json"}
    body = _same(
        hot.post(path, content=raw, headers=headers), plain.post(path, content=raw, headers=headers)
    )
    assert body["detail"]


def test_rate_limit_429_with_retry_after_on_the_hot_route(cities):
    """Burst 2, then 429 with Retry-After, and the refused request is not recorded."""
    services = _services(cities, rate_per_s=0.01)
    token = make_token("warden", "nis", subject="W-99")
    with TestClient(create_app(services)) as client:
        codes = [
            client.get("/v1/cities/nis/plates/NI123AB", headers=_headers(token)).status_code
            for _ in range(3)
        ]
        refused = client.post(
            "/v1/cities/nis/plates:check", json={"plates": ["NI123AB"]}, headers=_headers(token)
        )
    assert codes == [200, 200, 429]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert len(services.audit.records) == 2


def test_enf3_checks_are_timed_and_counted_under_the_route_template(both):
    hot, *_ = both
    hot.get("/v1/cities/nis/plates/NI123AB", headers=_headers(WARDEN))
    hot.get("/v1/cities/nis/plates/NI 1!", headers=_headers(WARDEN))
    hot.post("/v1/cities/nis/plates:check", json={"plates": ["NI123AB"]}, headers=_headers(WARDEN))
    hot.get("/v1/cities/hradec/tickets/HK7Q2M9X", headers=_headers(ADMIN))  # FastAPI's route
    metrics = hot.get("/metrics").text
    assert 'route="/v1/cities/{city}/tickets/{code}",status="200"' in metrics
    assert 'route="/v1/cities/{city}/plates/{plate}",status="200"' in metrics
    assert 'route="/v1/cities/{city}/plates/{plate}",status="400"' in metrics
    assert 'route="/v1/cities/{city}/plates:check",status="200"' in metrics
    assert "NI123AB" not in metrics  # never a plate in the metrics
    assert 'enforcement_api_checks_total{kind="plate",status=' in metrics
    paths = hot.get("/openapi.json").json()["paths"]
    assert "get" in paths["/v1/cities/{city}/plates/{plate}"]
    assert "post" in paths["/v1/cities/{city}/plates:check"]


def test_enf1_renderers_give_the_bytes_of_the_documented_models(cities):
    services = _services(cities)
    index, at = services.index, TUE9 + timedelta(minutes=10)
    grace, rule = 5, cities.charging_required
    for plate, zone in (
        ("NI123AB", "red"),
        ("NI777ŠĐ", None),
        ("NI456CD", None),
        ("NI1Z3AB", None),
    ):
        lookup = check_plate(
            index, "nis", plate, at, zone=zone, grace_minutes=grace, charging_required=rule
        )
        assert plate_check_json(lookup) == PlateCheck.of(lookup).model_dump_json().encode()
        answered = at + timedelta(microseconds=123)
        assert (
            lookup.audit_json("W-17", "warden", answered)
            == lookup.audit_record("W-17", "warden", answered).to_json()
        )
    lookup = check_subject(index, "hradec", "ticket", "HK7Q2M9X", at, grace_minutes=0)
    assert subject_check_json(lookup) == SubjectCheck.of(lookup).model_dump_json().encode()


def test_enf1_a_detail_orjson_cannot_write_falls_back_to_the_model(cities):
    services = _services(cities)
    services.index.record(record("NI000BI", [ent("nis-9", TUE9, details={"serial": 2**70})]))
    lookup = check_plate(
        services.index,
        "nis",
        "NI000BI",
        TUE9,
        zone=None,
        grace_minutes=5,
        charging_required=cities.charging_required,
    )
    assert plate_check_json(lookup) == PlateCheck.of(lookup).model_dump_json().encode()
