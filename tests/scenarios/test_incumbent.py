"""The incumbents' policy: each shop alone, floor(pool x share%) - safety, from the pool
omnistock derives (its composition and warehouse rules, not a copy of them)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.demo import build_demo
from engine.planning.planner import make_plan
from engine.scenarios.incumbent import incumbent_listing
from engine.scenarios.spec import IncumbentPolicy
from rules.load import parse_ruleset
from tests.helpers import snapshot
from tests.scenarios.helpers import incumbent_rows

SHOPS = (("A", 1), ("B", 2), ("C", 3))


def rows(rules: list[dict[str, Any]], policy: IncumbentPolicy, **kwargs: Any) -> dict[str, int]:
    found = incumbent_rows(snapshot(**kwargs), parse_ruleset({"rules": rules}), policy)
    return {shop: units for (sku, shop), units in found.items() if sku == "S"}


def test_each_shop_alone_floor_of_share_minus_safety() -> None:
    policy = IncumbentPolicy(shares={"A": 30, "B": 50}, default_share_pct=20, safety_stock=3)
    assert rows([], policy, pools={"S": 100}, shops=SHOPS) == {"A": 27, "B": 47, "C": 17}
    # floor, never rounding up: 10 x 33.3% = 3.33 -> 3; a safety above the share -> 0
    thirds = IncumbentPolicy(shares={"A": 33.3, "B": 33.3, "C": 33.4})
    assert rows([], thirds, pools={"S": 10}, shops=SHOPS) == {"A": 3, "B": 3, "C": 3}
    assert rows([], IncumbentPolicy(safety_stock=50), pools={"S": 40}, shops=SHOPS) == {
        "A": 0,
        "B": 0,
        "C": 0,
    }


def test_shares_over_100_percent_list_more_than_the_pool() -> None:
    policy = IncumbentPolicy(shares={"A": 70, "B": 70})
    listed = rows([], policy, pools={"S": 100}, shops=(("A", 1), ("B", 2)))
    assert listed == {"A": 70, "B": 70}
    assert sum(listed.values()) == 140


def test_pool_follows_the_composition_and_warehouse_rules() -> None:
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 50, "reserved": 5, "locked": 3},
        {"sku": "S", "warehouse": "W1b", "on_hand": 20, "in_transit": 9},
        {"sku": "S", "warehouse": "W2", "on_hand": 40, "defective": 40},
        {"sku": "S", "warehouse": "W3", "on_hand": 30},
    ]
    kwargs: dict[str, Any] = {
        "pools": {"S": 0},
        "shops": SHOPS,
        "warehouses": (("W1", "sellable"), ("W1b", "sellable"), ("W2", "defect"), ("W3", "qc")),
        "stock": stock,
    }
    full = IncumbentPolicy()
    # on_hand - reserved - locked in W1, W1b as is; the defect and qc warehouses never supply
    assert rows([], full, **kwargs) == {"A": 62, "B": 62, "C": 62}
    counted = [{"type": "stock_composition", "in_transit": True}]
    assert rows(counted, full, **kwargs) == {"A": 71, "B": 71, "C": 71}
    excluded = [{"type": "exclude_warehouse", "warehouses": ["W1b"]}]
    assert rows(excluded, full, **kwargs) == {"A": 42, "B": 42, "C": 42}
    presale = [{"type": "virtual_stock", "quantity": 8}]
    assert rows(presale, full, **kwargs) == {"A": 70, "B": 70, "C": 70}


def test_a_shop_counts_only_the_warehouses_that_supply_it() -> None:
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 30},
        {"sku": "S", "warehouse": "W2", "on_hand": 12},
    ]
    listed = rows(
        [],
        IncumbentPolicy(),
        pools={"S": 0},
        shops=SHOPS,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        stock=stock,
        restricted={"C": ["W2"]},
    )
    assert listed == {"A": 42, "B": 42, "C": 12}
    scoped = [{"type": "warehouse_scope", "shops": ["B"], "warehouses": ["W1"]}]
    listed = rows(
        scoped,
        IncumbentPolicy(),
        pools={"S": 0},
        shops=SHOPS,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        stock=stock,
    )
    assert listed == {"A": 42, "B": 30, "C": 42}


def test_a_bundle_lists_what_its_components_could_make_on_top_of_its_own_stock() -> None:
    snap = snapshot(
        pools={"X": 10, "Y": 7, "K": 2},
        shops=(("A", 1), ("B", 2)),
        components={"K": [{"sku": "X", "qty": 1}, {"sku": "Y", "qty": 2}]},
    )
    found = incumbent_rows(snap, parse_ruleset({"rules": []}), IncumbentPolicy())
    # own 2 + min(10 // 1, 7 // 2) = 5; the components list all their units as well
    assert found[("K", "A")] == found[("K", "B")] == 5
    assert found[("X", "A")] == 10 and found[("Y", "B")] == 7
    # a `bundle` rule overrides the snapshot's components
    rule = {"type": "bundle", "sku": "K", "components": [{"sku": "X", "qty": 4}]}
    found = incumbent_rows(snap, parse_ruleset({"rules": [rule]}), IncumbentPolicy())
    assert found[("K", "A")] == 2 + 10 // 4


def test_closed_shops_list_nothing() -> None:
    snap = snapshot(pools={"S": 30}, shops=SHOPS)
    found = incumbent_rows(
        snap, parse_ruleset({"rules": []}), IncumbentPolicy(), closed_shops=frozenset({"B"})
    )
    assert found == {("S", "A"): 30, ("S", "B"): 0, ("S", "C"): 30}


@pytest.mark.parametrize("seed", [3, 21])
def test_pool_is_the_plans_own_derivation_on_demo_data(seed: int) -> None:
    """For every shop that all warehouses supply, the incumbent's pool of a plain SKU is
    the plan's skus[].sellable + virtual: the same derivation, not a second one."""
    data, rules_data = build_demo(seed, skus=150)
    snap, ruleset = parse_snapshot(data), parse_ruleset(rules_data)
    plan = make_plan(snap, ruleset)
    derived = {p.sku: p.sellable + p.virtual for p in plan.skus}
    index = SnapshotIndex.build(snap)
    found = incumbent_listing(index, ruleset, IncumbentPolicy())
    restricted = {s.id for s in snap.shops if s.warehouses is not None}
    bundles = {s.id for s in snap.skus if s.is_bundle}
    checked = 0
    for c in range(index.n_cells):
        sku, shop = index.sku_ids[index.cell_sku[c]], index.shop_ids[index.cell_shop[c]]
        if shop in restricted or sku in bundles:
            continue
        assert found.pool[c] == derived[sku], (sku, shop)
        assert found.listing[c] == derived[sku]  # 100% share, no safety stock
        checked += 1
    assert checked > 400
    # the composition matters: some SKUs have stock the pool leaves out
    on_hand = {s.id: 0 for s in snap.skus}
    for row in snap.stock:
        on_hand[row.sku] += row.on_hand
    assert any(on_hand[sku] > units for sku, units in derived.items())
