"""One HTTP status per engine error, each body naming the field, rule or SKU at fault:
422 invalid input (the request's own fields or a document inside it), 409 rules that
cannot all hold, 503 a solver that could not finish; 401 no valid API key, 403 a key
whose role, tenant or brand does not allow the request, 404 an unknown key id. Client
input never gives a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.access.errors import Forbidden, Unauthenticated, UnknownKey
from engine.checks.publish import PublishRefused
from engine.core.errors import ConflictError, InputError, SolverError
from engine.core.io import dotted_path
from engine.jobs.base import JobAlreadyEnded
from engine.store.errors import IdempotencyConflict, InsufficientStock, NotFound, StaleVersion


def _issues(issues: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": path, "message": message} for path, message in issues]


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = []
    for error in exc.errors():
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        found.append((dotted_path(error["loc"]), message))
    return JSONResponse({"detail": _issues(found)}, status_code=422)


async def _invalid_document(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    found = []
    for issue in exc.issues:
        path = ".".join(p for p in (exc.source, issue.path) if p)
        path = path.replace(".[", "[")
        found.append((path, issue.message))
    return JSONResponse({"detail": _issues(found)}, status_code=422)


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    detail = [
        {"rules": c.rules, "skus": c.skus, "shops": c.shops, "detail": c.detail}
        for c in exc.conflicts
    ]
    return JSONResponse({"detail": detail}, status_code=409)


async def _solver(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SolverError)
    body = {"detail": {"solver": exc.backend, "status": exc.status, "message": str(exc)}}
    if exc.status in CLIENT_SOLVER_STATUSES:
        # The request forced a solver that does not exist or cannot take its rules.
        body["detail"]["field"] = "solver"
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=503)


CLIENT_SOLVER_STATUSES = ("unsupported", "unknown")


async def _unauthenticated(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    body = {"detail": {"header": "Authorization", "message": exc.reason}}
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    detail = {
        "key_id": exc.key_id,
        "role": exc.role,
        "action": exc.action,
        "tenant": exc.tenant,
        "brand": exc.brand,
        "message": str(exc),
    }
    return JSONResponse({"detail": detail}, status_code=403)


async def _unknown_key(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownKey)
    return JSONResponse({"detail": {"key_id": exc.key_id, "message": str(exc)}}, status_code=404)


async def _stale(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StaleVersion)
    detail = {
        "field": "stock_version",
        "what": exc.what,
        "given": exc.given,
        "current_version": exc.current,
        "message": str(exc),
    }
    return JSONResponse({"detail": detail}, status_code=409)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PublishRefused)
    detail = {
        "plan_id": exc.plan_id,
        "message": str(exc).splitlines()[0],
        "warnings": [w.model_dump() for w in exc.warnings],
    }
    return JSONResponse({"detail": detail}, status_code=409)


async def _idempotency(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotencyConflict)
    detail = {"header": "Idempotency-Key", "key": exc.key, "plan_id": exc.plan_id}
    return JSONResponse({"detail": {**detail, "message": str(exc)}}, status_code=409)


async def _insufficient(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InsufficientStock)
    detail = {
        "shop": exc.shop,
        "sku": exc.sku,
        "requested": exc.requested,
        "available": exc.available,
        "message": str(exc),
    }
    return JSONResponse({"detail": detail}, status_code=409)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    detail = {"what": exc.what, "key": exc.key, "message": str(exc)}
    return JSONResponse({"detail": detail}, status_code=404)


async def _job_ended(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobAlreadyEnded)
    detail = {"job": exc.job_id, "status": exc.status, "message": str(exc)}
    return JSONResponse({"detail": detail}, status_code=409)


class BodyLimit:
    """413 for a request body above `max_bytes`: at once when Content-Length says so,
    else as soon as the streamed body passes the limit (it is buffered up to it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        detail = {"body": size, "limit_bytes": self.max_bytes, "message": "request body too large"}
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._refuse(scope, receive, send, f"{int(length)} bytes")
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"more than {self.max_bytes} bytes")
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    app.add_middleware(BodyLimit, max_bytes=max_bytes)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InputError, _invalid_document)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(SolverError, _solver)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(UnknownKey, _unknown_key)
    app.add_exception_handler(StaleVersion, _stale)
    app.add_exception_handler(PublishRefused, _refused)
    app.add_exception_handler(IdempotencyConflict, _idempotency)
    app.add_exception_handler(InsufficientStock, _insufficient)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(JobAlreadyEnded, _job_ended)
