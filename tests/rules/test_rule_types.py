"""Each rule type of docs/rules.md on a small case whose answer is worked out by hand.
Shops A, B, C have priorities 1, 2, 3; every plan also passes the invariants."""

from __future__ import annotations

from typing import Any

from engine.core.plan import Plan
from rules.catalog import RULE_TYPES
from tests.helpers import plan, quantities, snapshot
from tests.invariants import assert_plan_invariants

IN = {"active_from": "2026-11-10T00:00:00+08:00", "active_to": "2026-11-12T00:00:00+08:00"}
OUT = {"active_from": "2026-12-01T00:00:00+08:00", "active_to": "2026-12-12T00:00:00+08:00"}
COVERED: set[str] = set()


def run(rules: list[dict[str, Any]], check: bool = True, **snap: Any) -> Plan:
    COVERED.update(r["type"] for r in rules)
    s = snapshot(**snap)
    p = plan(s, rules)
    if check:
        assert_plan_invariants(s, rules, p)
    return p


def test_stock_composition() -> None:
    stock = [{"sku": "S", "warehouse": "W1", "on_hand": 20, "reserved": 5, "in_transit": 10}]
    rules: list[dict[str, Any]] = [{"type": "equal_split"}]
    assert quantities(run(rules, stock=stock)) == {"A": 5, "B": 5, "C": 5}
    rules.append({"type": "stock_composition", "reserved": False, "in_transit": True})
    assert quantities(run(rules, check=False, stock=stock)) == {"A": 10, "B": 10, "C": 10}


def test_warehouse_scope_limits_a_shop_to_its_warehouse() -> None:
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10},
        {"sku": "S", "warehouse": "W2", "on_hand": 10},
    ]
    rules = [
        {"type": "warehouse_scope", "shops": ["A"], "warehouses": ["W1"]},
        {"type": "percentage", "shares": {"A": 0.9, "B": 0.1}},
    ]
    p = run(rules, stock=stock, warehouses=(("W1", "sellable"), ("W2", "sellable")))
    assert quantities(p) == {"A": 10, "B": 10, "C": 0}
    assert p.solver_parts[-1].backend == "flow"  # nested supply groups: a flow network


def test_virtual_stock() -> None:
    assert quantities(run([{"type": "virtual_stock", "quantity": 5}, {"type": "equal_split"}])) == {
        "A": 5,
        "B": 5,
        "C": 5,
    }
    p = run([{"type": "virtual_stock", "quantity": 5, "shops": ["A"]}, {"type": "equal_split"}])
    assert quantities(p) == {"A": 9, "B": 3, "C": 3}


def test_bundle_and_components_share_component_stock() -> None:
    components = {"K": [{"sku": "S", "qty": 2}]}
    p = run([{"type": "equal_split"}], pools={"S": 10, "K": 0}, components=components, check=False)
    used_s = sum(quantities(p, "S").values())
    made_k = sum(quantities(p, "K").values())
    assert used_s + 2 * made_k <= 10
    assert made_k > 0 and used_s > 0
    assert p.solver_parts[-1].backend == "bundles"  # one bundle: no integer program
    rules = [
        {"type": "bundle", "sku": "K", "components": [{"sku": "S", "qty": 5}]},
        {"type": "equal_split"},
    ]
    p = run(rules, pools={"S": 10, "K": 0}, check=False)
    assert sum(quantities(p, "S").values()) + 5 * sum(quantities(p, "K").values()) <= 10


def test_safety_stock_per_shop() -> None:
    p = run(
        [
            {"type": "percentage", "shares": {"A": 1.0}},
            {"type": "safety_stock", "quantity": 8, "shop": "A"},
        ]
    )
    assert quantities(p)["A"] == 2


def test_safety_stock_pct_rounds_up() -> None:
    assert quantities(
        run([{"type": "safety_stock_pct", "percent": 15}, {"type": "equal_split"}])
    ) == {"A": 3, "B": 3, "C": 2}


def test_safety_stock_days() -> None:
    velocity = {("S", "A"): 1.0, ("S", "B"): 0.5}
    p = run(
        [{"id": "d", "type": "safety_stock_days", "days": 2}, {"type": "equal_split"}],
        velocity=velocity,
    )
    assert sum(quantities(p).values()) == 7
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(3, "safety_stock_days d")]


def test_exclusive_when_low() -> None:
    rules = [{"type": "exclusive_when_low", "threshold": 5, "shop": "B"}, {"type": "equal_split"}]
    assert quantities(run(rules, pools={"S": 4})) == {"A": 0, "B": 4, "C": 0}
    assert quantities(run(rules, pools={"S": 6})) == {"A": 2, "B": 2, "C": 2}


