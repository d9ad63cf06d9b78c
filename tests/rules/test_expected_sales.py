"""The `expected_sales` rule: the greedy split against a brute-force optimum of the
concave problem, its ties and bounds, and plans made with it keeping every invariant."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.core.modes import NORMAL
from engine.planning.planner import run_planner
from rules.expected import (
    GAIN_FLOOR,
    expected_sold,
    greedy_split,
    horizon_demand,
    poisson_quantile,
    units_above,
)
from rules.load import parse_ruleset
from solvers.problem import Grouping
from tests.helpers import plan, quantities, snapshot
from tests.invariants import assert_plan_invariants

SHOPS = (("A", 1), ("B", 2), ("C", 3), ("D", 4))


def best_by_dynamic_programming(
    mean: np.ndarray,
    size: np.ndarray,
    have: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    amount: int,
) -> float:
    """The largest expected sales of one SKU's cells over every whole split of at most
    `amount` units with low <= x <= high: a knapsack over the cells, value by value."""
    best = {0: 0.0}
    for i in range(mean.size):
        held = int(have[i])
        base = expected_sold(np.array([held]), mean[i : i + 1], size[i : i + 1])[0]
        gain = {
            x: expected_sold(np.array([held + x]), mean[i : i + 1], size[i : i + 1])[0] - base
            for x in range(int(low[i]), int(high[i]) + 1)
        }
        nxt: dict[int, float] = {}
        for used, value in best.items():
            for x, g in gain.items():
                if used + x <= amount and nxt.get(used + x, -1.0) < value + g:
                    nxt[used + x] = value + g
        best = nxt
    return max(best.values(), default=0.0)


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(0.0, 40.0),
    size=st.sampled_from([np.inf, 0.2, 1.0, 7.0]),
    units=st.integers(0, 60),
)
def test_expected_sold_is_the_sum_of_the_units_chances(
    mean: float, size: float, units: int
) -> None:
    """E[min(D, x)] = sum over j < x of P(D > j), summed directly from scipy's law."""
    law = stats.poisson(mean) if np.isinf(size) else stats.nbinom(size, size / (size + mean))
    direct = sum(float(law.sf(j)) for j in range(units)) if mean > 0 else 0.0
    got = expected_sold(np.array([units]), np.array([mean]), np.array([size]))[0]
    assert abs(got - direct) <= 1e-9 * max(1.0, direct)


@settings(max_examples=200, deadline=None)
@given(
    q=st.one_of(st.just(0.0), st.floats(1e-12, 1.0 - 1e-7)),  # the greedy asks 1 - gain
    mean=st.one_of(st.floats(1e-6, 5.0), st.floats(5.0, 1e5), st.floats(1e5, 3.65e12)),
)
def test_poisson_quantile_meets_its_definition(q: float, mean: float) -> None:
    """The smallest j with P(D <= j) >= q, checked on scipy's CDF; scipy's ppf agrees
    where it answers."""
    j = poisson_quantile(np.array([q]), np.array([mean]))[0]
    assert j >= 0 and stats.poisson.cdf(j, mean) >= q
    assert j == 0 or stats.poisson.cdf(j - 1, mean) < q
    # scipy says -1 at q = 0, and NaN for means of 10^10 and more.
    # scipy's ppf is off by one unit in far tails of large means (q 0.9999999 at a mean
    # of 4.3e6); the two lines above are the definition, checked with scipy's cdf.
    assert q == 0 or mean > 1e6 or j == stats.poisson.ppf(q, mean)


@st.composite
def skus(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 4))
        cells = [
            {
                "mean": draw(st.sampled_from([0.0, 0.2, 0.7, 1.5, 3.0, 6.0, 11.0])),
                "size": draw(st.sampled_from([np.inf, np.inf, 0.3, 1.0, 4.0])),
                "have": draw(st.integers(0, 2)),
                "low": draw(st.integers(0, 2)),
                "room": draw(st.integers(0, 12)),
            }
            for _ in range(n)
        ]
        out.append({"cells": cells, "amount": draw(st.integers(0, 24))})
    return out


@settings(max_examples=120, deadline=None)
@given(skus())
def test_greedy_split_is_the_optimum_of_each_sku(case: list[dict[str, Any]]) -> None:
    cells = [(g, c) for g, sku in enumerate(case) for c in sku["cells"]]
    group = np.array([g for g, _ in cells], dtype=np.int64)

    def col(name: str, dtype: Any) -> np.ndarray:
        return np.array([c[name] for _, c in cells], dtype=dtype)

    mean, size, have, low = (
        col("mean", float),
        col("size", float),
        col("have", int),
        col("low", int),
    )
    high = low + col("room", int)
    amount = np.array([sku["amount"] for sku in case], dtype=np.int64)
    by = Grouping.of_sorted(group, len(case))
    x = greedy_split(by, mean, size, have, low, high, amount)
    assert np.all(low <= x) and np.all(x <= high)
    worth = np.clip(units_above(np.full(mean.size, GAIN_FLOOR), mean, size) - have, low, high)
    for g, sku in enumerate(case):
        on = group == g
        if low[on].sum() >= sku["amount"]:
            assert np.array_equal(x[on], low[on])  # floors alone: the solver fills them
            continue
        # Every unit worth a target is placed, up to the amount.
        assert x[on].sum() == min(sku["amount"], worth[on].sum())
        got = float((expected_sold(have[on] + x[on], mean[on], size[on])).sum())
        got -= float(expected_sold(have[on], mean[on], size[on]).sum())
        best = best_by_dynamic_programming(
            mean[on], size[on], have[on], low[on], high[on], sku["amount"]
        )
        # Units left untargeted each sell with probability below GAIN_FLOOR.
        assert got >= best - GAIN_FLOOR * sku["amount"] - 1e-9


