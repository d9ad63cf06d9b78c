"""Orders: selling published units, the shop's own first, then the SKU's shared part.
An order sent with an idempotency key is taken once, however often it is sent."""

from __future__ import annotations

import hashlib

from engine.core.io import canonical_json
from engine.store.base import JsonObject, Store


def order(
    store: Store, shop: str, sku: str, quantity: int, idempotency_key: str | None = None
) -> JsonObject:
    """Take `quantity` units for an order on `shop`: what was taken and what is left
    (InsufficientStock, nothing taken, when short). With `idempotency_key`, a repeat of
    the same order answers as the first did; another order under it IdempotencyConflict."""
    request = {"shop": shop, "sku": sku, "quantity": quantity}
    body_hash = hashlib.sha256(canonical_json(request).encode()).hexdigest()
    taken = store.consume(shop, sku, quantity, idempotency_key, body_hash)
    return {
        "shop": shop,
        "sku": sku,
        "quantity": quantity,
        "remaining": taken.left,
        "from_shared": taken.from_shared,
    }