def test_promotion_hold_only_while_active() -> None:
    hold = {"type": "promotion_hold", "shop": "C", "quantity": 4}
    assert quantities(run([hold | IN, {"type": "equal_split"}])) == {"A": 2, "B": 2, "C": 6}
    assert quantities(run([hold | OUT, {"type": "equal_split"}])) == {"A": 4, "B": 3, "C": 3}


def test_shop_lock_gives_locked_units_to_the_shop() -> None:
    stock = [{"sku": "S", "warehouse": "W1", "on_hand": 10, "locked": 3}]
    p = run([{"type": "shop_lock", "shop": "C"}, {"type": "equal_split"}], stock=stock, check=False)
    assert quantities(p) == {"A": 3, "B": 2, "C": 5}


def test_preorder_cap_lists_beyond_stock_on_one_shop() -> None:
    p = run([{"type": "preorder_cap", "shop": "A", "quantity": 5}, {"type": "equal_split"}])
    assert quantities(p) == {"A": 9, "B": 3, "C": 3}
    capped = run(
        [{"type": "preorder_cap", "shop": "A", "quantity": 5, "total": 3}, {"type": "equal_split"}],
        pools={"S": 10, "T": 10},
        velocity={("S", "A"): 1.0, ("T", "A"): 2.0},
    )
    assert quantities(capped, "T")["A"] == 4 + 3 and quantities(capped, "S")["A"] == 4


def test_percentage_offset_is_the_incumbent_formula() -> None:
    rules = [
        {"type": "percentage_offset", "shares": {"A": 0.5, "B": 0.3}, "offsets": {"A": -5, "B": 2}}
    ]
    p = run(rules, pools={"S": 100})
    assert quantities(p) == {"A": 45, "B": 32, "C": 0}
    assert sum(u.quantity for u in p.unallocated) == 23


def test_tiered_percentage() -> None:
    rules = [
        {
            "type": "tiered_percentage",
            "tiers": [{"threshold": 50, "shares": {"A": 1.0}}, {"shares": {"A": 0.5, "B": 0.5}}],
        }
    ]
    assert quantities(run(rules, pools={"S": 40})) == {"A": 40, "B": 0, "C": 0}
    assert quantities(run(rules, pools={"S": 100})) == {"A": 50, "B": 50, "C": 0}


def test_fixed_best_effort_never_fails() -> None:
    rules = [{"type": "fixed", "quantities": {"A": 80, "B": 40}, "best_effort": True}]
    assert quantities(run(rules, pools={"S": 100}, check=False)) == {"A": 80, "B": 20, "C": 0}


def test_weighted() -> None:
    assert quantities(
        run([{"type": "weighted", "weights": {"A": 3, "B": 1}}], pools={"S": 100})
    ) == {"A": 75, "B": 25, "C": 0}


def test_priority_fill() -> None:
    rules = [{"type": "priority_fill", "quantities": {"A": 30, "B": 50}}]
    assert quantities(run(rules, pools={"S": 100})) == {"A": 30, "B": 50, "C": 20}


def test_shared_pool_is_counted_once() -> None:
    p = run([{"type": "shared_pool", "shops": ["A", "B"]}], pools={"S": 10})
    cells = {a.shop: (a.quantity, a.shared) for a in p.allocations}
    assert cells == {"A": (0, 10), "B": (0, 10), "C": (0, 0)}
    assert p.kpis.units_allocated == 10


def test_min_floor_keeps_a_listing_alive() -> None:
    rules = [{"type": "velocity_proportional"}, {"type": "min_floor", "quantities": {"B": 3}}]
    p = run(rules, velocity={("S", "A"): 10.0})
    assert quantities(p) == {"A": 7, "B": 3, "C": 0}


def test_min_or_delist_frees_units_for_other_shops() -> None:
    p = run([{"type": "equal_split"}, {"type": "min_or_delist", "threshold": 4}])
    assert quantities(p) == {"A": 10, "B": 0, "C": 0}
    assert {a.shop: a.listed for a in p.allocations} == {"A": True, "B": False, "C": False}


def test_pack_size() -> None:
    p = run(
        [{"type": "equal_split"}, {"id": "pk", "type": "pack_size", "quantity": 6}], pools={"S": 20}
    )
    assert all(q % 6 == 0 for q in quantities(p).values())
    assert sum(quantities(p).values()) == 18
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(2, "pack_size pk")]


