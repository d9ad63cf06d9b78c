"""Liveness, readiness and metrics: no key needed (they say nothing about any tenant)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
def readyz(request: Request) -> JSONResponse:
    """The state store and the job queue answer (memory and the local pool always, unless
    the pool's reader stopped; Redis when it pings back)."""
    store = request.app.state.stores.ping()
    queue = request.app.state.jobs.ping()
    ready = store and queue
    body = {"status": "ok" if ready else "unavailable", "store": store, "queue": queue}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics")
def metrics(request: Request) -> Response:
    """Prometheus exposition: request latency, solve time by backend, plan size."""
    return request.app.state.metrics.exposition()
