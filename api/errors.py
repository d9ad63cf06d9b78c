"""One HTTP status per engine error, each body naming the field, rule or SKU at fault:
422 invalid input (the request's own fields or a document inside it), 409 rules that
cannot all hold, 503 a solver that could not finish. Client input never gives a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InputError, _invalid_document)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(SolverError, _solver)
