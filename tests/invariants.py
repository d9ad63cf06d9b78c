"""The invariants every plan keeps, written once and called from every test that
makes a plan (docs/design.md lists them)."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations
from typing import Any

from engine.core.plan import Plan
from engine.core.snapshot import Snapshot

DEFAULT_MINUS = ("locked", "reserved", "defective")


def independent_sellable(snapshot: Snapshot) -> dict[str, int]:
    """Per SKU, sellable units recomputed from the snapshot alone (default composition,
    sellable warehouses only), not from anything the planner computed."""
    kind = {w.id: w.kind for w in snapshot.warehouses}
    out: dict[str, int] = defaultdict(int)
    for row in snapshot.stock:
        if kind[row.warehouse] == "sellable":
            free = row.on_hand - sum(getattr(row, b) for b in DEFAULT_MINUS)
            out[row.sku] += max(free, 0)
    return out


def assert_plan_invariants(
    snapshot: Snapshot, rules: list[dict[str, Any]], plan: Plan, *, peak: bool = False
) -> None:
    """Whole non-negative numbers; per SKU, exclusive plus shared never above the pool,
    and every unit accounted for; every hard rule of the ruleset holds."""
    sellable = independent_sellable(snapshot)
    listed: dict[str, int] = defaultdict(int)
    shared: dict[str, int] = {}
    by_cell = {(a.sku, a.shop): a for a in plan.allocations}
    for a in plan.allocations:
        assert isinstance(a.quantity, int) and a.quantity >= 0, a
        assert isinstance(a.shared, int) and a.shared >= 0, a
        listed[a.sku] += a.quantity
        if a.shared:
            assert shared.setdefault(a.sku, a.shared) == a.shared, "one shared part per SKU"
    unallocated: dict[str, int] = defaultdict(int)
    for u in plan.unallocated:
        assert u.quantity > 0 and u.reason, u
        unallocated[u.sku] += u.quantity
    virtual = {p.sku: p.virtual for p in plan.skus}
    for sku in {s.id for s in snapshot.skus}:
        used = listed[sku] + shared.get(sku, 0)
        assert used <= sellable[sku] + virtual.get(sku, 0), f"SKU {sku} oversold"
        assert used + unallocated[sku] == sellable[sku] + virtual.get(sku, 0), (
            f"SKU {sku} units lost"
        )
    _assert_hard_rules(rules, plan, by_cell, listed, shared, sellable, peak)
    _assert_supply_reaches(snapshot, plan)


def _assert_supply_reaches(snapshot: Snapshot, plan: Plan) -> None:
    """Every set of shops lists no more of a SKU than the warehouses they may draw
    from hold (Hall's condition; a shared part counts with each set of its shops)."""
    kind = {w.id: w.kind for w in snapshot.warehouses}
    sellable = [w for w, k in kind.items() if k == "sellable"]
    reach = {
        s.id: set(s.warehouses if s.warehouses is not None else sellable) for s in snapshot.shops
    }
    stock: dict[tuple[str, str], int] = defaultdict(int)
    for row in snapshot.stock:
        if kind[row.warehouse] == "sellable":
            free = row.on_hand - sum(getattr(row, b) for b in DEFAULT_MINUS)
            stock[(row.sku, row.warehouse)] += max(free, 0)
    shops = [s.id for s in snapshot.shops]
    virtual = {p.sku: p.virtual for p in plan.skus}  # presale / dropship units
    for sku in {s.id for s in snapshot.skus}:
        cells = {a.shop: a for a in plan.allocations if a.sku == sku}
        for size in range(1, len(shops) + 1):
            for group in combinations(shops, size):
                used = sum(cells[h].quantity for h in group if h in cells)
                used += max((cells[h].shared for h in group if h in cells), default=0)
                held = set().union(*(reach[h] for h in group))
                can = sum(stock[(sku, w)] for w in held) + virtual.get(sku, 0)
                assert used <= can, f"SKU {sku}: shops {group} list {used}, reach {can}"


def _assert_hard_rules(
    rules: list[dict[str, Any]],
    plan: Plan,
    by_cell: dict[tuple[str, str], Any],
    listed: dict[str, int],
    shared: dict[str, int],
    sellable: dict[str, int],
    peak: bool,
) -> None:
    skus = {a.sku for a in plan.allocations}
    for rule in rules:
        kind = rule["type"]
        if kind == "fixed" and not rule.get("best_effort"):
            for shop, units in rule["quantities"].items():
                for sku in skus:
                    assert by_cell[(sku, shop)].quantity == units, (rule, sku)
        elif kind == "max_cap":
            for (sku, shop), a in by_cell.items():
                cap = rule["quantities"].get(shop) if "quantities" in rule else rule["quantity"]
                if cap is not None:
                    assert a.quantity <= cap, (rule, sku, shop)
        elif kind == "shop_capacity":
            caps = rule.get("quantities") or {h: rule["quantity"] for _, h in by_cell}
            for shop, cap in caps.items():
                load = sum(a.quantity + a.shared for (s, h), a in by_cell.items() if h == shop)
                assert load <= cap, (rule, shop, load)
        elif kind == "zero_below":
            for sku in skus:
                if sellable[sku] <= rule["threshold"]:
                    assert listed[sku] + shared.get(sku, 0) == 0, (rule, sku)
        elif kind == "safety_stock" and not peak:
            for sku in skus:
                room = max(sellable[sku] - rule["quantity"], 0)
                assert listed[sku] + shared.get(sku, 0) <= room, (rule, sku)


def plan_bytes(plan: Plan) -> str:
    """The plan's JSON without the timing object: what determinism compares."""
    data = plan.model_dump(mode="json")
    data.pop("timing")
    return json.dumps(data, sort_keys=True)
