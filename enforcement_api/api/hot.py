"""The two hot plate routes, answered in front of FastAPI's router (pure ASGI middleware).

`GET /v1/cities/{city}/plates/{plate}` and `POST /v1/cities/{city}/plates:check` are
what wardens' handhelds and camera cars call thousands of times a second. Through
FastAPI's router, request objects and dependency resolution a check cost several times
the check itself (docs/PERFORMANCE.md). This middleware recognises exactly those two
paths by string and answers them with the functions the FastAPI routes call
(`answer_one_plate`, `answer_plate_batch` in routes/plates.py), so the answers, the
refusals, the audit record and the check metrics are the same; the route template goes
into the scope for the request metrics (metrics.TimingMiddleware). Anything else, and
any request on those paths it does not take exactly as FastAPI would (HEAD, a trailing
slash, a city id over 20 characters on the batch route), goes on to FastAPI, which also
documents both routes in OpenAPI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException

from enforcement_api.api.deps import (
    authenticate,
    authorize,
    bearer_token,
    require_caught_up,
)
from enforcement_api.api.routes.plates import answer_one_plate, answer_plate_batch
from enforcement_api.services import Services

CITIES = "/v1/cities/"
# The batch route's `{city}` is declared with max_length=20 (deps.role_in_city); longer
# ids are left to FastAPI for its own 422.
MAX_CITY = 20
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class RouteTemplate:
    """What TimingMiddleware reads from `scope["route"]`: the template, never the path."""

    path: str


ONE_PLATE_ROUTE = RouteTemplate("/v1/cities/{city}/plates/{plate}")
BATCH_ROUTE = RouteTemplate("/v1/cities/{city}/plates:check")


class HotPlateRoutes:
    def __init__(self, app: Any, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(CITIES):
                city, _, rest = path[len(CITIES) :].partition("/")
                if city:
                    method = scope["method"]
                    if method == "GET" and rest.startswith("plates/"):
                        plate = rest[len("plates/") :]
                        if plate and "/" not in plate:
                            scope["route"] = ONE_PLATE_ROUTE
                            await self._one_plate(scope, city, plate, send)
                            return
                    elif method == "POST" and rest == "plates:check" and len(city) <= MAX_CITY:
                        scope["route"] = BATCH_ROUTE
                        await self._batch(scope, city, receive, send)
                        return
        await self.app(scope, receive, send)

    async def _one_plate(self, scope: dict, city: str, plate: str, send: Any) -> None:
        query: dict[str, str] = {}
        if scope["query_string"]:
            # as Starlette's QueryParams: latin-1, blanks kept, the last value wins
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        try:
            body = answer_one_plate(
                self.services,
                city,
                plate,
                _authorization(scope),
                query.get("at"),
                query.get("zone"),
            )
        except HTTPException as exc:
            await _send_error(send, exc)
            return
        await _send_json(send, 200, body)

    async def _batch(self, scope: dict, city: str, receive: Any, send: Any) -> None:
        services = self.services
        try:
            principal = authenticate(services, bearer_token(_authorization(scope)))
            authorize(services, principal, ("warden",), city)
            require_caught_up(services)
            request_body = await _read_body(receive)
            if request_body is None:
                return  # the client went away
            body = answer_plate_batch(services, city, principal, request_body)
        except HTTPException as exc:
            await _send_error(send, exc)
            return
        await _send_json(send, 200, body)


def _authorization(scope: dict) -> str | None:
    # as Starlette's Headers.get: the first one, latin-1
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


async def _read_body(receive: Any) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, body: bytes, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*(headers or ()), (b"content-length", str(len(body)).encode()), _JSON],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Any, exc: HTTPException) -> None:
    """What FastAPI's HTTPException handler sends: `{"detail": ...}` and the headers."""
    body = json.dumps(
        {"detail": exc.detail}, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (exc.headers or {}).items()
    ]
    await _send_json(send, exc.status_code, body, headers)
