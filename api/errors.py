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

from engine.access.errors import Forbidden, Unauthenticated, UnknownKey
from engine.errors import ConflictError, InputError, SolverError
from engine.io import dotted_path


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
    return JSONResponse(body, status_code=503)


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InputError, _invalid_document)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(SolverError, _solver)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(UnknownKey, _unknown_key)
