"""Outbound records: what the workers publish and what the API, the sink and the
notification senders read (docs/events.md).

Every record carries `caused_by`, the id of the inbound event that produced it, and a
deterministic `id` derived from it, so a redelivered event re-publishes byte-identical
records that readers de-duplicate by id (at-least-once processing, idempotent effects).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema


def _in_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


# A record's moments are held in UTC from validation on, so that pydantic-core writes them
# itself: "2026-11-24T08:00:03Z", with microseconds when there are any, the same text as
# `format_time` (tests/streams/contract/test_records.py) at a fraction of the cost of calling
# it for every field of every record.
# The published schemas keep saying what they said (a string; the docs give its form).
UtcTime = Annotated[
    datetime, AfterValidator(_in_utc), WithJsonSchema({"type": "string"}, mode="serialization")
]

Channel = Literal["sms", "voice", "push", "display", "app", "missed_call", "card", "web"]
NotificationChannel = Literal["sms", "voice", "push", "display"]
EntitlementState = Literal["provisional", "confirmed", "revoked"]
SubjectKind = Literal["plate", "ticket", "phone", "card"]
Purse = Literal["wallet", "card", "t_purse", "e_purse", "operator"]
LedgerKind = Literal[
    "topup", "charge", "refund", "hold", "capture", "release", "transfer_in", "transfer_out"
]
OutcomeKind = Literal["accepted", "refused", "duplicate", "ignored"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> bytes:
        # Pydantic's own encoder: compact, UTF-8 (no \u escapes), fields in declaration
        # order, the same bytes as json.dumps(model_dump(mode="json"), ensure_ascii=False,
        # separators=(",", ":")) at a third of the cost; the worker encodes every record.
        # Straight to bytes: `model_dump_json` is this call plus a decode to str (which
        # the old `.encode()` undid), 4.4 → 1.5 µs per record.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Any:
        return cls.model_validate_json(raw)


class Notification(Record):
    """A message to a person: SMS reply, voice answer, app push or validator display."""

    id: str
    city: str
    channel: NotificationChannel
    to: str  # msisdn, account id or validator id, by channel
    kind: str  # e.g. confirmation, refusal, unreadable, warning, expired, ticket, voice_limit
    text: str
    ticket_id: str | None = None
    caused_by: str
    time: UtcTime


class LedgerEntry(Record):
    """One money movement. Balances are sums of entries (see docs/events.md, "Ledger").

    `amount` is a positive magnitude; `kind` gives the direction on `purse`:
    topup, refund, release, transfer_in add to the holder's purse; charge, hold,
    transfer_out take from it; capture turns held money into a charge.
    """

    id: str
    city: str
    holder: str  # account id, msisdn or card id: the partition owner
    purse: Purse
    kind: LedgerKind
    amount: Annotated[int, Field(gt=0, strict=True)]
    currency: str
    ticket_id: str | None = None
    zone: str | None = None
    product: str | None = None
    channel: Channel | None = None
    balance_after: int | None = None
    caused_by: str
    time: UtcTime


class Entitlement(Record):
    """What a plate, ticket code, phone or card is entitled to, with the evidence."""

    ticket_id: str
    kind: str  # hourly, day, app_stay, transit_ticket, period_ticket, ride
    product: str
    channel: Channel
    state: EntitlementState
    valid_from: UtcTime
    valid_until: UtcTime
    price: int
    currency: str
    zone: str | None = None
    pin: str | None = None
    code: str | None = None
    plate: str | None = None
    revoked_at: UtcTime | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ValidityRecord(Record):
    """The current and recent entitlements of one subject, as held by one owner.

    Published to the compacted validity topic under `validity_key(...)`. Several owners
    (e.g. two app accounts parking the same plate) each publish their own record for a
    subject; readers merge them. A tombstone (null value) removes the key.
    """

    city: str
    subject_kind: SubjectKind
    subject: str
    owner: str
    entitlements: list[Entitlement]
    updated_at: UtcTime  # event time of the change
    caused_by: str

    @property
    def key(self) -> str:
        return validity_key(self.city, self.subject_kind, self.subject, self.owner)


def validity_key(city: str, subject_kind: str, subject: str, owner: str) -> str:
    return f"{city}|{subject_kind}|{subject}|{owner}"


class ClockMark(Record):
    """Heartbeat on the validity topic: event time a worker partition has reached.

    Lets a replica report `as_of` honestly in quiet periods, when no entitlement changes.
    Key: `clock_key(city, system_topic, partition)`.
    """

    city: str
    partition: int
    reached: UtcTime


def clock_key(city: str, source: str, partition: int) -> str:
    return f"{city}|clock|{source}|{partition}"


class Outcome(Record):
    """What the worker decided about one inbound event; every event gets exactly one."""

    id: str  # the inbound event's id
    city: str
    type: str
    owner: str
    outcome: OutcomeKind
    rule: str | None = None  # the RULES.md id behind a refusal, e.g. "HKR-6"
    reason: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    time: UtcTime


class DeadLetter(Record):
    """An inbound event that failed validation, kept whole with the reason."""

    id: str  # deterministic: source topic, partition and offset
    event_id: str | None = None
    reason: str
    problems: list[dict[str, str]]
    raw: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    received_at: UtcTime


class CheckRecord(Record):
    """An officer's lookup and the answer given (ENF-3), published to the audit topic."""

    check_id: str
    city: str
    officer: str
    role: str
    subject_kind: SubjectKind
    subject: str
    zone: str | None = None
    at: UtcTime  # the moment asked about
    answered_at: UtcTime
    status: str
    ticket_ids: list[str] = Field(default_factory=list)
    as_of: UtcTime | None = None
