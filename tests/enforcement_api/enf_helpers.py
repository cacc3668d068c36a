"""Helpers of the enforcement API tests: entitlements, records, tokens, a fixed city kernel,
an in-memory event sink. Fixtures live in conftest.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from enforcement_api.audit import MemoryAuditTrail
from enforcement_api.core.security import issue_token
from enforcement_api.kafka_io import KafkaUnavailable, Message
from enforcement_api.replica import ValidityIndex
from enforcement_api.services import Services
from streams.contract import Entitlement, ValidityRecord
from tariff_kernel.config import REPO_CONFIG

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


# The NIS-8 texts these tests expect; written beside copies of the real city configs.
NIS_UNAVAILABLE_SR = "Izvinjavamo se, usluga trenutno nije dostupna. Platite na drugi način."
NIS_UNAVAILABLE_EN = "Sorry, the service is unavailable. Please pay another way."
TEST_REPLIES = f"""
[replies.sr]
unavailable = "{NIS_UNAVAILABLE_SR}"

[replies.en]
unavailable = "{NIS_UNAVAILABLE_EN}"
"""


def city_config_dir(target: Path) -> Path:
    """The product's city configs (tariffs only) plus the tests' own Niš reply texts.

    Only `<city>.toml` files are copied: the parts other teams own (`nis.replies.toml`)
    would clash with the test's replies; the kernel merges whatever lies beside them.
    """
    target.mkdir(parents=True, exist_ok=True)
    for main in REPO_CONFIG.glob("*.toml"):
        if "." not in main.stem:
            shutil.copy(main, target / main.name)
    (target / "nis.test_replies.toml").write_text(TEST_REPLIES, encoding="utf-8")
    return target


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
