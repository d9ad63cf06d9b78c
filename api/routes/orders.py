"""Orders against the published quantities."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from api.deps import StoreDep, Writer
from api.errors import JsonRoute
from api.observe import audit_target
from api.schemas.errors import (
    KEYED,
    NOT_FOUND,
    WITH_BODY,
    KeyReused,
    StockShort,
    conflicts,
    responses,
)
from api.schemas.orders import OrderOut, OrderRequest
from engine.services import orders

router = APIRouter(route_class=JsonRoute, tags=["planning"])


@router.post(
    "/orders",
    operation_id="create-order",
    response_model=OrderOut,
    responses=responses(KEYED, WITH_BODY, NOT_FOUND, conflicts(StockShort, KeyReused)),
)
def create_order(
    request: Request,
    body: OrderRequest,
    writer: Writer,
    store: StoreDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="send one to retry an order safely: the same key and body answer "
            "the first order again (nothing taken twice); another body is a 409",
        ),
    ] = None,
) -> dict[str, Any]:
    """Consume published stock: the shop's own units first, then the SKU's shared part
    where the shop lists it; 409 with the available quantity when short."""
    audit_target(request, shop=body.shop, sku=body.sku)
    return orders.order(store, body.shop, body.sku, body.quantity, idempotency_key)
