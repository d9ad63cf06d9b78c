"""Orders against the published quantities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import StoreDep, Writer
from api.schemas.orders import OrderOut, OrderRequest
from engine.services import orders

router = APIRouter(tags=["planning"])


@router.post("/orders", operation_id="create-order", response_model=OrderOut)
def create_order(body: OrderRequest, writer: Writer, store: StoreDep) -> dict[str, Any]:
    """Consume published stock: the shop's own units first, then the SKU's shared part
    where the shop lists it; 409 with the available quantity when short."""
    return orders.order(store, body.shop, body.sku, body.quantity)