@settings(max_examples=40, deadline=None)
@given(
    pool=st.integers(0, 30),
    rates=st.lists(st.sampled_from([0.0, 0.1, 0.4, 1.0, 2.5]), min_size=3, max_size=3),
    sizes=st.lists(st.sampled_from([np.inf, 0.2, 1.5]), min_size=3, max_size=3),
    cap=st.integers(0, 12),
    horizon=st.sampled_from([1.0, 4.0]),
)
def test_plans_reach_the_optimum(
    pool: int, rates: list[float], sizes: list[float], cap: int, horizon: float
) -> None:
    """Through the whole pipeline (targets, solve, plan), with a cap on C and
    overdispersed cells given by the index: the plan sells as much as the best split."""
    velocity = {("S", shop): rate for (shop, _), rate in zip(SHOPS, rates, strict=False)}
    s = snapshot(pools={"S": pool}, velocity=velocity)
    index = SnapshotIndex.build(s)
    index.dispersion = np.array(sizes)
    rules = [
        {"type": "expected_sales", "horizon_days": horizon},
        {"type": "max_cap", "quantities": {"C": cap}},
    ]
    out = run_planner(index, parse_ruleset({"rules": rules}), NORMAL)
    x = out.solved.x
    mean, size = horizon_demand(index.velocity, index.dispersion, horizon)
    high = np.array([pool, pool, min(cap, pool)])
    assert x.sum() == pool and x[2] <= cap
    got = float(expected_sold(x, mean, size).sum())
    zero = np.zeros(3, dtype=np.int64)
    best = best_by_dynamic_programming(mean, size, zero, zero, high, pool)
    assert got >= best - GAIN_FLOOR * pool - 1e-9


def test_ties_go_by_shop_rank() -> None:
    """Identical shops: the spare unit goes to the first shop by rank, as equal_split."""
    velocity = {("S", s): 1.0 for s, _ in SHOPS[:3]}
    p = plan(
        snapshot(pools={"S": 7}, velocity=velocity),
        [{"type": "expected_sales", "horizon_days": 5}],
    )
    assert quantities(p) == {"A": 3, "B": 2, "C": 2}


def test_worked_example_beats_the_proportional_split() -> None:
    """Velocities A 2, B 1, C 0.5 a day, pool 4, horizon 2 days: A's third unit sells
    with 0.76, C's first with 0.63, so A 3, B 1, C 0 (velocity_proportional: A 2, B 1,
    C 1)."""
    velocity = {("S", "A"): 2.0, ("S", "B"): 1.0, ("S", "C"): 0.5}
    s = snapshot(pools={"S": 4}, velocity=velocity)
    rules = [{"type": "expected_sales", "horizon_days": 2}]
    p = plan(s, rules)
    assert_plan_invariants(s, rules, p)
    assert quantities(p) == {"A": 3, "B": 1, "C": 0}
    split = quantities(plan(s, [{"type": "velocity_proportional"}]))
    assert split == {"A": 2, "B": 1, "C": 1}
    mean = np.array([4.0, 2.0, 1.0])
    inf = np.full(3, np.inf)
    ours = expected_sold(np.array(list(quantities(p).values())), mean, inf).sum()
    theirs = expected_sold(np.array(list(split.values())), mean, inf).sum()
    assert ours > theirs + 0.1


def test_ample_stock_covers_every_shop_and_leaves_the_rest_over_target() -> None:
    """Every unit that sells with probability >= GAIN_FLOOR is a target; the rest goes
    over target to the rule's shops by rank, not idle."""
    velocity = {("S", "A"): 1.0, ("S", "B"): 2.0}
    p = plan(
        snapshot(pools={"S": 200}, velocity=velocity),
        [{"type": "expected_sales", "horizon_days": 1}],
    )
    targets = {a.shop: a.target for a in p.allocations}
    worth = units_above(np.full(2, GAIN_FLOOR), np.array([1.0, 2.0]), np.full(2, np.inf))
    assert targets == {"A": int(worth[0]), "B": int(worth[1]), "C": 0}
    q = quantities(p)
    assert q["B"] == targets["B"] and q["A"] == 200 - q["B"] and q["C"] == 0
    assert not p.unallocated


