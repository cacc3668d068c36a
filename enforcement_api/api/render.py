"""Turning lookups into responses, and recording each answer (ENF-3)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Response
from pydantic import BaseModel

from enforcement_api.checks import Lookup
from enforcement_api.core.security import Principal
from enforcement_api.services import Services


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    # Serialised by pydantic-core straight to bytes: the routes declare the model for
    # OpenAPI, and skipping FastAPI's second validation pass keeps checks cheap.
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")


def record_check(services: Services, principal: Principal, lookup: Lookup) -> None:
    """ENF-3: who asked, when, about what, and the answer — to the audit topic."""
    services.audit.record(lookup.audit_record(principal.subject, principal.role, datetime.now(UTC)))
    services.metrics.checks.labels(lookup.subject_kind, lookup.status).inc()
