"""One check, start to finish, without HTTP: look the subject up in the replica, decide
its status (status.py), find near-miss plates (nearmiss.py) and build the audit record
(ENF-3). Routes parse the request, call these and render the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from enforcement_api.nearmiss import near_misses
from enforcement_api.replica import HeldEntitlement, ValidityIndex
from enforcement_api.status import HAS_RIGHT, Decision, decide
from streams.contract import CheckRecord, format_time

MAX_SUGGESTIONS = 5

# `format_time` of the same few moments, again and again: a check renders ~8 times (its
# `at`, `as_of`, each entitlement's start and end), and isoformat() costs ~1-2 us each.
# The text depends only on the instant, which is also what datetime equality compares.
_FORMATTED: dict[datetime, str] = {}
_FORMATTED_MAX = 200_000


def format_moment(moment: datetime) -> str:
    """`streams.contract.format_time`, remembered."""
    text = _FORMATTED.get(moment)
    if text is None:
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()
        text = _FORMATTED[moment] = format_time(moment)
    return text


def new_check_id() -> str:
    """A random (version 4) UUID as 32 hex digits, what `uuid.uuid4().hex` gives, without
    building a `UUID` (~1 us instead of ~5: every check gets one)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


@dataclass(frozen=True)
class Suggestion:
    """A plate with a right that differs from the asked one by reading confusions."""

    plate: str
    status: str
    valid_until: datetime | None
    zone: str | None


# Built once per check and never changed; not frozen: a frozen dataclass pays
# object.__setattr__ per field (~3 us of a ~50 us check).
@dataclass(slots=True)
class Lookup:
    city: str
    subject_kind: str
    subject: str
    zone: str | None
    at: datetime
    decision: Decision
    entitlements: list[HeldEntitlement]  # everything held, also other zones, newest first
    as_of: datetime | None
    suggestions: list[Suggestion] = field(default_factory=list)
    check_id: str = field(default_factory=new_check_id)

    @property
    def status(self) -> str:
        return self.decision.status

    def audit_record(self, officer: str, role: str, answered_at: datetime) -> CheckRecord:
        return CheckRecord(
            check_id=self.check_id,
            city=self.city,
            officer=officer,
            role=role,
            subject_kind=self.subject_kind,  # type: ignore[arg-type]
            subject=self.subject,
            zone=self.zone,
            at=self.at,
            answered_at=answered_at,
            status=self.status,
            ticket_ids=[e.ticket_id for e in self.decision.evidence],
            as_of=self.as_of,
        )

    def audit_json(self, officer: str, role: str, answered_at: datetime | str) -> bytes:
        """`audit_record(...).to_json()`, byte for byte, without building the model: the
        audit record is written for every check, and the model cost ~60 us of the ~150 us
        a check took (tests/enforcement_api/test_enf_fast_routes.py holds them equal).
        `answered_at` may come formatted (`format_time`): a batch's checks share it."""
        body: dict[str, Any] = {
            "check_id": self.check_id,
            "city": self.city,
            "officer": officer,
            "role": role,
            "subject_kind": self.subject_kind,
            "subject": self.subject,
        }
        if self.zone is not None:
            body["zone"] = self.zone
        body["at"] = format_moment(self.at)
        body["answered_at"] = (
            answered_at if isinstance(answered_at, str) else format_time(answered_at)
        )
        body["status"] = self.status
        body["ticket_ids"] = [e.ticket_id for e in self.decision.evidence]
        if self.as_of is not None:
            body["as_of"] = format_moment(self.as_of)
        return orjson.dumps(body)


ChargingRule = Callable[[str, str | None, datetime], bool]


def check_plate(
    index: ValidityIndex,
    city: str,
    plate: str,
    at: datetime,
    *,
    zone: str | None,
    grace_minutes: int,
    charging_required: ChargingRule,
    suggest: bool = True,
) -> Lookup:
    """ENF-1/ENF-2: the status of a normalised plate in a zone (or the whole city) at `at`."""
    entitlements = index.entitlements(city, "plate", plate)
    decision = decide(
        entitlements,
        at,
        grace_minutes=grace_minutes,
        charging_in_force=lambda: charging_required(city, zone, at),
        zone=zone,
    )
    suggestions: list[Suggestion] = []
    if suggest and decision.status not in HAS_RIGHT:
        suggestions = near_miss_plates(
            index, city, plate, at, zone=zone, grace_minutes=grace_minutes
        )
    return Lookup(
        city=city,
        subject_kind="plate",
        subject=plate,
        zone=zone,
        at=at,
        decision=decision,
        entitlements=_newest_first(entitlements),
        as_of=index.as_of(city),
        suggestions=suggestions,
    )


def near_miss_plates(
    index: ValidityIndex,
    city: str,
    plate: str,
    at: datetime,
    *,
    zone: str | None,
    grace_minutes: int,
) -> list[Suggestion]:
    """Plates one or two reading confusions away that are paid at `at` (valid or grace).

    `not_required` is never a reason to suggest: it holds for every plate alike.
    """
    found: list[Suggestion] = []
    for candidate in near_misses(plate):
        if not index.has(city, "plate", candidate):
            continue
        held = index.entitlements(city, "plate", candidate)
        decision = decide(held, at, grace_minutes=grace_minutes, zone=zone)
        if decision.status in ("valid", "grace"):
            evidence = decision.evidence[0] if decision.evidence else None
            found.append(
                Suggestion(
                    plate=candidate,
                    status=decision.status,
                    valid_until=decision.valid_until or decision.expired_at,
                    zone=evidence.zone if evidence else None,
                )
            )
            if len(found) >= MAX_SUGGESTIONS:
                break
    return found


def check_subject(
    index: ValidityIndex,
    city: str,
    subject_kind: str,
    subject: str | list[str],
    at: datetime,
    *,
    grace_minutes: int,
) -> Lookup:
    """HKR-9 / TRN-10: a ticket code, phone number or card, where a fare always applies.

    `subject` may list several spellings of one subject (a phone with and without its
    leading +); their entitlements are merged and the first spelling is reported.
    """
    spellings = [subject] if isinstance(subject, str) else subject
    merged: dict[str, HeldEntitlement] = {}
    for spelling in spellings:
        for ent in index.entitlements(city, subject_kind, spelling):
            merged[ent.ticket_id] = ent
    entitlements = list(merged.values())
    decision = decide(entitlements, at, grace_minutes=grace_minutes, charging_in_force=True)
    return Lookup(
        city=city,
        subject_kind=subject_kind,
        subject=spellings[0],
        zone=None,
        at=at,
        decision=decision,
        entitlements=_newest_first(entitlements),
        as_of=index.as_of(city),
    )


def _newest_first(entitlements: list[HeldEntitlement]) -> list[HeldEntitlement]:
    return sorted(entitlements, key=lambda e: (e.valid_from, e.ticket_id), reverse=True)
