"""Ticket, phone and card checks for transit inspectors (HKR-9, TRN-10, ENF-3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from enforcement_api.api.deps import (
    InspectorDep,
    ServicesDep,
    parse_at,
    parse_code,
    phone_spellings,
)
from enforcement_api.api.render import raw_json_response, record_check, subject_check_json
from enforcement_api.api.schemas import ErrorBody, SubjectCheck
from enforcement_api.checks import check_subject

router = APIRouter(prefix="/v1/cities/{city}", tags=["inspectors"])

ERRORS = {
    400: {"model": ErrorBody, "description": "bad code, phone, card id or `at`"},
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"},
    403: {"model": ErrorBody, "description": "not an inspector, or not for this city"},
    404: {"model": ErrorBody, "description": "unknown city"},
    429: {"model": ErrorBody, "description": "rate limit of the token"},
    503: {"model": ErrorBody, "description": "this process's replica is still catching up"},
}
AtQuery = Annotated[
    str | None,
    Query(description="ISO 8601 moment with offset; default now", examples=["2026-11-24T07:40Z"]),
]


@router.get(
    "/tickets/{code}",
    response_model=SubjectCheck,
    responses=ERRORS,
    summary="Verify a ticket by the code in its SMS (HKR-9)",
)
async def check_ticket(
    city: str,
    code: Annotated[str, Path(description="the ticket code printed in the SMS")],
    principal: InspectorDep,
    services: ServicesDep,
    at: AtQuery = None,
) -> Response:
    lookup = check_subject(
        services.index,
        city,
        "ticket",
        parse_code(code, "ticket code"),
        parse_at(at),
        grace_minutes=services.cities.grace_minutes(city),
    )
    record_check(services, principal, lookup)
    return raw_json_response(subject_check_json(lookup))


@router.get(
    "/phones/{msisdn}/tickets",
    response_model=SubjectCheck,
    responses=ERRORS,
    summary="List the tickets of a phone number (HKR-9)",
)
async def check_phone(
    city: str,
    msisdn: Annotated[str, Path(description="phone number, with or without +")],
    principal: InspectorDep,
    services: ServicesDep,
    at: AtQuery = None,
) -> Response:
    lookup = check_subject(
        services.index,
        city,
        "phone",
        phone_spellings(msisdn),
        parse_at(at),
        grace_minutes=services.cities.grace_minutes(city),
    )
    record_check(services, principal, lookup)
    return raw_json_response(subject_check_json(lookup))


@router.get(
    "/cards/{card_id}",
    response_model=SubjectCheck,
    responses=ERRORS,
    summary="Check a city card: period ticket, current check-in and its tickets (TRN-10)",
)
async def check_card(
    city: str,
    card_id: Annotated[str, Path(description="the card's id")],
    principal: InspectorDep,
    services: ServicesDep,
    at: AtQuery = None,
) -> Response:
    lookup = check_subject(
        services.index,
        city,
        "card",
        parse_code(card_id, "card id"),
        parse_at(at),
        grace_minutes=services.cities.grace_minutes(city),
    )
    record_check(services, principal, lookup)
    return raw_json_response(subject_check_json(lookup))
