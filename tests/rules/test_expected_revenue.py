"""`expected_sales` where SKUs compete: SKUs of different prices competing for a shop's
capacity or value budget get the allocation of the most expected revenue by `objective:
revenue`, and of the most expected units sold by `objective: units` (each against a
dynamic programme over every allocation); plans keep every invariant, each backend that
takes per-unit costs agrees with the PuLP reference, and where nothing couples SKUs
both objectives give the plan of the rule's own split, with no per-unit costs."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.core.errors import ConflictError, InputError
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.modes import NORMAL
from engine.planning.planner import run_planner
from rules.compile import compile_problem
from rules.expected import GAIN_FLOOR, expected_sold, horizon_demand
from rules.load import parse_ruleset
from rules.worth import MAX_RUNS, SURE, worth_runs
from solvers.lp import MIP_GAP, Mip
from solvers.problem import FEATURE_BITS, WORTH_RANGE, Feature, objective, violations
from solvers.reference import Reference
from solvers.registry import available_backends
from tests.helpers import plan, snapshot_data
from tests.invariants import assert_plan_invariants

pytestmark = pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")

SHOPS = (("A", 1), ("B", 2), ("C", 3))
PRICED = [b for b in available_backends() if Feature.UNIT_COSTS in b.features]


def priced_index(
    pools: dict[str, int],
    prices: dict[str, str],
    velocity: dict[tuple[str, str], float],
    sizes: list[float] | None = None,
) -> SnapshotIndex:
    data = snapshot_data(pools=pools, shops=SHOPS, velocity=velocity)
    for row in data["skus"]:
        row["price"] = prices[row["id"]]
    index = SnapshotIndex.build(parse_snapshot(data))
    if sizes is not None:
        index.dispersion = np.array(sizes)
    return index


def revenue_rules(objective: str, capacity: int, horizon: float) -> list[dict[str, Any]]:
    return [
        {"id": "es", "type": "expected_sales", "horizon_days": horizon, "objective": objective},
        {"id": "cap", "type": "shop_capacity", "quantities": {"A": capacity}},
    ]


OBJECTIVES = ("revenue", "units")


def expected_revenue(
    index: SnapshotIndex, x: np.ndarray, horizon: float, objective: str = "revenue"
) -> float:
    """Sum over cells of price x E[min(D, x)], in fen; by `units`, of E[min(D, x)]."""
    mean, size = horizon_demand(index.velocity, index.dispersion, horizon)
    price = unit_price(index, objective)[index.cell_sku]
    return float((price * expected_sold(x, mean, size)).sum())


def unit_price(index: SnapshotIndex, objective: str) -> np.ndarray:
    """Per SKU, what a sold unit is worth by the objective: its price, or 1."""
    if objective == "units":
        return np.ones(index.n_skus)
    return index.price_cents.astype(float)


def best_revenue(
    index: SnapshotIndex,
    pools: list[int],
    limit: int,
    horizon: float,
    by_value: bool = False,
    objective: str = "revenue",
) -> float:
    """The most expected revenue (by `units`: units sold) over every allocation with at
    most each SKU's pool and at most `limit` on shop A (rank 0): units, or with
    `by_value` their value in fen.
    Per SKU, for each number of units on A, the best split of the rest over its other
    shops (a knapsack, value by value); then a knapsack over the SKUs on A's limit."""
    mean, size = horizon_demand(index.velocity, index.dispersion, horizon)

    def sold(c: int, units: int) -> float:
        return float(expected_sold(np.array([units]), mean[c : c + 1], size[c : c + 1])[0])

    on_a: dict[int, float] = {0: 0.0}  # units on A -> the most revenue so far
    for i, pool in enumerate(pools):
        cells = np.flatnonzero(index.cell_sku == i)
        price = float(unit_price(index, objective)[i])
        a_cell = int(cells[index.cell_shop[cells] == 0][0])
        rest = {0: 0.0}  # units on the other shops -> the most units sold there
        for c in (int(c) for c in cells if c != a_cell):
            rest = knapsack(rest, {x: sold(c, x) for x in range(pool + 1)}, pool)
        best_rest = [max(v for u, v in rest.items() if u <= m) for m in range(pool + 1)]
        use = int(index.price_cents[i]) if by_value else 1
        per_a = {
            a * use: price * (sold(a_cell, a) + best_rest[pool - a])
            for a in range(pool + 1)
            if a * use <= limit
        }
        on_a = knapsack(on_a, per_a, limit)
    return max(on_a.values())


