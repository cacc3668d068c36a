"""Ingestion of CloudEvents from gateways, validators and apps (`POST /v1/events`, NIS-8).

202 only once Kafka has stored every event (`acks=all`): nothing accepted is lost. 400
names every bad event and what is wrong with it, and nothing of that request is stored.
503 when Kafka cannot take them, with the city's "service unavailable" reply for the
customer (NIS-8: no SMS is silently dropped — the gateway sends that reply instead).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from enforcement_api.api.deps import IngestDep, ServicesDep
from enforcement_api.api.render import json_response
from enforcement_api.api.schemas import (
    ErrorBody,
    EventProblem,
    IngestAccepted,
    IngestRejected,
    RejectedEvent,
    UnavailableReply,
)
from enforcement_api.ingest import event_bodies, plan_ingest
from enforcement_api.kafka_io import KafkaUnavailable

router = APIRouter(tags=["ingest"])

SMS_EXAMPLE = {
    "specversion": "1.0",
    "id": "sms-20261124-0001",
    "source": "urn:sms-gateway:telenor",
    "type": "sms.received",
    "time": "2026-11-24T10:00:00+01:00",
    "city": "nis",
    "data": {"msisdn": "+381641234567", "to": "9181", "text": "NI123AB", "operator": "telenor"},
}


@router.post(
    "/v1/events",
    status_code=202,
    response_model=IngestAccepted,
    responses={
        400: {"model": IngestRejected, "description": "invalid events, with reasons"},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody, "description": "not an ingest token, or not for the city"},
        503: {"model": UnavailableReply, "description": "Kafka unavailable (NIS-8 reply)"},
    },
    summary="Accept one CloudEvent or {events: [...]}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "one": {"value": SMS_EXAMPLE},
                        "batch": {"value": {"events": [SMS_EXAMPLE]}},
                    },
                }
            },
        }
    },
)
async def ingest_events(request: Request, principal: IngestDep, services: ServicesDep) -> Response:
    try:
        payload = json.loads(await request.body())
        bodies = event_bodies(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"body is not JSON: {exc}") from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if not bodies:
        raise HTTPException(400, "no events")
    limit = services.settings.max_batch
    if len(bodies) > limit:
        raise HTTPException(400, f"at most {limit} events per request ({len(bodies)} sent)")
    cities = services.cities
    plan = plan_ingest(
        bodies,
        known_cities=cities.known,
        system_of=cities.system,
        raw_topic=services.settings.topics.raw,
    )
    if plan.rejected:
        services.metrics.ingested.labels("rejected").inc(len(plan.rejected))
        body = IngestRejected(
            detail=f"{len(plan.rejected)} of {len(bodies)} events are invalid; none was stored",
            rejected=[
                RejectedEvent(
                    index=r.index,
                    id=r.id,
                    reason=r.reason,
                    problems=[EventProblem(**p) for p in r.problems],
                )
                for r in plan.rejected
            ],
        )
        return json_response(body, 400)
    for city in plan.cities:
        if not principal.may_see(city):
            raise HTTPException(403, f"this token may not send events for city {city!r}")
    try:
        await run_in_threadpool(
            services.events.send_and_wait, plan.messages, services.settings.ingest_timeout_s
        )
    except KafkaUnavailable as exc:
        services.metrics.ingested.labels("unavailable").inc(len(plan.messages))
        replies = {city: cities.unavailable_text(city) for city in plan.cities}
        body = UnavailableReply(
            detail=f"events not stored: {exc}",
            reply=replies[plan.cities[0]],
            replies=replies,
        )
        return Response(
            body.model_dump_json(),
            status_code=503,
            media_type="application/json",
            headers={"Retry-After": "5"},
        )
    services.metrics.ingested.labels("accepted").inc(len(plan.messages))
    return json_response(IngestAccepted(accepted=plan.ids), 202)
