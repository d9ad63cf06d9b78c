"""What operators watch: Prometheus metrics, one JSON log line per request, each
carrying its request id (X-Request-ID, made when the caller sends none) and tenant, and
the audit log: every request that asked to write (engine/services/audit.py), with its
outcome, in the tenant's store."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from api.urls import API_PREFIX, CONSOLE_PREFIX
from engine.services import audit

log = logging.getLogger("omnistock.api")


def configure_logging() -> None:
    """Request lines on stderr, one JSON object each: the "omnistock" loggers get a
    handler at INFO unless the process configured them already. uvicorn configures only
    its own loggers, and Python's last-resort handler prints warnings and worse, so
    without this the request lines of `omnistock serve` went nowhere. Records still
    reach the root logger's handlers (a test's log capture, a deployment's own set-up)."""
    root = logging.getLogger("omnistock")
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def audit_target(request: Request, **ids: str) -> None:
    """Name what a write acted on, beyond its path's ids (an order's shop and SKU, the
    plan or job a request made), for its audit entry."""
    target: dict[str, str] = getattr(request.state, "audit_target", {})
    target.update(ids)
    request.state.audit_target = target


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "omnistock_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.solve = Histogram(
            "omnistock_solve_seconds",
            "Solve time of a plan, by backend(s)",
            ["backend"],
            registry=self.registry,
        )
        self.plan_cells = Histogram(
            "omnistock_plan_cells",
            "SKU x shop cells per plan",
            buckets=(100, 1e3, 1e4, 1e5, 1e6, 1e7),
            registry=self.registry,
        )

    def record_plan(self, plan: dict[str, Any]) -> None:
        self.solve.labels(str(plan.get("solver", ""))).observe(plan["timing"]["solve_s"])
        self.plan_cells.observe(plan["kpis"]["cells"])

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(request: Request) -> str:
    """The matched route's template (/v1/plans/{plan_id}), never the raw path: raw paths
    would make one time series per plan id. FastAPI keeps router-relative templates, so
    the /v1 prefix the app mounts the routers under is put back."""
    route = request.scope.get("route")
    if route is None:
        return "unmatched"
    path = request.url.path
    prefix = (
        API_PREFIX
        if path.startswith(API_PREFIX + "/")
        else CONSOLE_PREFIX
        if path.startswith(CONSOLE_PREFIX + "/")
        else ""
    )
    return prefix + str(getattr(route, "path", ""))


async def _audit(request: Request, status: int, route: str) -> None:
    principal = getattr(request.state, "principal", None)
    if principal is None or not getattr(request.state, "audited", False):
        return
    target = {str(k): str(v) for k, v in request.path_params.items()}
    key = request.headers.get("idempotency-key")
    if key:
        target["idempotency_key"] = key
    target.update(getattr(request.state, "audit_target", {}))
    entry = audit.audit_entry(
        principal, request.method, route, target, status, request.state.request_id
    )
    store = request.app.state.stores.get(principal.tenant)
    try:
        await run_in_threadpool(audit.record, store, entry)
    except Exception as error:  # noqa: BLE001 - the answer stands; the loss is logged
        log.error("audit entry not stored (%s): %s", error, json.dumps(entry))


def install(app: FastAPI) -> None:
    app.state.metrics = Metrics()

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = _route_template(request)
        app.state.metrics.latency.labels(request.method, route, str(response.status_code)).observe(
            elapsed
        )
        response.headers["X-Request-ID"] = request_id
        # Which API worker process answered, for tracing (read per request: a forked
        # worker has its own pid).
        response.headers["X-Worker"] = str(os.getpid())
        await _audit(request, response.status_code, route)
        log.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "tenant": getattr(request.state, "tenant", None),
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 2),
                }
            )
        )
        return response
