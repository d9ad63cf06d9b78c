"""Orders: selling published units, the shop's own first, then the SKU's shared part."""

from __future__ import annotations

from engine.store.base import JsonObject, Store


def order(store: Store, shop: str, sku: str, quantity: int) -> JsonObject:
    """Take `quantity` units for an order on `shop`: what was taken and what is left
    (InsufficientStock, nothing taken, when short)."""
    taken = store.consume(shop, sku, quantity)
    return {
        "shop": shop,
        "sku": sku,
        "quantity": quantity,
        "remaining": taken.left,
        "from_shared": taken.from_shared,
    }
