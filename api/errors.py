"""One HTTP status per engine error, each body naming the field, rule or SKU at fault:
422 invalid input (the request's own fields or a document inside it, and a body that is
not readable JSON), 409 rules that cannot all hold, 503 a solver that could not finish;
401 no valid API key, 403 a key whose role, tenant or brand does not allow the request,
404 an unknown key id, 429 a key over its rate limit; 503 with Retry-After when the
state store (Redis) does not answer or the key file cannot be used. Client input never
gives a 500.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

import redis
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.access.errors import (
    Forbidden,
    KeyFileUnavailable,
    RateLimited,
    Unauthenticated,
    UnknownKey,
)
from engine.checks.publish import PublishRefused
from engine.core.errors import ConflictError, InputError, SolverError
from engine.core.io import dotted_path
from engine.db.errors import Conflict as DbConflict
from engine.db.errors import DatabaseError
from engine.db.errors import NotFound as DbNotFound
from engine.jobs.base import JobAlreadyEnded
from engine.store.errors import IdempotencyConflict, InsufficientStock, NotFound, StaleVersion

log = logging.getLogger("omnistock.api")

# What a 503 for a store that does not answer (or keys that cannot be checked) asks the
# client to wait before trying again: Redis restarts, or is failed over, in seconds.
RETRY_AFTER_S = 5


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
    detail: dict[str, Any] = {"header": "Idempotency-Key", "key": exc.key}
    if exc.plan_id is not None:  # a publish's key; an order's names no plan
        detail["plan_id"] = exc.plan_id
    return JSONResponse({"detail": {**detail, "message": str(exc)}}, status_code=409)


async def _store_down(request: Request, exc: Exception) -> JSONResponse:
    # Redis refused or dropped the connection, or did not answer in time.
    log.error("state store unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = {
        "store": "unavailable",
        "retry_after_s": RETRY_AFTER_S,
        # A write whose answer was lost with the connection may have been made: a
        # retry with the same Idempotency-Key (orders, publishes) is safe either way.
        "message": "the state store does not answer; try again (with the same "
        "Idempotency-Key, an order or a publish is not made twice)",
    }
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse({"detail": detail}, status_code=503, headers=headers)


STORE_DOWN: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


async def _key_file(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeyFileUnavailable)
    # The path and what is wrong with the file go to the operator's log, not the caller.
    log.error("key file %s cannot be used: %s", exc.path, "; ".join(map(str, exc.issues)))
    detail = {"keys": "unavailable", "message": key_file_message(exc)}
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse({"detail": detail}, status_code=503, headers=headers)


def key_file_message(exc: KeyFileUnavailable) -> str:
    """What a caller is told: the fix when there is no key file, else that the server
    log says what is wrong (the file's content may name other tenants)."""
    if exc.missing:
        return "API keys cannot be checked: no key file: create a key with omnistock keys create"
    return "API keys cannot be checked: the key file is not usable (the server log says why)"


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    detail = {
        "key_id": exc.key_id,
        "limit": exc.limit,
        "retry_after_s": exc.retry_after_s,
        "message": str(exc),
    }
    headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse({"detail": detail}, status_code=429, headers=headers)


# --- request bodies --------------------------------------------------------------------

# Python refuses to turn more digits than this into an int (CVE-2020-10735): such an
# integer reads as infinity, as JSON's 1e400 does, so the field's own check names it.
MAX_INT_DIGITS = 4300


def _json_int(text: str) -> int | float:
    if len(text) - text.startswith("-") <= MAX_INT_DIGITS:
        return int(text)
    return -math.inf if text.startswith("-") else math.inf


def _unreadable(message: str, path: str = "body") -> HTTPException:
    # An HTTPException, since FastAPI turns any other error of reading a body into a
    # bare 400; its detail has the shape of every 422 (api/errors.py _issues).
    return HTTPException(422, detail=_issues([(path, message)]))


def read_json(raw: bytes) -> Any:
    """A request body as JSON, or a 422 naming where it cannot be read: text that is not
    UTF-8 (the string holding it, when the bytes are inside one), nesting too deep to
    read. Malformed JSON raises json.JSONDecodeError, which FastAPI reports itself."""
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        text = raw.decode(encoding, errors="surrogateescape")
        byte = raw[error.start]
        found = f"not {encoding.upper()} text: byte 0x{byte:02x} at offset {error.start}"
        try:
            document = json.loads(text, parse_int=_json_int)
        except (json.JSONDecodeError, RecursionError):
            raise _unreadable(found) from None
        raise _unreadable(found, _bad_text(document, "body") or "body") from None
    try:
        return json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise _unreadable("nested too deep to read (about 1,000 levels at most)") from None


def _bad_text(item: Any, path: str) -> str | None:
    """The path of the first string (or key) holding bytes that were not valid text."""

    def bad(text: str) -> bool:
        return any("\udc80" <= c <= "\udcff" for c in text)

    if isinstance(item, str):
        return path if bad(item) else None
    if isinstance(item, list):
        for i, value in enumerate(item):
            found = _bad_text(value, f"{path}[{i}]")
            if found:
                return found
    if isinstance(item, dict):
        for key, value in item.items():
            if bad(key):
                return f"{path}.{key.encode('utf-8', 'replace').decode()}"
            found = _bad_text(value, f"{path}.{key}")
            if found:
                return found
    return None


class _JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """The API's routes: bodies read by `read_json` (every router uses this class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await handle(_JsonRequest(request.scope, request.receive))

        return handler


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


async def _record_missing(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DbNotFound)
    detail = {"what": exc.what, "key": exc.key, "message": str(exc)}
    return JSONResponse({"detail": detail}, status_code=404)


async def _lost_race(request: Request, exc: Exception) -> JSONResponse:
    # Another write of the same record won; nothing of this one was kept.
    detail = {"record": "changed meanwhile", "message": str(exc)}
    return JSONResponse({"detail": detail}, status_code=409)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # The database does not answer, or needs a migration: the URL and the reason go to
    # the operator's log, not to the caller.
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = {
        "database": "unavailable",
        "retry_after_s": RETRY_AFTER_S,
        "message": "the database does not answer or is not migrated; nothing was changed",
    }
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse({"detail": detail}, status_code=503, headers=headers)


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


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to an HTTP error, but a 405 names every method the path takes:
    Starlette's names only those of the first route whose path matched (OPTIONS /v1/mode
    said `Allow: GET` though PUT /v1/mode exists)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        # Ask the router which methods it would take on this path (routes may be nested
        # in included routers, so each method is tried rather than each route read).
        allowed = [
            method
            for method in HTTP_METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] is Match.FULL
                for route in request.app.router.routes
            )
        ]
        headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        exc = StarletteHTTPException(405, exc.detail, headers)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
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
    app.add_exception_handler(DbNotFound, _record_missing)
    app.add_exception_handler(DbConflict, _lost_race)
    app.add_exception_handler(DatabaseError, _database_down)
    app.add_exception_handler(JobAlreadyEnded, _job_ended)
    app.add_exception_handler(KeyFileUnavailable, _key_file)
    app.add_exception_handler(RateLimited, _rate_limited)
    for error in STORE_DOWN:
        app.add_exception_handler(error, _store_down)
