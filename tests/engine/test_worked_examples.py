"""Worked examples of docs/rules.md, as written there (tests/rules/ has one per rule type)."""

from __future__ import annotations

import pytest

from engine.core.errors import ConflictError
from tests.helpers import plan, quantities, snapshot

THIRDS = {"A": 0.3334, "B": 0.3333, "C": 0.3333}


def test_percentage_largest_remainder() -> None:
    p = plan(snapshot(pools={"S": 10}), [{"type": "percentage", "shares": THIRDS}])
    assert quantities(p) == {"A": 4, "B": 3, "C": 3}
    assert p.unallocated == []


def test_percentage_floor_leaves_one_idle() -> None:
    rules = [{"type": "percentage", "shares": THIRDS, "rounding": "floor"}]
    p = plan(snapshot(pools={"S": 10}), rules)
    assert quantities(p) == {"A": 3, "B": 3, "C": 3}
    assert sum(u.quantity for u in p.unallocated) == 1


def test_equal_split_ties_by_priority() -> None:
    p = plan(snapshot(pools={"S": 10}), [{"type": "equal_split", "shops": ["A", "B", "C"]}])
    assert quantities(p) == {"A": 4, "B": 3, "C": 3}


def test_shares_over_100_percent_do_not_oversell() -> None:
    rules = [{"id": "r1", "type": "percentage", "shares": {"A": 0.7, "B": 0.7}}]
    p = plan(snapshot(pools={"S": 100}), rules)
    assert quantities(p) == {"A": 50, "B": 50, "C": 0}
    assert [(w.code, w.rule) for w in p.warnings] == [("shares_exceed_100", "r1")]


FIXED_AFTER_RESERVES = [
    {"id": "r2", "type": "safety_stock", "quantity": 10},
    {"id": "r3", "type": "fixed", "quantities": {"A": 30}},
    {"id": "r4", "type": "percentage", "shares": {"B": 0.5, "C": 0.5}},
]


def test_shares_apply_after_reserves_and_fixed() -> None:
    p = plan(snapshot(pools={"S": 100}), FIXED_AFTER_RESERVES)
    assert quantities(p) == {"A": 30, "B": 30, "C": 30}
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(10, "safety_stock r2")]


def test_peak_mode_drops_safety_stock() -> None:
    p = plan(snapshot(pools={"S": 100}), FIXED_AFTER_RESERVES, mode="peak")
    assert quantities(p) == {"A": 30, "B": 35, "C": 35}
    assert p.mode == "peak"


@pytest.mark.parametrize(
    ("pool", "expected"), [(5, {"A": 0, "B": 0, "C": 0}), (6, {"A": 2, "B": 2, "C": 2})]
)
def test_zero_below(pool: int, expected: dict[str, int]) -> None:
    rules = [{"type": "zero_below", "threshold": 5}, {"type": "equal_split"}]
    assert quantities(plan(snapshot(pools={"S": pool}), rules)) == expected


def test_fixed_above_pool_is_a_conflict_naming_rule_and_sku() -> None:
    with pytest.raises(ConflictError) as caught:
        plan(
            snapshot(pools={"S": 100}),
            [{"id": "f1", "type": "fixed", "quantities": {"A": 80, "B": 40}}],
        )
    conflict = caught.value.conflicts[0]
    assert conflict.rules == ["f1"] and conflict.skus == ["S"]
    assert "f1" in str(caught.value) and "S" in str(caught.value)


def test_fixed_from_two_rules_names_both() -> None:
    rules = [
        {"id": "fa", "type": "fixed", "quantities": {"A": 80}},
        {"id": "fb", "type": "fixed", "quantities": {"B": 40}},
    ]
    with pytest.raises(ConflictError) as caught:
        plan(snapshot(pools={"S": 100}), rules)
    assert caught.value.conflicts[0].rules == ["fa", "fb"]