def knapsack(before: dict[int, float], item: dict[int, float], limit: int) -> dict[int, float]:
    """Per total use up to `limit`, the most value of `before`'s choices plus one of
    `item`'s (use -> value)."""
    out: dict[int, float] = {}
    for used, value in before.items():
        for units, gain in item.items():
            if used + units <= limit and out.get(used + units, -1.0) < value + gain:
                out[used + units] = value + gain
    return out


@st.composite
def competing(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 4))
    skus = [f"S{i}" for i in range(n)]
    return {
        "pools": {s: draw(st.integers(0, 9)) for s in skus},
        "prices": {
            s: draw(st.sampled_from(["1.00", "9.90", "25.00", "99.00", "420.00"])) for s in skus
        },
        "velocity": {
            (s, shop): draw(st.sampled_from([0.0, 0.3, 1.0, 2.5, 6.0]))
            for s in skus
            for shop, _ in SHOPS
        },
        "sizes": [draw(st.sampled_from([np.inf, np.inf, 0.5, 3.0])) for _ in range(n * len(SHOPS))],
        "capacity": draw(st.integers(0, 10)),
        "horizon": draw(st.sampled_from([1.0, 3.0])),
    }


@pytest.mark.parametrize("objective_", OBJECTIVES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=competing())
def test_plans_reach_the_most_expected_revenue(objective_: str, case: dict[str, Any]) -> None:
    """SKUs competing for shop A's capacity (min cost flow): the most expected revenue
    by revenue, the most expected units sold by units; neither plan does better than
    the other on the other's measure."""
    index = priced_index(case["pools"], case["prices"], case["velocity"], case["sizes"])
    capacity, horizon = case["capacity"], case["horizon"]
    x = plan_x(index, revenue_rules(objective_, capacity, horizon))
    assert x[index.cell_shop == 0].sum() <= capacity
    pools = list(case["pools"].values())
    best = best_revenue(index, pools, capacity, horizon, objective=objective_)
    assert_most_revenue(index, x, pools, best, horizon, objective_)
    other = "units" if objective_ == "revenue" else "revenue"
    y = plan_x(index, revenue_rules(other, capacity, horizon))
    ours, theirs = (expected_revenue(index, v, horizon, objective_) for v in (x, y))
    assert theirs <= ours + slack(index, pools, objective_)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=competing())
def test_two_rules_on_one_capacity_reach_the_most_expected_units(case: dict[str, Any]) -> None:
    """Two `expected_sales` rules by units (even SKUs, odd SKUs: their cells interleave)
    on shop A's capacity: their worths meet in one problem, and the plan sells the most
    units the capacity allows."""
    index = priced_index(case["pools"], case["prices"], case["velocity"], case["sizes"])
    skus = list(case["pools"])
    horizon, capacity = case["horizon"], case["capacity"]
    rules = [
        {
            "id": f"es{k}",
            "type": "expected_sales",
            "horizon_days": horizon,
            "scope": {"skus": skus[k::2]},
        }
        for k in (0, 1)
    ] + [{"id": "cap", "type": "shop_capacity", "quantities": {"A": capacity}}]
    x = plan_x(index, rules)
    pools = list(case["pools"].values())
    best = best_revenue(index, pools, capacity, horizon, objective="units")
    assert_most_revenue(index, x, pools, best, horizon, "units")


@pytest.mark.parametrize("objective_", OBJECTIVES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=competing(), budget=st.integers(0, 600))
def test_plans_reach_the_most_expected_revenue_under_a_value_budget(
    objective_: str, case: dict[str, Any], budget: int
) -> None:
    """SKUs competing for shop A's value budget (`budget` yuan; the MIP): by units the
    budget goes to the units likeliest to sell per plan, whatever their price."""
    index = priced_index(case["pools"], case["prices"], case["velocity"], case["sizes"])
    horizon = case["horizon"]
    rules = [
        {"id": "es", "type": "expected_sales", "horizon_days": horizon, "objective": objective_},
        {"id": "budget", "type": "value_budget", "budgets": {"A": f"{budget}.00"}},
    ]
    x = plan_x(index, rules)
    on_a = index.cell_shop == 0
    assert int(np.dot(x[on_a], index.price_cents[index.cell_sku[on_a]])) <= budget * 100
    pools = list(case["pools"].values())
    best = best_revenue(index, pools, budget * 100, horizon, by_value=True, objective=objective_)
    assert_most_revenue(index, x, pools, best, horizon, objective_)