def test_shop_capacity_couples_skus() -> None:
    rules = [{"type": "equal_split"}, {"type": "shop_capacity", "quantities": {"A": 5}}]
    p = run(rules, pools={"S1": 10, "S2": 10})
    assert quantities(p, "S1")["A"] + quantities(p, "S2")["A"] == 5
    assert p.solver_parts[-1].backend == "flow"


def test_value_budget() -> None:
    rules = [{"type": "equal_split"}, {"type": "value_budget", "budgets": {"A": "50.00"}}]
    p = run(rules, pools={"S1": 30, "S2": 30})
    assert quantities(p, "S1")["A"] + quantities(p, "S2")["A"] <= 5
    assert p.solver_parts[-1].backend == "mip"


def test_velocity_proportional() -> None:
    velocity = {("S", "A"): 2.0, ("S", "B"): 1.0, ("S", "C"): 1.0}
    assert quantities(
        run([{"type": "velocity_proportional"}], pools={"S": 12}, velocity=velocity)
    ) == {"A": 6, "B": 3, "C": 3}


def test_cover_target_first_then_the_rest() -> None:
    velocity = {("S", "A"): 3.0, ("S", "B"): 1.0}
    p = run([{"type": "cover_target", "days": 2}], pools={"S": 20}, velocity=velocity)
    assert quantities(p) == {"A": 15, "B": 5, "C": 0}


def test_expected_sales_takes_units_by_their_chance_to_sell() -> None:
    """Horizon 2 days: A's 3rd unit sells with 0.76, C's 1st with 0.63, B's 2nd with 0.59."""
    velocity = {("S", "A"): 2.0, ("S", "B"): 1.0, ("S", "C"): 0.5}
    rules = [{"type": "expected_sales", "horizon_days": 2}]
    assert quantities(run(rules, pools={"S": 4}, velocity=velocity)) == {"A": 3, "B": 1, "C": 0}
    assert quantities(run(rules, pools={"S": 5}, velocity=velocity)) == {"A": 3, "B": 1, "C": 1}


def test_velocity_class() -> None:
    velocity = {
        ("F", "A"): 50.0,
        ("F", "B"): 40.0,
        ("M", "A"): 8.0,
        ("M", "B"): 4.0,
        ("L", "B"): 1.0,
        ("L", "C"): 0.5,
    }
    p = run([{"type": "velocity_class"}], pools={"F": 30, "M": 12, "L": 9}, velocity=velocity)
    fast = {a.shop: (a.quantity, a.shared) for a in p.allocations if a.sku == "F"}
    assert fast == {"A": (0, 30), "B": (0, 30), "C": (0, 30)}
    assert quantities(p, "M") == {"A": 8, "B": 4, "C": 0}
    assert quantities(p, "L") == {"A": 0, "B": 9, "C": 0}


def test_new_product_borrows_its_category_velocity() -> None:
    velocity = {("S", "A"): 4.0}
    p = run([{"type": "new_product"}], pools={"S": 10, "N": 10}, velocity=velocity)
    assert quantities(p, "N") == {"A": 10, "B": 0, "C": 0}
    p = run(
        [{"type": "new_product", "shares": {"B": 0.5, "C": 0.5}}],
        pools={"S": 10, "N": 10},
        velocity=velocity,
    )
    assert quantities(p, "N") == {"A": 0, "B": 5, "C": 5}


def test_promotion_uplift() -> None:
    velocity = {("S", "A"): 1.0, ("S", "B"): 1.0}
    rules = [
        {"type": "velocity_proportional"},
        {"type": "promotion_uplift", "factor": 3, "shops": ["A"]} | IN,
    ]
    assert quantities(run(rules, pools={"S": 100}, velocity=velocity)) == {"A": 75, "B": 25, "C": 0}


def test_campaign_window_switches_rules_off_outside_it() -> None:
    rules = [
        {"id": "cap", "type": "max_cap", "quantities": {"A": 0}},
        {"type": "equal_split"},
        {"type": "campaign_window", "rules": ["cap"]} | OUT,
    ]
    assert quantities(run(rules, check=False)) == {"A": 4, "B": 3, "C": 3}
    rules[2] = {"type": "campaign_window", "rules": ["cap"]} | IN
    assert quantities(run(rules)) == {"A": 0, "B": 5, "C": 5}


def test_peak_mode_rule() -> None:
    rules = [
        {"type": "safety_stock", "quantity": 4},
        {"type": "equal_split"},
        {"type": "peak_mode"} | IN,
    ]
    p = run(rules, check=False)
    assert sum(quantities(p).values()) == 10 and p.mode == "peak"


