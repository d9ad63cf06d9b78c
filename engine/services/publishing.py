"""Publishing a plan's quantities for orders, and what is published now. In peak mode
(Double-11) a publish is guarded: the plan is checked against the stock before (a high
warning refuses it) and the published quantities after."""

from __future__ import annotations

import hashlib

from engine.checks.findings import at_least
from engine.checks.publish import PublishRefused, check_after_publish, precheck_publish
from engine.core.io import canonical_json, parse_plan
from engine.core.modes import PEAK
from engine.core.plan import Plan
from engine.core.snapshot import ListedRow, Snapshot
from engine.services.brand_cut import BrandCut, brand_map
from engine.services.mode_switch import mode_in_force
from engine.services.plans import stored_plan
from engine.services.snapshots import stored_snapshot
from engine.store.base import JsonObject, SharedPart, Store
from engine.store.errors import NotFound


def publish(store: Store, plan_id: str, idempotency_key: str, body: JsonObject) -> JsonObject:
    """Publish a plan computed on the current stock version (StaleVersion otherwise);
    the same key with the same plan and body returns the first result."""
    request = {"plan_id": plan_id, "body": body}
    body_hash = hashlib.sha256(canonical_json(request).encode()).hexdigest()
    try:
        document, meta = stored_plan(store, plan_id)
        version = int(meta["stock_version"])
    except NotFound:
        document, version = {}, -1  # the store answers a repeated key, else NotFound
    guard = _peak_guard(store, document, version)
    result = store.publish(plan_id, idempotency_key, body_hash, version).to_json()
    if guard is not None:
        result["peak_checks"] = guard.after(store)
    return result


def published(store: Store, brand: str | None) -> list[JsonObject]:
    """The published quantities left per shop and SKU (`listings`), cut to `brand`'s
    shops and SKUs unless `brand` is None."""
    rows = listings(store.published(), store.published_shared())
    if brand is None:
        return rows
    try:
        _, snapshot = stored_snapshot(store)
    except NotFound:
        return []
    cut = BrandCut.of(brand_map(snapshot), brand)
    return [row for row in rows if cut.shows(row)]


def listings(cells: dict[tuple[str, str], int], shared: dict[str, SharedPart]) -> list[JsonObject]:
    """Per (shop, SKU) published: the shop's own units left, and the SKU's shared part
    left where the shop lists it (the same units on each such shop)."""
    rows: dict[tuple[str, str], JsonObject] = {
        cell: {"shop": cell[0], "sku": cell[1], "quantity": quantity, "shared": 0}
        for cell, quantity in cells.items()
    }
    for sku, part in shared.items():
        for shop in part.shops:
            row = rows.setdefault((shop, sku), {"shop": shop, "sku": sku, "quantity": 0})
            row["shared"] = part.units
    return [rows[cell] for cell in sorted(rows)]


class _PeakGuard:
    """Double-11: the plan is checked against the stock again before publishing (a
    high warning refuses the publish), and the published quantities after it."""

    def __init__(self, plan: Plan, snapshot: Snapshot) -> None:
        self.plan = plan
        self.snapshot = snapshot
        self.before = precheck_publish(plan, snapshot)
        blocking = at_least(self.before, "high")
        if blocking:
            raise PublishRefused(plan.plan_id, blocking)

    def after(self, store: Store) -> JsonObject:
        # What each shop now shows: its own units plus the shared part it lists.
        listed = [
            ListedRow(sku=row["sku"], shop=row["shop"], quantity=row["quantity"] + row["shared"])
            for row in listings(store.published(), store.published_shared())
        ]
        read_back = self.snapshot.model_copy(update={"listed": listed})
        warnings = check_after_publish(self.plan, read_back)
        return {
            "before": [w.model_dump() for w in self.before],
            "after": [w.model_dump() for w in warnings],
        }


def _peak_guard(store: Store, document: JsonObject, version: int) -> _PeakGuard | None:
    """The guard when peak mode is on (the tenant's mode or the plan's) and the plan was
    made on the current stock; otherwise the store decides (replay or StaleVersion)."""
    if not document:
        return None
    plan = parse_plan(document, "stored plan")
    if mode_in_force(store) != PEAK and plan.mode != PEAK:
        return None
    current, snapshot = stored_snapshot(store)
    return _PeakGuard(plan, snapshot) if current == version else None
