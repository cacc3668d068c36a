"""Request dependencies: services, the verified caller, role and city checks, parameters.

Order of refusals: no or bad token 401, rate limit 429, wrong role 403, unknown city 404,
city outside the token 403, replica still catching up 503 (checks only), then parameter
problems 400.

All checks are plain functions (`authenticate`, `authorize`, `parse_*`) that the
`Annotated` dependencies wrap; the single-plate route, the one wardens and camera cars
hit thousands of times a second, calls them directly (see plates.py for why).
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from enforcement_api.core.security import AuthError, Forbidden, Principal
from enforcement_api.services import Services
from streams.contract import InvalidPlate, normalise_plate

_bearer = HTTPBearer(auto_error=False, description="JWT from `python -m enforcement_api token`")


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def authenticate(services: Services, token: str | None) -> Principal:
    """401 unless `token` is a valid bearer token; 429 when the token's rate is spent."""
    if not token:
        raise _unauthorized("missing bearer token (Authorization: Bearer <JWT>)")
    try:
        principal = services.verifier.verify(token)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from None
    wait = services.limiter.allow(principal.token_id)
    if wait:
        raise HTTPException(
            429,
            "too many requests on this token",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return principal


def authorize(services: Services, principal: Principal, roles: tuple[str, ...], city: str) -> None:
    """403 for a wrong role, 404 for an unknown city, 403 for a city outside the token."""
    try:
        principal.require(roles)
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    if city not in services.cities.known:
        raise HTTPException(404, f"unknown city {city!r}")
    try:
        principal.require(roles, city)
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None


def require_caught_up(services: Services) -> None:
    """503 while this process's replica is still reading the validity topic up to the end
    it had at start: a plate paid for but not yet read would be answered `none`, and a
    warden acts on the answer. Behind one socket with several processes (`serve
    --workers N`) a probe of `/readyz` cannot tell which process it reached, so each check
    says so itself; clients retry after `Retry-After`."""
    if not services.replica.ready:
        raise HTTPException(
            503,
            "the validity replica of this API process is still catching up; retry shortly",
            headers={"Retry-After": "1"},
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def current_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return authenticate(services, credentials.credentials if credentials else None)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def role_in_city(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller has one of `roles` (or admin) and may see `{city}`."""

    async def dependency(
        principal: PrincipalDep,
        services: ServicesDep,
        city: Annotated[str, Path(description="city id, e.g. `nis`", max_length=20)],
    ) -> Principal:
        authorize(services, principal, roles, city)
        require_caught_up(services)
        return principal

    return dependency


def role_anywhere(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency for endpoints whose cities are in the body (ingestion)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        try:
            principal.require(roles)
        except Forbidden as exc:
            raise HTTPException(403, str(exc)) from None
        return principal

    return dependency


WardenDep = Annotated[Principal, Depends(role_in_city("warden"))]
InspectorDep = Annotated[Principal, Depends(role_in_city("inspector"))]
IngestDep = Annotated[Principal, Depends(role_anywhere("ingest"))]


# -- parameters ---------------------------------------------------------------------------


def parse_at(value: str | None) -> datetime:
    """`at` as an aware UTC datetime; now when absent (the warden asks about this moment)."""
    if value is None or value == "":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise HTTPException(
            400, f"at={value!r} is not an ISO 8601 time (e.g. 2026-11-24T10:00:00+01:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise HTTPException(400, f"at={value!r} must carry a UTC offset (Z or +01:00)")
    return moment.astimezone(UTC)


def parse_plate(value: str) -> str:
    """ENF-2: the same normalisation as NIS-1, or 400 saying what is wrong."""
    try:
        return normalise_plate(value)
    except InvalidPlate as exc:
        raise HTTPException(400, f"invalid plate: {exc.problem}") from None


def parse_zone(services: Services, city: str, zone: str | None) -> str | None:
    if zone is None or zone == "":
        return None
    if zone not in services.cities.zones(city):
        known = ", ".join(sorted(services.cities.zones(city)))
        raise HTTPException(400, f"unknown zone {zone!r} in {city} (zones: {known})")
    return zone


_CODE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_MSISDN = re.compile(r"^\+?[0-9]{6,15}$")


def parse_code(value: str, what: str) -> str:
    compact = re.sub(r"\s", "", value)
    if not _CODE.match(compact):
        raise HTTPException(400, f"invalid {what}: letters, digits and . _ : - only, 1-128")
    return compact


def phone_spellings(value: str) -> list[str]:
    """A phone number as given and with/without its leading + (HKR-9 lookups by phone)."""
    compact = re.sub(r"[\s\-]", "", value)
    if not _MSISDN.match(compact):
        raise HTTPException(400, "invalid phone number: 6 to 15 digits, optionally a leading +")
    bare = compact.removeprefix("+")
    return [compact, bare if compact.startswith("+") else f"+{bare}"]
