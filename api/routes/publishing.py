"""Publishing a plan's quantities for orders, and the quantities published now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from api.deps import Reader, StoreDep, Writer
from api.errors import JsonRoute
from api.schemas.errors import (
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
        KEYED, WITH_BODY, NOT_FOUND, conflicts(StaleStock, PublishRefused, KeyReused)
    ),
)
def publish_plan(
    plan_id: str,
    writer: Writer,
    store: StoreDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
    body: PublishRequest | None = None,
) -> dict[str, Any]:
    """Publish the plan's quantities for orders; refused (409) if the stock changed since
    it was computed, or in peak mode if the stock check finds a high warning. Repeating a
    request with the same Idempotency-Key is safe."""
    request = (body or PublishRequest()).model_dump()
    return publishing.publish(store, plan_id, idempotency_key, request)


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
