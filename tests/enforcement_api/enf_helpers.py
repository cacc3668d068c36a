"""Helpers of the enforcement API tests: entitlements, records, tokens, a fixed city kernel,
an in-memory event sink. Fixtures live in conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from enforcement_api.audit import MemoryAuditTrail
from enforcement_api.core.security import issue_token
from enforcement_api.kafka_io import KafkaUnavailable, Message
from enforcement_api.replica import ValidityIndex
from enforcement_api.services import Services
from streams.contract import Entitlement, ValidityRecord

SECRET = "test-secret-for-enforcement-api-tests-0123456789"
ISSUER = "test-issuer"
BELGRADE = ZoneInfo("Europe/Belgrade")


def utc(text: str) -> datetime:
    """`2026-11-24T10:00` in Niš local time, as UTC (rules run in UTC, hours are local)."""
    return datetime.fromisoformat(text).replace(tzinfo=BELGRADE).astimezone(UTC)


def ent(
    ticket_id: str,
    valid_from: datetime,
    minutes: int = 60,
    *,
    state: str = "provisional",
    zone: str | None = "red",
    revoked_at: datetime | None = None,
    kind: str = "hourly",
    channel: str = "sms",
    **extra: Any,
) -> Entitlement:
    return Entitlement(
        ticket_id=ticket_id,
        kind=kind,
        product=extra.pop("product", "9181"),
        channel=channel,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        valid_from=valid_from,
        valid_until=valid_from + timedelta(minutes=minutes),
        price=extra.pop("price", 6000),
        currency=extra.pop("currency", "RSD"),
        zone=zone,
        pin=extra.pop("pin", ticket_id[-8:]),
        revoked_at=revoked_at,
        **extra,
    )


def record(
    subject: str,
    entitlements: list[Entitlement],
    *,
    city: str = "nis",
    kind: str = "plate",
    owner: str | None = None,
    updated_at: datetime | None = None,
) -> ValidityRecord:
    return ValidityRecord(
        city=city,
        subject_kind=kind,  # type: ignore[arg-type]
        subject=subject,
        owner=owner or subject,
        entitlements=entitlements,
        updated_at=updated_at or max(e.valid_from for e in entitlements),
        caused_by=f"evt-{subject}",
    )


@dataclass
class CityFacts:
    """A city as the tests need it: system, zones, grace and weekly charging hours."""

    system: str
    zones: dict[str, Any]
    grace_minutes: int = 0
    language: str = "en"
    raw: dict[str, Any] = field(default_factory=dict)
    # weekday (Mon=0) -> (start hour, end hour), local time; absent: free all day
    hours: dict[int, tuple[int, int]] = field(default_factory=dict)
    timezone: str = "Europe/Belgrade"


class FixedKernel:
    """Stands in for `tariff_kernel` in the HTTP tests only: the charging-hours rule itself
    (NIS-3) is the kernel's and tested there; these tests are about the API's answers."""

    def __init__(self) -> None:
        nis_hours = {d: (7, 21) for d in range(5)} | {5: (7, 14)}
        self.cities = {
            "nis": CityFacts(
                "sms_parking",
                {"extra": None, "red": None, "green": None},
                grace_minutes=5,
                language="sr",
                raw={"replies": {"unavailable": {"sr": "Izvinite, servis nije dostupan."}}},
                hours=nis_hours,
            ),
            "hradec": CityFacts("missed_call", {}, timezone="Europe/Prague"),
            "tarnow": CityFacts("card_fare", {}, timezone="Europe/Warsaw"),
        }

    def list_cities(self) -> list[str]:
        return sorted(self.cities)

    def load_city(self, city_id: str) -> CityFacts:
        return self.cities[city_id]

    def charging_in_force(self, city: str, zone: str, at: datetime) -> bool:
        facts = self.cities[city]
        local = at.astimezone(ZoneInfo(facts.timezone))
        span = facts.hours.get(local.weekday())
        return span is not None and span[0] <= local.hour < span[1]


class ListSink:
    """Keeps produced messages; `down = True` makes it behave like an absent broker."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.down = False

    def send_and_wait(self, messages: list[Message], timeout_s: float) -> None:
        if self.down:
            raise KafkaUnavailable("broker unreachable")
        self.messages.extend(messages)


@dataclass
class Api:
    client: TestClient
    index: ValidityIndex
    audit: MemoryAuditTrail
    sink: ListSink
    services: Services
    token: Callable[..., str]

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, params=params or None, headers=headers)

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(path, json=body, headers=headers)


def make_token(role: str, *cities: str, subject: str = "W-17", ttl_s: int = 3600, **kw: Any) -> str:
    return issue_token(
        kw.get("secret", SECRET),
        subject=subject,
        role=role,
        cities=list(cities) or ["nis"],
        ttl_s=ttl_s,
        issuer=kw.get("issuer", ISSUER),
        now=kw.get("now"),
    )


# A valid Niš SMS CloudEvent (the example of docs/events.md, plate typed loosely).
SMS = {
    "specversion": "1.0",
    "id": "sms-1",
    "source": "urn:sms-gateway:telenor",
    "type": "sms.received",
    "time": "2026-11-24T10:00:00+01:00",
    "city": "nis",
    "data": {"msisdn": "+381641234567", "to": "9181", "text": "ni 123-ab", "operator": "telenor"},
}
