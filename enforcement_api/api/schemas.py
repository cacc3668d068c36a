"""Request and response bodies of the HTTP API, with the examples OpenAPI shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from enforcement_api.checks import Lookup, Suggestion
from enforcement_api.replica import HeldEntitlement
from streams.contract import Entitlement, format_time

UtcTime = Annotated[datetime, PlainSerializer(format_time, return_type=str, when_used="json")]
StatusValue = Literal["valid", "grace", "expired", "revoked", "not_required", "none"]
# Details a worker keeps for its own use that an officer has no need to see.
PERSONAL_DETAILS = frozenset({"msisdn", "phone", "account_id", "email"})


class EntitlementOut(BaseModel):
    """The evidence: one ticket or stay the subject holds."""

    ticket_id: str
    pin: str | None = None
    code: str | None = None
    zone: str | None = None
    channel: str
    kind: str
    product: str
    state: Literal["provisional", "confirmed", "revoked"]
    valid_from: UtcTime
    valid_until: UtcTime
    revoked_at: UtcTime | None = None
    price: int = Field(description="minor units of `currency`")
    currency: str
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, e: Entitlement | HeldEntitlement) -> EntitlementOut:
        return cls(
            ticket_id=e.ticket_id,
            pin=e.pin,
            code=e.code,
            zone=e.zone,
            channel=e.channel,
            kind=e.kind,
            product=e.product,
            state=e.state,
            valid_from=e.valid_from,
            valid_until=e.valid_until,
            revoked_at=e.revoked_at,
            price=e.price,
            currency=e.currency,
            details={k: v for k, v in e.details.items() if k not in PERSONAL_DETAILS},
        )


class SuggestionOut(BaseModel):
    plate: str
    status: Literal["valid", "grace"]
    valid_until: UtcTime | None = None
    zone: str | None = None

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(plate=s.plate, status=s.status, valid_until=s.valid_until, zone=s.zone)  # type: ignore[arg-type]


PLATE_EXAMPLE = {
    "plate": "NI123AB",
    "city": "nis",
    "zone": "red",
    "at": "2026-11-24T09:30:00Z",
    "status": "valid",
    "valid_until": "2026-11-24T11:00:00Z",
    "expired_at": None,
    "revoked_at": None,
    "entitlements": [
        {
            "ticket_id": "nis-9181-48213967",
            "pin": "48213967",
            "zone": "red",
            "channel": "sms",
            "kind": "hourly",
            "product": "9181",
            "state": "provisional",
            "valid_from": "2026-11-24T09:00:00Z",
            "valid_until": "2026-11-24T10:00:00Z",
            "price": 6000,
            "currency": "RSD",
            "details": {},
        }
    ],
    "suggestions": [],
    "as_of": "2026-11-24T09:29:58Z",
    "check_id": "5b0f2a6c9e1d4e55a0b7c3d2e1f00a11",
}


class PlateCheck(BaseModel):
    """ENF-1: the answer about one plate."""

    model_config = ConfigDict(json_schema_extra={"examples": [PLATE_EXAMPLE]})

    plate: str = Field(description="the plate as normalised (NIS-1, ENF-2)")
    city: str
    zone: str | None = None
    at: UtcTime = Field(description="the moment asked about")
    status: StatusValue
    valid_until: UtcTime | None = Field(None, description="end of the paid time covering `at`")
    expired_at: UtcTime | None = Field(None, description="when the latest right ended")
    revoked_at: UtcTime | None = None
    entitlements: list[EntitlementOut]
    suggestions: list[SuggestionOut] = Field(
        default_factory=list, description="paid plates one or two reading confusions away"
    )
    as_of: UtcTime | None = Field(description="newest event time the replica has applied")
    check_id: str

    @classmethod
    def of(cls, lookup: Lookup) -> PlateCheck:
        d = lookup.decision
        return cls(
            plate=lookup.subject,
            city=lookup.city,
            zone=lookup.zone,
            at=lookup.at,
            status=d.status,
            valid_until=d.valid_until,
            expired_at=d.expired_at,
            revoked_at=d.revoked_at,
            entitlements=[EntitlementOut.of(e) for e in lookup.entitlements],
            suggestions=[SuggestionOut.of(s) for s in lookup.suggestions],
            as_of=lookup.as_of,
            check_id=lookup.check_id,
        )


class PlateBatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"plates": ["NI123AB", "NI-456-CD"], "zone": "red"}]},
    )

    plates: list[str] = Field(min_length=1, description="up to API_MAX_BATCH (1000) plates")
    zone: str | None = None
    at: str | None = Field(None, description="ISO 8601 with offset; default now")


class PlateBatchItemError(BaseModel):
    input: str
    status: Literal["invalid"] = "invalid"
    error: str


class PlateBatchResult(BaseModel):
    city: str
    zone: str | None = None
    at: UtcTime
    as_of: UtcTime | None = None
    results: list[PlateCheck | PlateBatchItemError]


class SubjectCheck(BaseModel):
    """HKR-9 / TRN-10: the answer about a ticket code, a phone number or a card."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject_kind": "ticket",
                    "subject": "HK7Q2M9X",
                    "city": "hradec",
                    "at": "2026-11-24T07:40:00Z",
                    "status": "valid",
                    "valid_until": "2026-11-24T08:42:03Z",
                    "entitlements": [
                        {
                            "ticket_id": "hradec-910301001-call-7f3a",
                            "code": "HK7Q2M9X",
                            "channel": "missed_call",
                            "kind": "transit_ticket",
                            "product": "910301001",
                            "state": "confirmed",
                            "valid_from": "2026-11-24T06:12:03Z",
                            "valid_until": "2026-11-24T08:42:03Z",
                            "price": 3000,
                            "currency": "CZK",
                        }
                    ],
                    "as_of": "2026-11-24T07:39:59Z",
                    "check_id": "c0ffee00c0ffee00c0ffee00c0ffee00",
                }
            ]
        }
    )

    subject_kind: Literal["ticket", "phone", "card"]
    subject: str
    city: str
    at: UtcTime
    status: StatusValue
    valid_until: UtcTime | None = None
    expired_at: UtcTime | None = None
    revoked_at: UtcTime | None = None
    entitlements: list[EntitlementOut]
    as_of: UtcTime | None = None
    check_id: str

    @classmethod
    def of(cls, lookup: Lookup) -> SubjectCheck:
        d = lookup.decision
        return cls(
            subject_kind=lookup.subject_kind,  # type: ignore[arg-type]
            subject=lookup.subject,
            city=lookup.city,
            at=lookup.at,
            status=d.status,
            valid_until=d.valid_until,
            expired_at=d.expired_at,
            revoked_at=d.revoked_at,
            entitlements=[EntitlementOut.of(e) for e in lookup.entitlements],
            as_of=lookup.as_of,
            check_id=lookup.check_id,
        )


class IngestAccepted(BaseModel):
    accepted: list[str] = Field(description="ids of the events stored in Kafka")


class EventProblem(BaseModel):
    field: str
    problem: str


class RejectedEvent(BaseModel):
    index: int
    id: str | None = None
    reason: str
    problems: list[EventProblem]


class IngestRejected(BaseModel):
    detail: str
    rejected: list[RejectedEvent]


class UnavailableReply(BaseModel):
    """503: nothing was stored; `reply` is the text to send the customer (NIS-8)."""

    detail: str
    reply: str
    replies: dict[str, str] = Field(description="the reply text per city of the events")


class ErrorBody(BaseModel):
    detail: str


class Health(BaseModel):
    status: str
    replica: dict[str, Any] = Field(default_factory=dict)
