"""Typed errors of the state store: each names the record, ids, versions or quantities at
fault, so the API can map it to one HTTP status (409 for the first three, 404 for
NotFound) with a body that says what and where."""

from __future__ import annotations

from engine.core.errors import OmnistockError


class StoreError(OmnistockError):
    """Base of every error the state store raises on purpose."""


class StaleVersion(StoreError):
    """A write based on a stock version that is no longer the current one."""

    def __init__(self, what: str, given: int, current: int) -> None:
        self.what = what
        self.given = given
        self.current = current
        super().__init__(
            f"{what}: stock version {given} is not the current one; current version is {current}"
        )


class IdempotencyConflict(StoreError):
    """An idempotency key reused with a different request body: a publish's (`plan_id`
    set) or, with `what` saying so, an order's."""

    def __init__(
        self,
        key: str,
        plan_id: str | None,
        body_hash: str,
        stored_hash: str,
        what: str | None = None,
    ) -> None:
        self.key = key
        self.plan_id = plan_id
        self.body_hash = body_hash
        self.stored_hash = stored_hash
        what = what or f"publish of plan {plan_id!r}"
        super().__init__(
            f"idempotency key {key!r} ({what}) was first used with body "
            f"{stored_hash}, now with {body_hash}"
        )


class InsufficientStock(StoreError):
    """An order for more units than the shop has published for the SKU."""

    def __init__(self, shop: str, sku: str, requested: int, available: int) -> None:
        self.shop = shop
        self.sku = sku
        self.requested = requested
        self.available = available
        super().__init__(
            f"shop {shop!r}, SKU {sku!r}: {requested} unit(s) ordered, {available} available"
        )


class NotFound(StoreError):
    """A record that does not exist: a plan id, a ruleset version, no snapshot yet."""

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} not found")