def plan_x(index: SnapshotIndex, rules: list[dict[str, Any]]) -> np.ndarray:
    return run_planner(index, parse_ruleset({"rules": rules}), NORMAL).solved.x


def slack(index: SnapshotIndex, pools: list[int], objective: str = "revenue") -> float:
    """What the model leaves out, per unit at most the highest price (by units, 1)
    times: the chance of units below GAIN_FLOOR's and the sure units' spread (worth
    nothing apart), the rounding of worths to 1/WORTH_RANGE of the most, and the MIP's
    relative gap."""
    top = float(unit_price(index, objective).max(initial=0))
    return sum(pools) * top * (GAIN_FLOOR + SURE + 1.0 / WORTH_RANGE + 3 * MIP_GAP) + 1e-6


def assert_most_revenue(
    index: SnapshotIndex,
    x: np.ndarray,
    pools: list[int],
    best: float,
    horizon: float,
    objective: str = "revenue",
) -> None:
    got = expected_revenue(index, x, horizon, objective)
    assert best - slack(index, pools, objective) <= got <= best + 1e-6


def test_a_scarce_capacity_goes_to_the_dearer_sku() -> None:
    """Shop A (capacity 4) sells 3 a day of both; P costs 100.00, Q 10.00. By revenue P
    gets the capacity; by units each SKU's 3rd and 4th unit on A sells less often than
    its first units on B: 2 each on A, the most expected units (4.20; trimmed alike, as
    before worths reached the solver, Q took A: 3.38)."""
    index = priced_index(
        {"P": 6, "Q": 6},
        {"P": "100.00", "Q": "10.00"},
        {("P", "A"): 3.0, ("P", "B"): 0.5, ("Q", "A"): 3.0, ("Q", "B"): 0.2},
    )
    by = {}
    for objective_ in ("units", "revenue"):
        out = run_planner(
            index, parse_ruleset({"rules": revenue_rules(objective_, 4, 1.0)}), NORMAL
        )
        by[objective_] = out.solved.x
    a = index.cell_shop == 0
    p = index.cell_sku == 0
    assert by["revenue"][a & p].sum() == 4
    assert by["units"].tolist() == [2, 4, 0, 2, 4, 0]
    for objective_ in OBJECTIVES:
        best = best_revenue(index, [6, 6], 4, 1.0, objective=objective_)
        got = {o: expected_revenue(index, x, 1.0, objective_) for o, x in by.items()}
        assert got[objective_] == pytest.approx(best, rel=1e-6)
        assert max(got.values()) == got[objective_] > min(got.values())


@pytest.mark.parametrize("objective_", OBJECTIVES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=competing())
def test_each_priced_backend_agrees_with_the_reference(
    objective_: str, case: dict[str, Any]
) -> None:
    index = priced_index(case["pools"], case["prices"], case["velocity"], case["sizes"])
    rules = revenue_rules(objective_, case["capacity"], case["horizon"])
    problem = compile_problem(index, parse_ruleset({"rules": rules}), NORMAL).problem
    reference = Reference().solve(problem)
    for backend in PRICED:
        if backend.supports(problem):
            solution = backend().solve(problem)
            assert violations(problem, solution.x, solution.shared) == []
            assert solution.objective == objective(problem, solution.x, solution.shared)
            # Flow and the LP are exact on these network rows; the MIP stops within
            # its relative gap.
            gap = MIP_GAP * abs(reference.objective) if backend is Mip else 0
            assert abs(solution.objective - reference.objective) <= gap, backend.name


