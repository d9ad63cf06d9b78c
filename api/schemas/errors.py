"""The error bodies as served (api/errors.py makes them), as models for the OpenAPI
document, and the `responses=` of the routes built from them.

Every body is `{"detail": ...}`; what `detail` holds depends on the status and the error:
a list of `{path, message}` for invalid input (422), an object naming the key, record,
version or quantity at fault otherwise. Starlette's own answer to a path no route has
(a path parameter holding a `/`) carries a plain string.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel

from engine.checks.findings import StockWarning

# --- bodies ------------------------------------------------------------------------------


class Message(BaseModel):
    """Starlette's own answer: a path no route has (404)."""

    detail: str


class InputIssue(BaseModel):
    path: str  # e.g. body.skus[3].price, query.sku, header.idempotency-key
    message: str


class InvalidInput(BaseModel):
    """422: every issue of the request at once, each with its path."""

    detail: list[InputIssue]


class SolverRefusalDetail(BaseModel):
    solver: str
    status: str  # unsupported | unknown
    message: str
    field: str  # "solver": the request's forced solver


class SolverRefused(BaseModel):
    """422: the request forced a solver that does not exist or cannot take its rules."""

    detail: SolverRefusalDetail


class SolverFailureDetail(BaseModel):
    solver: str
    status: str  # e.g. time_limit, failed
    message: str


class SolverFailed(BaseModel):
    """503: the solver could not finish (time limit, or no backend fits)."""

    detail: SolverFailureDetail


class KeyMissingDetail(BaseModel):
    header: str  # Authorization
    message: str


class KeyMissing(BaseModel):
    """401: no key, or one that is malformed, unknown, wrong or revoked."""

    detail: KeyMissingDetail


class KeyForbiddenDetail(BaseModel):
    key_id: str
    role: str
    action: str
    tenant: str
    brand: str | None
    message: str


class KeyForbidden(BaseModel):
    """403: a valid key whose role, tenant or brand does not allow the request."""

    detail: KeyForbiddenDetail


class RecordMissingDetail(BaseModel):
    what: str  # plan, snapshot, ruleset version, job, published SKU, ...
    key: str
    message: str


class RecordMissing(BaseModel):
    """404: a record of the tenant that does not exist (or not yet: no snapshot)."""

    detail: RecordMissingDetail


class RulesConflictItem(BaseModel):
    rules: list[str]
    skus: list[str]
    shops: list[str]
    detail: str


class RulesConflict(BaseModel):
    """409: hard rules that cannot all hold; there is no plan."""

    detail: list[RulesConflictItem]


class StaleStockDetail(BaseModel):
    field: str  # stock_version
    what: str
    given: int
    current_version: int
    message: str


class StaleStock(BaseModel):
    """409: the request was based on a stock version that is no longer current."""

    detail: StaleStockDetail


class PublishRefusedDetail(BaseModel):
    plan_id: str
    message: str
    warnings: list[StockWarning]


class PublishRefused(BaseModel):
    """409: peak mode, and the stock check before the publish found a high warning."""

    detail: PublishRefusedDetail


class KeyReusedDetail(BaseModel):
    header: str  # Idempotency-Key
    key: str
    plan_id: str | None = None  # a publish's key; an order's names no plan
    message: str


class KeyReused(BaseModel):
    """409: an Idempotency-Key first used with another request body."""

    detail: KeyReusedDetail


class StockShortDetail(BaseModel):
    shop: str
    sku: str
    requested: int
    available: int
    message: str


class StockShort(BaseModel):
    """409: an order for more units than the shop has published."""

    detail: StockShortDetail


class JobEndedDetail(BaseModel):
    job: str
    status: str
    message: str


class JobEnded(BaseModel):
    """409: a cancel of a job that has already ended."""

    detail: JobEndedDetail


class RateLimitedDetail(BaseModel):
    key_id: str
    limit: str
    retry_after_s: int
    message: str


class RateLimited(BaseModel):
    """429: the key has sent too many requests of late (see the Retry-After header)."""

    detail: RateLimitedDetail


class KeysUnavailableDetail(BaseModel):
    keys: Literal["unavailable"]
    message: str


class KeysUnavailable(BaseModel):
    """503: the key file is missing, unreadable or not a key file (the server log says
    which and why), so no key can be checked."""

    detail: KeysUnavailableDetail


class StoreUnavailableDetail(BaseModel):
    store: Literal["unavailable"]
    retry_after_s: int
    message: str


