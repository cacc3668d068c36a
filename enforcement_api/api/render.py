"""Turning lookups into response bodies, and recording each answer (ENF-3).

Check answers are built as plain dicts and serialised with orjson: the pydantic models
in schemas.py declare the same bodies for OpenAPI, and building them per check cost more
than the check itself. tests/enforcement_api/test_enf_fast_routes.py holds every body
here byte-equal to the model's `model_dump_json()`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

from enforcement_api.api.schemas import PERSONAL_DETAILS, PlateCheck, SubjectCheck
from enforcement_api.checks import Lookup, Suggestion, format_moment
from enforcement_api.core.security import Principal
from enforcement_api.replica import HeldEntitlement
from enforcement_api.services import Services


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    # Serialised by pydantic-core straight to bytes: the routes declare the model for
    # OpenAPI, and skipping FastAPI's second validation pass keeps checks cheap.
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")


def raw_json_response(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def record_check(
    services: Services, principal: Principal, lookup: Lookup, answered_at: str | None = None
) -> None:
    """ENF-3: who asked, when, about what, and the answer — to the audit topic.
    `answered_at` (`format_time` of the moment) is passed by a batch for all its checks."""
    services.audit.record(
        lookup.city,
        lookup.audit_json(
            principal.subject,
            principal.role,
            datetime.now(UTC) if answered_at is None else answered_at,
        ),
    )
    services.metrics.count_check(lookup.subject_kind, lookup.status)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_moment(moment)


def entitlement_body(e: HeldEntitlement) -> dict[str, Any]:
    """`EntitlementOut.of(e)` as a dict, in the model's field order."""
    return {
        "ticket_id": e.ticket_id,
        "pin": e.pin,
        "code": e.code,
        "zone": e.zone,
        "channel": e.channel,
        "kind": e.kind,
        "product": e.product,
        "state": e.state,
        "valid_from": format_moment(e.valid_from),
        "valid_until": format_moment(e.valid_until),
        "revoked_at": _time(e.revoked_at),
        "price": e.price,
        "currency": e.currency,
        "details": {k: v for k, v in e.details.items() if k not in PERSONAL_DETAILS},
    }


def _suggestion_body(s: Suggestion) -> dict[str, Any]:
    return {
        "plate": s.plate,
        "status": s.status,
        "valid_until": _time(s.valid_until),
        "zone": s.zone,
    }


def _verdict_fields(lookup: Lookup) -> dict[str, Any]:
    """The fields every check answer has between its subject and its evidence, in order."""
    d = lookup.decision
    return {
        "at": format_moment(lookup.at),
        "status": d.status,
        "valid_until": _time(d.valid_until),
        "expired_at": _time(d.expired_at),
        "revoked_at": _time(d.revoked_at),
        "entitlements": [entitlement_body(e) for e in lookup.entitlements],
    }


def plate_check_body(lookup: Lookup) -> dict[str, Any]:
    """`PlateCheck.of(lookup)` as a dict (same keys in the same order)."""
    return {
        "plate": lookup.subject,
        "city": lookup.city,
        "zone": lookup.zone,
        **_verdict_fields(lookup),
        "suggestions": [_suggestion_body(s) for s in lookup.suggestions],
        "as_of": _time(lookup.as_of),
        "check_id": lookup.check_id,
    }


def subject_check_body(lookup: Lookup) -> dict[str, Any]:
    """`SubjectCheck.of(lookup)` as a dict (same keys in the same order)."""
    return {
        "subject_kind": lookup.subject_kind,
        "subject": lookup.subject,
        "city": lookup.city,
        **_verdict_fields(lookup),
        "as_of": _time(lookup.as_of),
        "check_id": lookup.check_id,
    }


def plate_check_json(lookup: Lookup) -> bytes:
    try:
        return orjson.dumps(plate_check_body(lookup))
    except orjson.JSONEncodeError:
        # `details` holding what orjson refuses (an integer over 64 bits): the model's way
        return PlateCheck.of(lookup).model_dump_json().encode()


def subject_check_json(lookup: Lookup) -> bytes:
    try:
        return orjson.dumps(subject_check_body(lookup))
    except orjson.JSONEncodeError:
        return SubjectCheck.of(lookup).model_dump_json().encode()