def test_sync_threshold_keeps_small_rises_and_publishes_falls() -> None:
    rules = [{"type": "equal_split"}, {"id": "sync", "type": "sync_threshold", "threshold": 5}]
    p = run(rules, listed={("S", "A"): 3, ("S", "B"): 9})
    assert quantities(p) == {"A": 3, "B": 3, "C": 3}
    assert ("sync_threshold sync") in [u.reason for u in p.unallocated]


def test_every_rule_type_is_covered() -> None:
    covered = COVERED | {
        "percentage",
        "equal_split",
        "fixed",
        "safety_stock",
        "zero_below",
        "max_cap",
        "days_of_cover_balance",
        "exclude_warehouse",
    }  # worked examples
    assert set(RULE_TYPES) - covered == set()


def test_warehouse_scope_counts_no_locked_units_of_other_warehouses() -> None:
    # Regression: locked units in W1 once widened the supply of a shop scoped to W2.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10, "locked": 3},
        {"sku": "S", "warehouse": "W2", "on_hand": 0},
    ]
    rules = [
        {"type": "warehouse_scope", "shops": ["A"], "warehouses": ["W2"]},
        {"type": "equal_split"},
    ]
    p = run(rules, stock=stock, warehouses=(("W1", "sellable"), ("W2", "sellable")))
    assert quantities(p)["A"] == 0 and sum(quantities(p).values()) == 7


def test_bundles_from_components_stay_off_shops_that_miss_a_warehouse() -> None:
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10},
        {"sku": "K", "warehouse": "W1", "on_hand": 0},
    ]
    rules = [
        {"type": "warehouse_scope", "shops": ["A"], "warehouses": ["W2"]},
        {"type": "equal_split"},
    ]
    p = run(
        rules,
        check=False,
        pools={"S": 10, "K": 0},
        stock=stock,
        components={"K": [{"sku": "S", "qty": 1}]},
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
    )
    assert quantities(p, "K")["A"] == 0 and quantities(p, "S")["A"] == 0


def test_a_shop_that_cannot_make_a_bundle_lists_its_share_of_the_bundles_own_units() -> None:
    # Regression (versus-incumbent: Douyin b2 listed none of a kit whose own units sat
    # in its warehouse, 53 avoidable lost sales): C cannot make K (S sits in W1 only),
    # so it leaves K's shared set, and keeps its velocity share of K (9 x 1.0 / 2.0 ->
    # 5 by largest remainder) as far as K's own units in W2 go: 4.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10},
        {"sku": "S", "warehouse": "W2", "on_hand": 0},
        {"sku": "K", "warehouse": "W1", "on_hand": 0},
        {"sku": "K", "warehouse": "W2", "on_hand": 4},
    ]
    p = run(
        [{"type": "shared_pool", "scope": {"skus": ["K"]}}],
        check=False,
        pools={"S": 10, "K": 4},
        stock=stock,
        velocity={("K", "A"): 0.5, ("K", "B"): 0.5, ("K", "C"): 1.0},
        components={"K": [{"sku": "S", "qty": 2}]},
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        restricted={"C": ["W2"]},
    )
    listed = {a.shop: (a.quantity, a.shared) for a in p.allocations if a.sku == "K"}
    assert listed["C"] == (4, 0)
    assert listed["A"][1] == listed["B"][1] > 0  # bundles made of S, shared by A and B


def test_pack_rounding_gives_whole_packs_back_by_priority() -> None:
    p = run(
        [{"type": "equal_split"}, {"id": "pk", "type": "pack_size", "quantity": 5}], pools={"S": 23}
    )
    assert quantities(p) == {"A": 10, "B": 5, "C": 5}
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(3, "pack_size pk")]


def test_shared_part_only_from_warehouses_every_shared_shop_reaches() -> None:
    # Regression (found by Hypothesis): a shared part listed on a shop that cannot
    # draw from the only warehouse holding the stock.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 1},
        {"sku": "S", "warehouse": "W2", "on_hand": 0},
    ]
    p = run(
        [{"type": "shared_pool"}],
        stock=stock,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        restricted={"C": ["W2"]},
    )
    # C cannot reach the unit: A and B share it, C lists none of it.
    assert {a.shop: a.shared for a in p.allocations} == {"A": 1, "B": 1, "C": 0}


