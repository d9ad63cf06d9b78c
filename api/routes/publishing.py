"""Publishing a plan's quantities for orders, and the quantities published now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from api.deps import JobsDep, Reader, SettingsDep, StoreDep, Writer
from api.errors import JsonRoute
from api.observe import audit_target
from api.routes.catalog import get_catalog
from api.routes.listings import push_stock
from api.schemas.errors import (
    DATABASE,
    KEYED,
    NOT_FOUND,
    WITH_BODY,
    KeyReused,
    PublishRefused,
    StaleStock,
    conflicts,
    responses,
)
from api.schemas.publishing import PublishedCell, PublishOut, PublishRequest
from engine.services import publishing

router = APIRouter(route_class=JsonRoute, tags=["planning"])


@router.post(
    "/plans/{plan_id}/publish",
    operation_id="publish-plan",
    response_model=PublishOut,
    responses=responses(
        KEYED,
        WITH_BODY,
        NOT_FOUND,
        conflicts(StaleStock, PublishRefused, KeyReused),
        DATABASE,
    ),
)
def publish_plan(
    request: Request,
    plan_id: str,
    writer: Writer,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
    body: PublishRequest | None = None,
) -> dict[str, Any]:
    """Publish the plan's quantities for orders; refused (409) if the stock changed since
    it was computed, or in peak mode if the stock check finds a high warning. Repeating a
    request with the same Idempotency-Key is safe.

    With `push`, the plan's stock then goes to the shops: per shop and product, the SKUs
    whose units changed since last sent (a small rise held back as the sync_threshold
    rule says), as a listing job of kind stock on the job queue. The answer's `push`
    names that job (follow it at its `url`), how many updates it sends and the plan
    cells held back by reason; with nothing to send it says so and no job is made. A
    repeated request answers with the push the first one made and makes none. Should
    the push fail (a database that does not answer: 503), the publish stands, and the
    same request again makes the push."""
    asked = body or PublishRequest()
    # `push` is part of what the key stands for only when asked: a publish without it
    # hashes as it always did, and one with it is another request than one without.
    document = asked.model_dump(exclude={"push"})
    if asked.push:
        document["push"] = True
    result = publishing.publish(store, plan_id, idempotency_key, document)
    if asked.push:
        catalog = get_catalog(request)  # opened only when a push needs it
        result["push"] = push_stock(
            catalog, jobs, settings, store, writer.key_id, plan_id, idempotency_key
        )
        if result["push"]["listing_id"] is not None:
            audit_target(request, listing_id=result["push"]["listing_id"])
    return result


@router.get(
    "/published",
    operation_id="get-published",
    response_model=list[PublishedCell],
    responses=responses(KEYED),
)
def get_published(reader: Reader, store: StoreDep) -> list[dict[str, Any]]:
    """The published quantities left per shop and SKU: the shop's own units and the
    shared part it lists (one pool per SKU, sold by whichever shop's order comes first)."""
    return publishing.published(store, reader.brand)
