"""What operators watch: Prometheus metrics and one JSON log line per request, each
carrying its request id (X-Request-ID, made when the caller sends none) and tenant."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from api.urls import API_PREFIX

log = logging.getLogger("omnistock.api")


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
    prefix = API_PREFIX if request.url.path.startswith(API_PREFIX + "/") else ""
    return prefix + str(getattr(route, "path", ""))


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