SPLIT_STOCK = [
    {"sku": "S", "warehouse": "W1", "on_hand": 4},
    {"sku": "S", "warehouse": "W2", "on_hand": 20},
]
SPLIT_VELOCITY = {("S", "A"): 0.37, ("S", "B"): 0.0, ("S", "C"): 0.66}


def listed_by_shop(p: Plan) -> dict[str, tuple[int, int]]:
    return {a.shop: (a.quantity, a.shared) for a in p.allocations if a.sku == "S"}


def test_a_shop_that_leaves_the_shared_set_keeps_its_velocity_share() -> None:
    # Regression (the versus-incumbent scenario: a Douyin shop served by one warehouse
    # listed none of a shared tail's SKUs while part of their stock sat in the other,
    # 1,283 of the oracle's 2,925 avoidable lost sales). C reaches W2 only: it leaves
    # the shared set, and takes what a split by velocity gives it: 24 x 0.66 / 1.03 =
    # 15.4 -> 15 (A's 8.6 has the larger remainder), as a quantity of its own; A and B
    # share the other 9.
    p = run(
        [{"type": "shared_pool"}],
        stock=SPLIT_STOCK,
        velocity=SPLIT_VELOCITY,
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        restricted={"C": ["W2"]},
    )
    assert listed_by_shop(p) == {"A": (0, 9), "B": (0, 9), "C": (15, 0)}


def test_a_shop_that_leaves_the_shared_set_takes_no_more_than_it_reaches_or_a_cap() -> None:
    # C's velocity share (20 of 24) is more than W2 holds (6): it takes the 6.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 18},
        {"sku": "S", "warehouse": "W2", "on_hand": 6},
    ]
    fast_c = {("S", "A"): 0.2, ("S", "B"): 0.0, ("S", "C"): 1.0}
    common: dict[str, Any] = {
        "warehouses": (("W1", "sellable"), ("W2", "sellable")),
        "restricted": {"C": ["W2"]},
    }
    p = run([{"type": "shared_pool"}], stock=stock, velocity=fast_c, **common)
    assert listed_by_shop(p) == {"A": (0, 18), "B": (0, 18), "C": (6, 0)}
    # A cap on C stands.
    rules = [{"type": "shared_pool"}, {"type": "max_cap", "quantities": {"C": 4}}]
    p = run(rules, stock=SPLIT_STOCK, velocity=SPLIT_VELOCITY, **common)
    assert listed_by_shop(p) == {"A": (0, 20), "B": (0, 20), "C": (4, 0)}
    # Without velocity, a velocity split gives C none (as before).
    p = run([{"type": "shared_pool"}], stock=SPLIT_STOCK, **common)
    assert listed_by_shop(p) == {"A": (0, 24), "B": (0, 24), "C": (0, 0)}


def test_a_shop_that_misses_the_only_stocked_warehouse_gets_nothing() -> None:
    # Regression (found by Hypothesis): the other shop is held at 0 by a fixed rule,
    # and the restricted shop was the only one left taking units.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 1},
        {"sku": "S", "warehouse": "W2", "on_hand": 0},
    ]
    rules = [{"type": "equal_split"}, {"type": "fixed", "quantities": {"A": 0}}]
    p = run(
        rules,
        stock=stock,
        shops=(("A", 1), ("B", 2)),
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        restricted={"B": ["W2"]},
    )
    assert quantities(p) == {"A": 0, "B": 0}


def test_a_shop_that_misses_a_components_warehouse_does_not_list_a_bundles_shared_part() -> None:
    # Regression (found by the scenario simulator: 22 bundles oversold on a Douyin shop
    # served by one warehouse): a bundle's shared part is made from its components
    # wherever they sit, so a shop that cannot reach them must not list it.
    stock = [
        {"sku": "S", "warehouse": "W1", "on_hand": 10},
        {"sku": "S", "warehouse": "W2", "on_hand": 0},
        {"sku": "K", "warehouse": "W1", "on_hand": 0},
        {"sku": "K", "warehouse": "W2", "on_hand": 0},
    ]
    p = run(
        [{"type": "shared_pool", "scope": {"skus": ["K"]}}],
        check=False,
        pools={"S": 10, "K": 0},
        stock=stock,
        components={"K": [{"sku": "S", "qty": 2}]},
        warehouses=(("W1", "sellable"), ("W2", "sellable")),
        restricted={"C": ["W2"]},
    )
    listed = {a.shop: a.quantity + a.shared for a in p.allocations if a.sku == "K"}
    assert listed["C"] == 0
    assert listed["A"] > 0 and listed["B"] > 0  # the shops that reach W1 still list it
