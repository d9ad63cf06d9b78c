"""Soft floors (`min_floor`) and the share rules: units a floor needs beyond what the
targets leave come from the share rule's shops in proportion to their targets, by
largest remainder (docs/rules.md, "How the solve settles what the rules leave open")."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import plan, quantities, snapshot
from tests.invariants import assert_plan_invariants

SHOPS = (("A", 1), ("B", 2), ("C", 3), ("D", 4))


def whole_by_largest_remainder(quota: list[Fraction], total: int) -> list[int]:
    """Exact largest remainder: floors, then one unit each to the largest fractions,
    ties to the earlier element (shop rank)."""
    base = [q.numerator // q.denominator for q in quota]
    order = sorted(range(len(quota)), key=lambda i: (-(quota[i] - base[i]), i))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def run(rules: list[dict[str, Any]], pool: int, **kw: Any) -> dict[str, int]:
    s = snapshot(pools={"S": pool}, shops=SHOPS, **kw)
    p = plan(s, rules)
    assert_plan_invariants(s, rules, p)
    return quantities(p)


def test_worked_example() -> None:
    """Pool 100, shares A 0.5 / B 0.5, floor C 5: the shares give up 2.5 units each, and
    largest remainder gives the tie to A: A 48, B 47, C 5 (not A 50, B 45)."""
    rules = [
        {"type": "percentage", "shares": {"A": 0.5, "B": 0.5}},
        {"type": "min_floor", "quantities": {"C": 5}},
    ]
    assert run(rules, 100) == {"A": 48, "B": 47, "C": 5, "D": 0}


def test_kept_back_units_go_to_the_floor_first() -> None:
    """Shares under 100% keep 20 units back: the floor takes 5 of those, not targets."""
    rules = [
        {"type": "percentage", "shares": {"A": 0.5, "B": 0.3}},
        {"type": "min_floor", "quantities": {"C": 5}},
    ]
    assert run(rules, 100) == {"A": 50, "B": 30, "C": 5, "D": 0}


def test_a_share_shop_gives_no_units_below_its_own_floor() -> None:
    """Targets A 70, B 30; B's floor 29 lets it give 1 unit; A gives the other 10."""
    rules = [
        {"type": "percentage", "shares": {"A": 0.7, "B": 0.3}},
        {"type": "min_floor", "quantities": {"B": 29, "C": 11}},
    ]
    assert run(rules, 100) == {"A": 60, "B": 29, "C": 11, "D": 0}


@settings(max_examples=150, deadline=None)
@given(
    pool=st.integers(0, 200),
    weights=st.lists(st.integers(1, 9), min_size=2, max_size=3),
    floors=st.lists(st.integers(0, 40), min_size=1, max_size=1),
)
def test_floor_units_come_from_share_shops_in_proportion(
    pool: int, weights: list[int], floors: list[int]
) -> None:
    """Weighted shares over the first shops, a floor on the last: the share shops'
    targets are cut by the floor in proportion to the targets, by largest remainder."""
    names = [name for name, _ in SHOPS]
    share_shops = names[: len(weights)]
    floor_shop = names[len(weights)]
    floor = min(floors[0], pool)
    rules = [
        {"type": "weighted", "weights": dict(zip(share_shops, weights, strict=True))},
        {"type": "min_floor", "quantities": {floor_shop: floor}},
    ]
    total_w = sum(weights)
    targets = whole_by_largest_remainder([Fraction(pool * w, total_w) for w in weights], pool)
    t_sum = sum(targets)
    kept = [Fraction(t) - Fraction(floor * t, t_sum) if t_sum else Fraction(0) for t in targets]
    expected = whole_by_largest_remainder(kept, t_sum - floor)
    got = run(rules, pool)
    assert [got[s] for s in share_shops] == expected
    assert got[floor_shop] == floor


@settings(max_examples=100, deadline=None)
@given(
    pool=st.integers(0, 120),
    shares=st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7]), min_size=4, max_size=4),
    floors=st.lists(st.integers(0, 30), min_size=4, max_size=4),
    mode=st.sampled_from(["normal", "peak"]),
)
def test_floors_that_fit_are_met_and_no_unit_is_lost(
    pool: int, shares: list[float], floors: list[int], mode: str
) -> None:
    """Shares on any shops (under or over 100%), floors on any shops, either mode: when
    the floors fit in the pool every shop gets at least its floor; the invariants hold."""
    names = [name for name, _ in SHOPS]
    rules = [
        {"type": "percentage", "shares": dict(zip(names, shares, strict=True))},
        {"type": "min_floor", "quantities": dict(zip(names, floors, strict=True))},
    ]
    s = snapshot(pools={"S": pool}, shops=SHOPS, mode=mode)
    p = plan(s, rules)
    assert_plan_invariants(s, rules, p, peak=mode == "peak")
    got = quantities(p)
    if sum(floors) <= pool:
        assert all(got[n] >= f for n, f in zip(names, floors, strict=True)), got
