"""Liveness, readiness (the replica has caught up) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from enforcement_api.api.deps import ServicesDep
from enforcement_api.api.render import json_response
from enforcement_api.api.schemas import Health
from streams.contract import format_time

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process answers")
async def healthz() -> Response:
    return json_response(Health(status="ok"))


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "replica still catching up"}},
    summary="Ready once the replica has read the validity topic up to its end at start",
)
async def readyz(services: ServicesDep) -> Response:
    state = services.replica_state()
    replica = {
        "ready": state["ready"],
        "lag": state["lag"],
        "connected": state["connected"],
        "subjects": state["subjects"],
        "as_of": {city: format_time(t) for city, t in sorted(state["as_of"].items())},
    }
    if state["ready"]:
        return json_response(Health(status="ready", replica=replica))
    return json_response(Health(status="catching_up", replica=replica), 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