class StoreUnavailable(BaseModel):
    """503: the state store (Redis) does not answer; nothing was changed."""

    detail: StoreUnavailableDetail


class DatabaseUnavailableDetail(BaseModel):
    database: Literal["unavailable"]
    retry_after_s: int
    message: str


class DatabaseUnavailable(BaseModel):
    """503: the relational database does not answer or is not migrated; nothing was
    changed (the server log says which)."""

    detail: DatabaseUnavailableDetail


class ChangedMeanwhileDetail(BaseModel):
    record: Literal["changed meanwhile"]
    message: str


class ChangedMeanwhile(BaseModel):
    """409: another write of the same record won the race; nothing of this one was kept
    and the same request again applies it on top."""

    detail: ChangedMeanwhileDetail


class BodyTooLargeDetail(BaseModel):
    body: str  # "N bytes", or "more than N bytes" for a streamed body
    limit_bytes: int
    message: str


class BodyTooLarge(BaseModel):
    """413: a request body above OMNISTOCK_MAX_BODY_BYTES."""

    detail: BodyTooLargeDetail


# --- responses= of the routes ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    """One way a route can answer: a status, what it means, its possible bodies."""

    status: int
    description: str
    models: tuple[type[BaseModel], ...]
    headers: dict[str, Any] = dataclasses.field(default_factory=dict)
    links: dict[str, Any] = dataclasses.field(default_factory=dict)  # OpenAPI links


def responses(*answers: Answer | tuple[Answer, ...]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: per status, the union of its bodies (anyOf in the
    document), its descriptions, headers and links."""
    flat = [a for item in answers for a in (item if isinstance(item, tuple) else (item,))]
    merged: dict[int | str, dict[str, Any]] = {}
    for status in dict.fromkeys(a.status for a in flat):
        same = [a for a in flat if a.status == status]
        models = list(dict.fromkeys(m for a in same for m in a.models))
        union: Any = models[0]
        for model in models[1:]:
            union = union | model
        merged[status] = {
            "model": union,
            "description": "; or ".join(dict.fromkeys(a.description for a in same)),
        }
        for part in ("headers", "links"):
            found = {name: v for a in same for name, v in getattr(a, part).items()}
            if found:
                merged[status][part] = found
    return merged


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def location(what: str) -> dict[str, Any]:
    """The Location header of a 202: where to follow what it started."""
    return {"Location": _header(f"the {what}'s URL")}


def links(field: str, *operations: tuple[str, str]) -> dict[str, Any]:
    """OpenAPI links: the answer's `field` is the `parameter` of each (operation id,
    parameter) named, so clients and stateful fuzzers follow ids where they lead."""
    return {
        operation: {"operationId": operation, "parameters": {parameter: f"$response.body#/{field}"}}
        for operation, parameter in operations
    }


RETRY_AFTER = {"Retry-After": _header("seconds to wait before trying again")}

# Every route behind a key: the key is checked (and counted) before anything else.
KEY = (
    Answer(
        401,
        "no valid API key",
        (KeyMissing,),
        {"WWW-Authenticate": _header("Bearer")},
    ),
    Answer(429, "the key is over its rate limit", (RateLimited,), RETRY_AFTER),
    Answer(503, "the key file cannot be used", (KeysUnavailable,), RETRY_AFTER),
    Answer(503, "the state store does not answer", (StoreUnavailable,), RETRY_AFTER),
)
FORBIDDEN = Answer(403, "the key's role, tenant or brand does not allow it", (KeyForbidden,))
KEYED = (*KEY, FORBIDDEN)
NOT_FOUND = Answer(404, "no such record, or no route for the path", (RecordMissing, Message))
INVALID = Answer(422, "invalid input: every issue with its path", (InvalidInput,))
# A route with a JSON body: a body that is not readable JSON is a 422 too (api/errors.py
# read_json), never a 400.
WITH_BODY = (
    Answer(413, "the body is larger than the server takes", (BodyTooLarge,)),
    INVALID,
)
# A route that solves: the solver may not finish (503); one whose request can force a
# solver also answers SOLVER_REFUSED.
SOLVER_FAILED = Answer(503, "the solver could not finish", (SolverFailed,))
SOLVER_REFUSED = Answer(422, "the forced solver cannot run", (SolverRefused,))


# A route on the relational database (catalog and after).
DATABASE = Answer(503, "the database does not answer", (DatabaseUnavailable,), RETRY_AFTER)


def conflicts(*models: type[BaseModel]) -> Answer:
    """409 with each body the route can answer with."""
    return Answer(409, "a conflict with the stored state", models)