def test_floors_come_first_and_others_floors_off_the_base() -> None:
    """A floor on a rule shop is a lower bound of the greedy; a floor on a shop outside
    the rule is served before the rule splits the rest."""
    velocity = {("S", "A"): 5.0, ("S", "B"): 0.1}
    rules: list[dict[str, Any]] = [
        {"type": "expected_sales", "horizon_days": 1, "shops": ["A", "B"]},
        {"type": "min_floor", "quantities": {"B": 2, "C": 3}},
    ]
    s = snapshot(pools={"S": 8}, velocity=velocity)
    p = plan(s, rules)
    assert_plan_invariants(s, rules, p)
    assert quantities(p) == {"A": 3, "B": 2, "C": 3}


@st.composite
def plans(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_shops = draw(st.integers(2, 4))
    shops = SHOPS[:n_shops]
    pools = {f"S{i}": draw(st.integers(0, 80)) for i in range(draw(st.integers(1, 4)))}
    velocity = {
        (sku, shop): draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, 3.0, 9.0]))
        for sku in pools
        for shop, _ in shops
    }
    names = [s for s, _ in shops]
    rule: dict[str, Any] = {
        "id": "es",
        "type": "expected_sales",
        "horizon_days": draw(st.sampled_from([0.5, 1.0, 3.0, 14.0])),
    }
    if draw(st.booleans()):
        rule["shops"] = names[: draw(st.integers(1, n_shops))]
    rules = [rule]
    if draw(st.booleans()):
        rules.append({"type": "max_cap", "quantities": {names[-1]: draw(st.integers(0, 20))}})
    if draw(st.booleans()):
        rules.append({"type": "min_floor", "quantities": {names[1]: draw(st.integers(0, 10))}})
    if draw(st.booleans()):
        rules.append({"type": "fixed", "quantities": {names[0]: draw(st.integers(0, 8))}})
    if draw(st.booleans()):
        rules.append({"type": "safety_stock", "quantity": draw(st.integers(0, 10))})
    if draw(st.booleans()):
        rules.append({"type": "shop_capacity", "quantities": {names[0]: draw(st.integers(0, 40))}})
    if draw(st.booleans()):
        rules.append({"type": "pack_size", "quantity": draw(st.integers(2, 4))})
    data = {"pools": pools, "shops": shops, "velocity": velocity}
    return data, rules


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_plans_with_expected_sales_keep_every_invariant(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    data, rules = case
    s = snapshot(**data)
    try:
        p = plan(s, rules)
    except ConflictError:  # only a fixed quantity the pool cannot hold
        assert any(r["type"] == "fixed" for r in rules)
        return
    assert_plan_invariants(s, rules, p)


def test_a_size_that_is_no_distribution_reads_as_poisson() -> None:
    mean, size = horizon_demand(np.ones(4), np.array([np.nan, 0.0, -1.0, np.inf]), 3.0)
    assert np.array_equal(mean, np.full(4, 3.0)) and np.all(np.isinf(size))
    assert np.array_equal(horizon_demand(np.ones(1), np.array([0.5]), 4.0)[1], [2.0])


def test_a_pool_far_below_demand_ties_by_shop_rank() -> None:
    """Every unit sells with probability 1.0 (in floating point) on A and B: ties, by
    shop rank; at the limits' largest demand (10^6 a day x uplift 1000 x 3650 days)
    as well, in a few milliseconds (no unit by unit walk)."""
    by = Grouping.of_sorted(np.zeros(3, dtype=np.int64), 1)
    zero, room = np.zeros(3, dtype=np.int64), np.full(3, 10**12)
    for mean, pool in (([100.0, 100.0, 5.0], 10), ([3.65e12, 3.65e12, 3650.0], 10**9)):
        x = greedy_split(by, np.array(mean), np.full(3, np.inf), zero, zero, room, np.array([pool]))
        assert x.tolist() == [pool, 0, 0]


@settings(max_examples=40, deadline=None)
@given(
    pool=st.integers(0, 60),
    rate=st.sampled_from([0.5, 2.0, 6.0]),
    n_shops=st.integers(2, 4),
    horizon=st.sampled_from([1.0, 3.0]),
)
def test_identical_shops_get_an_equal_split(
    pool: int, rate: float, n_shops: int, horizon: float
) -> None:
    """Every shop alike: each next unit goes to a shop with the fewest, ties by rank,
    which is equal_split's answer (while the pool is within what the shops are expected
    to sell: beyond that, units go over target by rank)."""
    shops = SHOPS[:n_shops]
    worth = units_above(np.array([GAIN_FLOOR]), np.array([rate * horizon]), np.array([np.inf]))
    pool = min(pool, int(worth[0]) * n_shops)
    s = snapshot(pools={"S": pool}, shops=shops, velocity={("S", h): rate for h, _ in shops})
    ours = quantities(plan(s, [{"type": "expected_sales", "horizon_days": horizon}]))
    assert ours == quantities(plan(s, [{"type": "equal_split"}]))