def test_days_of_cover_balance() -> None:
    snap = snapshot(pools={"S": 30}, velocity={("S", "A"): 10, ("S", "B"): 5, ("S", "C"): 0})
    assert quantities(plan(snap, [{"type": "days_of_cover_balance"}])) == {"A": 20, "B": 10, "C": 0}


def test_cap_surplus_goes_to_the_other_shops() -> None:
    rules = [
        {"type": "percentage", "shares": {"A": 0.5, "B": 0.5}},
        {"type": "max_cap", "quantities": {"A": 20}},
    ]
    assert quantities(plan(snapshot(pools={"S": 100}), rules)) == {"A": 20, "B": 80, "C": 0}


def test_excluded_defect_warehouse() -> None:
    snap = snapshot(
        pools={"S": 0},
        warehouses=(("W1", "sellable"), ("W2", "defect")),
        stock=[
            {"sku": "S", "warehouse": "W1", "on_hand": 60},
            {"sku": "S", "warehouse": "W2", "on_hand": 40},
        ],
    )
    rules = [
        {"type": "exclude_warehouse", "warehouses": ["W2"]},
        {"type": "equal_split", "shops": ["A", "B"]},
    ]
    assert quantities(plan(snap, rules)) == {"A": 30, "B": 30, "C": 0}


def test_shares_under_100_percent_keep_the_rest_back_except_in_peak() -> None:
    rules = [{"id": "p", "type": "percentage", "shares": {"A": 0.5, "B": 0.3}}]
    p = plan(snapshot(pools={"S": 100}), rules)
    assert quantities(p) == {"A": 50, "B": 30, "C": 0}
    reason = "kept back: shares cover less than the pool (p)"
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(20, reason)]
    peak = plan(snapshot(pools={"S": 100}), rules, mode="peak")
    assert quantities(peak) == {"A": 70, "B": 30, "C": 0}


def test_the_more_specific_scope_wins_only_where_it_applies() -> None:
    rules = [
        {"id": "g", "type": "equal_split"},
        {"id": "s", "type": "percentage", "scope": {"skus": ["S"]}, "shares": {"A": 1.0}},
    ]
    p = plan(snapshot(pools={"S": 9, "T": 9}), rules)
    assert quantities(p, "S") == {"A": 9, "B": 0, "C": 0}
    assert quantities(p, "T") == {"A": 3, "B": 3, "C": 3}


def test_priority_then_the_later_rule_wins() -> None:
    weighted = {"type": "weighted", "weights": {"A": 2, "B": 1}}
    later = plan(snapshot(pools={"S": 9}), [{"type": "equal_split"}, weighted])
    assert quantities(later) == {"A": 6, "B": 3, "C": 0}
    assert [w.code for w in later.warnings] == ["rule_never_wins"]
    first = plan(snapshot(pools={"S": 9}), [{"type": "equal_split", "priority": 5}, weighted])
    assert quantities(first) == {"A": 3, "B": 3, "C": 3}


def test_caps_of_two_scopes() -> None:
    rules = [
        {"id": "c1", "type": "max_cap", "scope": {"brand": "b"}, "quantity": 2},
        {"id": "c2", "type": "max_cap", "scope": {"shop": "A"}, "quantity": 5},
        {"type": "equal_split"},
    ]
    p = plan(snapshot(pools={"S": 12}), rules)
    assert quantities(p) == {"A": 5, "B": 2, "C": 2}
    assert [(u.quantity, u.reason) for u in p.unallocated] == [(3, "capped by c1, c2")]


def test_a_share_rule_scoped_to_a_shop_decides_the_whole_sku() -> None:
    rules = [
        {"id": "e", "type": "equal_split"},
        {"id": "a", "type": "percentage", "scope": {"shop": "A"}, "shares": {"A": 0.5}},
    ]
    p = plan(snapshot(pools={"S": 10}), rules)
    assert quantities(p) == {"A": 5, "B": 0, "C": 0}
    assert [(u.quantity, u.reason) for u in p.unallocated] == [
        (5, "kept back: shares cover less than the pool (a)")
    ]