@st.composite
def ruled(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]:
    skus = [f"S{i}" for i in range(draw(st.integers(1, 4)))]
    names = [s for s, _ in SHOPS]
    data = {
        "pools": {s: draw(st.integers(0, 40)) for s in skus},
        "shops": SHOPS,
        "velocity": {
            (s, shop): draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, 3.0, 9.0]))
            for s in skus
            for shop in names
        },
    }
    prices = {s: draw(st.sampled_from(["0.50", "10.00", "250.00"])) for s in skus}
    rule: dict[str, Any] = {
        "id": "es",
        "type": "expected_sales",
        "horizon_days": draw(st.sampled_from([0.5, 1.0, 7.0])),
        "objective": draw(st.sampled_from(OBJECTIVES)),
    }
    if draw(st.booleans()):
        rule["shops"] = names[: draw(st.integers(1, 3))]
    rules = [rule, {"type": "shop_capacity", "quantities": {names[0]: draw(st.integers(0, 30))}}]
    if draw(st.booleans()):
        rules.append({"type": "max_cap", "quantities": {names[2]: draw(st.integers(0, 10))}})
    if draw(st.booleans()):
        rules.append({"type": "min_floor", "quantities": {names[1]: draw(st.integers(0, 6))}})
    if draw(st.booleans()):
        rules.append({"type": "fixed", "quantities": {names[2]: draw(st.integers(0, 5))}})
    if draw(st.booleans()):
        rules.append({"type": "safety_stock", "quantity": draw(st.integers(0, 5))})
    if draw(st.booleans()):
        rules.append(
            {"type": "value_budget", "budgets": {names[1]: str(draw(st.integers(0, 3000)))}}
        )
    if draw(st.booleans()):
        rules.append({"type": "pack_size", "quantity": draw(st.integers(2, 3))})
    return data, rules, prices


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruled())
def test_plans_of_either_objective_keep_every_invariant(
    case: tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]],
) -> None:
    data, rules, prices = case
    raw = snapshot_data(**data)
    for row in raw["skus"]:
        row["price"] = prices[row["id"]]
    s = parse_snapshot(raw)
    try:
        p = plan(s, rules)
    except ConflictError:  # only a fixed quantity the pool cannot hold
        assert any(r["type"] == "fixed" for r in rules)
        return
    assert_plan_invariants(s, rules, p)


def allocations(index: SnapshotIndex, rules: list[dict[str, Any]]) -> list[int]:
    return run_planner(index, parse_ruleset({"rules": rules}), NORMAL).solved.x.tolist()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(competing())
def test_units_is_the_default_and_only_coupled_skus_are_priced(case: dict[str, Any]) -> None:
    """`objective: units` is the rule without the field; without a capacity nothing
    couples the SKUs, no unit costs reach the solver, and each SKU's own split is
    already its best by revenue: the revenue plan is the units plan. Under shop A's
    capacity, the SKUs on A (and only those) have their units priced, by either
    objective."""
    index = priced_index(case["pools"], case["prices"], case["velocity"], case["sizes"])
    base = {"id": "es", "type": "expected_sales", "horizon_days": case["horizon"]}
    unset = allocations(index, [base])
    assert allocations(index, [base | {"objective": "units"}]) == unset
    assert allocations(index, [base | {"objective": "revenue"}]) == unset
    assert (
        compile_problem(index, parse_ruleset({"rules": [base]}), NORMAL).problem.unit_costs is None
    )
    for objective_ in OBJECTIVES:
        capped = revenue_rules(objective_, case["capacity"], case["horizon"])
        problem = compile_problem(index, parse_ruleset({"rules": capped}), NORMAL).problem
        coupled = (problem.feature_bits & ~FEATURE_BITS[Feature.UNIT_COSTS]) != 0
        priced = np.zeros(index.n_skus, dtype=bool)
        if problem.unit_costs is not None:
            priced[problem.cell_sku[problem.unit_costs.cell]] = True
        assert not np.any(priced & ~coupled)
        assert (problem.unit_costs is not None) == (Feature.UNIT_COSTS in problem.features)


@st.composite
def uncoupled(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]:
    """`ruled`'s cases without anything that couples SKUs (no capacity, no budget)."""
    data, rules, prices = draw(ruled())
    return data, [r for r in rules if r["type"] not in ("shop_capacity", "value_budget")], prices


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uncoupled())
def test_uncoupled_plans_are_the_plans_without_worths(
    case: tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]],
) -> None:
    """Where nothing couples SKUs (caps, floors, fixed, safety stock, pack sizes, a
    subset of shops), either objective's plan is the one compiled without any worths
    (what `objective: units` planned before worths reached the solver), unit for unit."""
    data, rules, prices = case
    raw = snapshot_data(**data)
    for row in raw["skus"]:
        row["price"] = prices[row["id"]]
    index = SnapshotIndex.build(parse_snapshot(raw))
    try:
        problem = compile_problem(index, parse_ruleset({"rules": rules}), NORMAL).problem
        got = allocations(index, rules)
    except ConflictError:  # only a fixed quantity the pool cannot hold
        assert any(r["type"] == "fixed" for r in rules)
        return
    assert problem.unit_costs is None
    with mock.patch("rules.compile.with_unit_costs", lambda problem, asked: problem):
        assert allocations(index, rules) == got


