"""Liveness, readiness and metrics: no key needed (they say nothing about any tenant)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.errors import RETRY_AFTER_S
from api.schemas.errors import RETRY_AFTER, Answer, responses
from api.schemas.health import Alive, Readiness
from engine.access.errors import KeyFileUnavailable

router = APIRouter(tags=["health"])
log = logging.getLogger("omnistock.api")


@router.get("/healthz", operation_id="healthz", response_model=Alive)
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses=responses(
        Answer(503, "a part of the service does not answer", (Readiness,), RETRY_AFTER)
    ),
)
def readyz(request: Request) -> JSONResponse:
    """The state store and the job queue answer (memory and the local pool always, unless
    the pool's reader stopped; Redis when it pings back), and API keys can be checked
    (the key file is there and readable). 503 with Retry-After otherwise."""
    store = request.app.state.stores.ping()
    queue = request.app.state.jobs.ping()
    try:
        request.app.state.keys.ready()
        keys = True
    except KeyFileUnavailable as error:  # its path goes to the log, never in a body
        log.error("key file %s cannot be used: %s", error.path, "; ".join(map(str, error.issues)))
        keys = False
    ready = store and queue and keys
    body = {"status": "ok" if ready else "unavailable", "store": store, "queue": queue}
    body["keys"] = keys
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition"}},
)
def metrics(request: Request) -> Response:
    """Prometheus exposition: request latency, solve time by backend, plan size."""
    return request.app.state.metrics.exposition()
