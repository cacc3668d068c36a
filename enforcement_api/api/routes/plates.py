"""Plate checks for parking wardens and camera cars (ENF-1, ENF-2, ENF-3, NIS-9)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from enforcement_api.api.deps import (
    ServicesDep,
    WardenDep,
    authenticate,
    authorize,
    bearer_token,
    parse_at,
    parse_plate,
    parse_zone,
    require_caught_up,
)
from enforcement_api.api.render import (
    plate_check_body,
    plate_check_json,
    raw_json_response,
    record_check,
)
from enforcement_api.api.schemas import (
    ErrorBody,
    PlateBatchItemError,
    PlateBatchRequest,
    PlateBatchResult,
    PlateCheck,
)
from enforcement_api.checks import Lookup, check_plate, format_moment
from enforcement_api.core.security import Principal
from enforcement_api.services import Services
from streams.contract import InvalidPlate, format_time, normalise_plate

router = APIRouter(prefix="/v1/cities/{city}", tags=["wardens"])

ERRORS = {
    400: {"model": ErrorBody, "description": "bad plate, zone or `at`"},
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"},
    403: {"model": ErrorBody, "description": "not a warden, or not for this city"},
    404: {"model": ErrorBody, "description": "unknown city, or a city without parking"},
    429: {"model": ErrorBody, "description": "rate limit of the token"},
    503: {"model": ErrorBody, "description": "this process's replica is still catching up"},
}


def _parking_city(services: Services, city: str) -> None:
    if not services.cities.is_parking(city):
        raise HTTPException(404, f"{city} has no parking to check")


# The single-plate check is the hot path (2 000 checks/s per process is the target). With
# FastAPI 0.165, resolving the usual `Annotated` dependencies and query parameters costs
# ~170 us a request, more than the check itself; this route reads the request directly
# and calls the same functions the dependencies wrap (measured: 3 457 -> 5 673 checks/s,
# docs/PERFORMANCE.md). Its parameters are documented for OpenAPI by hand below. In a
# served process both plate routes are answered before FastAPI by api/hot.py, which
# calls `answer_one_plate` and `answer_plate_batch` below just as these routes do.
SINGLE_PLATE_PARAMETERS = [
    {"name": "city", "in": "path", "required": True, "schema": {"type": "string"}},
    {
        "name": "plate",
        "in": "path",
        "required": True,
        "description": "as read; spaces and dashes are ignored (NIS-1, ENF-2)",
        "schema": {"type": "string"},
    },
    {
        "name": "zone",
        "in": "query",
        "required": False,
        "description": "zone id; omit to check the whole city",
        "schema": {"type": "string"},
        "example": "red",
    },
    {
        "name": "at",
        "in": "query",
        "required": False,
        "description": "ISO 8601 moment with offset to answer for (complaints); default now",
        "schema": {"type": "string"},
        "example": "2026-11-24T10:30:00+01:00",
    },
]


def answer_one_plate(
    services: Services,
    city: str,
    plate: str,
    authorization: str | None,
    at: str | None,
    zone: str | None,
) -> bytes:
    """The single-plate check from the raw request parts: the JSON body of the answer, or
    HTTPException (401, 429, 403, 404, 503, 400 in that order). Records the check (ENF-3)."""
    principal = authenticate(services, bearer_token(authorization))
    authorize(services, principal, ("warden",), city)
    require_caught_up(services)
    _parking_city(services, city)
    normalised = parse_plate(plate)
    moment = parse_at(at)
    zone_id = parse_zone(services, city, zone)
    lookup = check_plate(
        services.index,
        city,
        normalised,
        moment,
        zone=zone_id,
        grace_minutes=services.cities.grace_minutes(city),
        charging_required=services.cities.charging_required,
    )
    record_check(services, principal, lookup)
    return plate_check_json(lookup)


@router.get(
    "/plates/{plate}",
    response_model=PlateCheck,
    responses=ERRORS,
    summary="Check one plate (ENF-1)",
    openapi_extra={"parameters": SINGLE_PLATE_PARAMETERS, "security": [{"HTTPBearer": []}]},
)
async def check_one_plate(request: Request) -> Response:
    """Status of a plate now (or at `at`) in a zone or the whole city, with the evidence,
    near-miss suggestions when it has no right, and `as_of` of the replica."""
    query = request.query_params
    return raw_json_response(
        answer_one_plate(
            request.app.state.services,
            request.path_params["city"],
            request.path_params["plate"],
            request.headers.get("authorization"),
            query.get("at"),
            query.get("zone"),
        )
    )


def answer_plate_batch(services: Services, city: str, principal: Principal, body: bytes) -> bytes:
    """The batch check of an authorised warden: the JSON body of the answer, or
    HTTPException (404 city without parking, 400 bad body). Records every check."""
    _parking_city(services, city)
    try:
        request = PlateBatchRequest.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(400, _first_problem(exc)) from None
    limit = services.settings.max_batch
    if len(request.plates) > limit:
        raise HTTPException(400, f"at most {limit} plates per request ({len(request.plates)} sent)")
    moment = parse_at(request.at)
    zone_id = parse_zone(services, city, request.zone)
    grace = services.cities.grace_minutes(city)

    @cache
    def charging_required(*_: object) -> bool:  # same place and moment for every plate
        return services.cities.charging_required(city, zone_id, moment)

    answered_at = format_time(datetime.now(UTC))  # one answer, one moment for its checks
    results: list[Lookup | PlateBatchItemError] = []
    for raw in request.plates:
        try:
            normalised = normalise_plate(raw)
        except InvalidPlate as exc:
            results.append(PlateBatchItemError(input=raw, error=exc.problem))
            continue
        lookup = check_plate(
            services.index,
            city,
            normalised,
            moment,
            zone=zone_id,
            grace_minutes=grace,
            charging_required=charging_required,
        )
        record_check(services, principal, lookup, answered_at)
        results.append(lookup)
    as_of = services.index.as_of(city)
    try:
        return orjson.dumps(
            {
                "city": city,
                "zone": zone_id,
                "at": format_moment(moment),
                "as_of": None if as_of is None else format_moment(as_of),
                "results": [
                    plate_check_body(r) if isinstance(r, Lookup) else r.model_dump()
                    for r in results
                ],
            }
        )
    except orjson.JSONEncodeError:  # see render.plate_check_json
        return (
            PlateBatchResult(
                city=city,
                zone=zone_id,
                at=moment,
                as_of=as_of,
                results=[PlateCheck.of(r) if isinstance(r, Lookup) else r for r in results],
            )
            .model_dump_json()
            .encode()
        )


@router.post(
    "/plates:check",
    response_model=PlateBatchResult,
    responses=ERRORS,
    summary="Check many plates at once (camera cars)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PlateBatchRequest.model_json_schema()}},
        }
    },
)
async def check_many_plates(
    city: str, request: Request, principal: WardenDep, services: ServicesDep
) -> Response:
    """One result per plate, in the order sent; an unreadable plate gets `status: invalid`
    and does not fail the others. Up to `API_MAX_BATCH` (1000) plates per request."""
    return raw_json_response(answer_plate_batch(services, city, principal, await request.body()))


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    if not errors:
        return "invalid body"
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "json_invalid":
        return f"body is not JSON: {first['msg']}"
    return f"{where}: {first['msg']}" + (
        f" ({len(errors) - 1} more problems)" if len(errors) > 1 else ""
    )