def test_an_unknown_objective_names_the_rule_and_field() -> None:
    with pytest.raises(InputError) as err:
        parse_ruleset(
            {
                "rules": [
                    {"id": "es", "type": "expected_sales", "horizon_days": 1, "objective": "profit"}
                ]
            }
        )
    assert "rules[0] (id es).objective" in str(err.value)
    assert "'units' or 'revenue'" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(
    mean=st.one_of(st.floats(0.0, 30.0), st.floats(30.0, 5000.0)),
    size=st.sampled_from([np.inf, 0.4, 5.0]),
    have=st.integers(0, 5),
    most=st.integers(0, 400),
    price=st.sampled_from([1.0, 999.0]),
)
def test_runs_hold_each_units_worth(
    mean: float, size: float, have: int, most: int, price: float
) -> None:
    """A cell's runs: positions 0 .. have + most, worth not rising, at most 1 + MAX_RUNS
    runs, and each run's worth x length is price x (E[min(D, end)] - E[min(D, start)])."""
    runs = worth_runs(
        np.array([7]),
        np.array([mean]),
        np.array([size]),
        np.array([have]),
        np.array([most]),
        np.array([price]),
    )
    end = have + most
    if end == 0:
        assert runs.cell.size == 0
        return
    assert runs.cell.tolist() == [7] and runs.indptr.tolist() == [0, runs.length.size]
    assert runs.length.sum() == end and np.all(runs.length > 0)
    assert runs.length.size <= 1 + MAX_RUNS
    assert np.all(np.diff(runs.value) <= 1e-9 * price)
    # A first run holds the units held and those that sell almost surely; then every
    # unit is its own run, or MAX_RUNS runs share them where there are more.
    law = stats.poisson(mean) if np.isinf(size) else stats.nbinom(size, size / (size + mean))
    sure = sum(1 for k in range(1, end + 1) if mean > 0 and law.sf(k - 1) > 1 - SURE)
    head = min(max(sure, have), end)
    band = runs.length[1:] if head else runs.length
    if head:
        assert runs.length[0] == head
    if end - head <= MAX_RUNS:
        assert np.all(band == 1)
    else:
        assert band.size == MAX_RUNS
    stops = np.cumsum(runs.length)
    sold = expected_sold(stops, np.full(stops.size, mean), np.full(stops.size, size))
    total = np.cumsum(runs.value * runs.length)
    np.testing.assert_allclose(total, price * sold, rtol=1e-9, atol=1e-9 * price)


def test_by_units_a_part_where_bundles_meet_a_capacity_keeps_its_targets() -> None:
    """By units, the SKUs of a part where a bundle meets a shop capacity (P is in it:
    the capacity ties it to the kit's components) get no unit costs, and relax and
    repair solves the part as for any share rule; by revenue the part is priced and
    goes to the MIP, as asked. Without the bundle, units prices the capacity's part."""
    raw = snapshot_data(
        pools={"S": 6, "T": 6, "K": 1, "P": 5},
        velocity={(sku, shop): 1.0 for sku in ("S", "T", "K", "P") for shop in ("A", "B")},
        components={"K": [{"sku": "S", "qty": 1}, {"sku": "T", "qty": 1}]},
        shops=(("A", 1), ("B", 2)),
    )
    index = SnapshotIndex.build(parse_snapshot(raw))
    for objective_, priced in (("units", False), ("revenue", True)):
        rules = [
            {"id": "es", "type": "expected_sales", "horizon_days": 1, "objective": objective_},
            {"id": "cap", "type": "shop_capacity", "quantities": {"A": 4}},
        ]
        problem = compile_problem(index, parse_ruleset({"rules": rules}), NORMAL).problem
        assert (problem.unit_costs is not None) == priced, objective_
    # Without the bundle the capacity part is priced by units too.
    plain = snapshot_data(
        pools={"S": 6, "T": 6, "P": 5},
        velocity={(sku, shop): 1.0 for sku in ("S", "T", "P") for shop in ("A", "B")},
        shops=(("A", 1), ("B", 2)),
    )
    index = SnapshotIndex.build(parse_snapshot(plain))
    rules = [
        {"id": "es", "type": "expected_sales", "horizon_days": 1},
        {"id": "cap", "type": "shop_capacity", "quantities": {"A": 4}},
    ]
    assert compile_problem(index, parse_ruleset({"rules": rules}), NORMAL).problem.unit_costs
