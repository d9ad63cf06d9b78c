"""Builders shared by the tests: small snapshots in the interchange format."""

from __future__ import annotations

from typing import Any

from engine.core.io import parse_snapshot
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.planning.planner import make_plan
from rules.load import parse_ruleset

AS_OF = "2026-11-11T00:00:00+08:00"


def snapshot_data(
    pools: dict[str, int] | None = None,
    shops: tuple[tuple[str, int], ...] = (("A", 1), ("B", 2), ("C", 3)),
    velocity: dict[tuple[str, str], float] | None = None,
    warehouses: tuple[tuple[str, str], ...] = (("W1", "sellable"),),
    stock: list[dict[str, Any]] | None = None,
    listed: dict[tuple[str, str], int] | None = None,
    components: dict[str, list[dict[str, Any]]] | None = None,
    restricted: dict[str, list[str]] | None = None,
    mode: str = "normal",
) -> dict[str, Any]:
    """One brand, the given shops and SKUs; `pools` gives each SKU's on_hand in W1."""
    pools = pools if pools is not None else {"S": 10}
    rows = (
        stock
        if stock is not None
        else [
            {"sku": sku, "warehouse": warehouses[0][0], "on_hand": units}
            for sku, units in pools.items()
        ]
    )
    return {
        "tenant": "test",
        "as_of": AS_OF,
        "mode": mode,
        "brands": [{"id": "b", "name": "Brand"}],
        "warehouses": [{"id": w, "kind": kind} for w, kind in warehouses],
        "shops": [
            {"id": s, "brand": "b", "platform": "tmall", "priority": p}
            | ({"warehouses": restricted[s]} if restricted and s in restricted else {})
            for s, p in shops
        ],
        "skus": [
            {
                "id": sku,
                "brand": "b",
                "price": "10.00",
                "components": (components or {}).get(sku, []),
            }
            for sku in pools
        ],
        "stock": rows,
        "velocity": [
            {"sku": sku, "shop": shop, "units_per_day": v}
            for (sku, shop), v in (velocity or {}).items()
        ],
        "listed": [
            {"sku": sku, "shop": shop, "quantity": q} for (sku, shop), q in (listed or {}).items()
        ],
    }


def snapshot(**kwargs: Any) -> Snapshot:
    return parse_snapshot(snapshot_data(**kwargs))


def plan(snap: Snapshot, rules: list[dict[str, Any]], **kwargs: Any) -> Plan:
    return make_plan(snap, parse_ruleset({"rules": rules}), **kwargs)


def quantities(p: Plan, sku: str = "S") -> dict[str, int]:
    return {a.shop: a.quantity for a in p.allocations if a.sku == sku}
