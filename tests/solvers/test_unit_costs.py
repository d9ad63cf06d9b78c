"""Cells priced unit by unit (`UnitCosts`, expected_sales' revenue objective): every
backend that declares the feature against the PuLP reference on random problems, the
objective against a unit-by-unit sum, and parts carrying their cells' runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import SolverError
from engine.planning.solve import candidates, solve
from solvers.closed import ClosedForm
from solvers.lp import MIP_GAP, Mip
from solvers.problem import (
    WORTH_RANGE,
    Costs,
    Feature,
    Problem,
    UnitCosts,
    cell_cost,
    cell_segments,
    objective,
    violations,
)
from solvers.reference import Reference
from solvers.registry import available_backends
from solvers.split import relaxable, whole
from tests.solvers.random_problems import build_problem
from tests.solvers.test_backends import assert_valid_plan, solve_or_refuse

pytestmark = pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")

PRICED = [b for b in available_backends() if Feature.UNIT_COSTS in b.features]
IDS = [b.name for b in PRICED]
COUPLED = frozenset({Feature.CAPACITY, Feature.GROUPS, Feature.BUDGETS, Feature.SHARED_CAPACITY})


@st.composite
def priced_problems(draw: st.DrawFn, allowed: frozenset[Feature] = COUPLED) -> Problem:
    """A random problem (tests/solvers/random_problems.py) with runs on some cells:
    1-4 runs of 1-3 units each, worth falling run by run, the most worth anywhere
    WORTH_RANGE."""
    problem = build_problem(lambda lo, hi: draw(st.integers(lo, hi)), allowed)
    cells = [c for c in range(problem.n_cells) if draw(st.integers(0, 2))]
    if not cells:
        return problem
    sizes = [draw(st.integers(1, 4)) for _ in cells]
    length = [draw(st.integers(1, 3)) for _ in range(sum(sizes))]
    value: list[float] = []
    for n in sizes:
        top = draw(st.integers(1, 1000))
        steps = sorted((draw(st.integers(0, top)) for _ in range(n)), reverse=True)
        value += [float(v) for v in steps]
    runs = UnitCosts.of_values(
        np.array(cells, dtype=np.int64),
        np.cumsum([0, *sizes]).astype(np.int64),
        np.array(length, dtype=np.int64),
        np.array(value),
    )
    runs.check(problem.n_cells)
    return whole(dataclasses.replace(problem, unit_costs=runs))


def unit_by_unit_cost(problem: Problem, x: np.ndarray, c: int) -> int:
    """Cell c's cost of x units, summed one unit at a time from the rules written in
    solvers/problem.py's docstring (not from its arrays' formulas)."""
    costs = Costs.for_problem(problem)
    u = problem.unit_costs
    worth: list[int] = []
    if u is not None and c in u.cell.tolist():
        i = u.cell.tolist().index(c)
        for r in range(u.indptr[i], u.indptr[i + 1]):
            worth += [int(u.worth[r])] * int(u.length[r])
    floor, target = int(problem.floor[c]), int(problem.target[c])
    rank = int(problem.cell_rank[c])
    total = 0
    for position in range(int(x[c])):
        if position < floor:
            unit = costs.floor
        elif u is not None and c in u.cell.tolist():
            w = worth[position] if position < len(worth) else 0
            unit = costs.over - (costs.over - costs.target) * w // WORTH_RANGE
        elif position < target:
            unit = costs.target
        else:
            unit = costs.over
        total += unit + rank
    return total


@settings(max_examples=80, deadline=None)
@given(problem=priced_problems(), data=st.data())
def test_cell_costs_are_the_units_costs(problem: Problem, data: st.DataObject) -> None:
    """The objective's cell part on any x within bounds is the unit-by-unit sum."""
    x = np.array(
        [
            data.draw(st.integers(int(lo), int(hi)))
            for lo, hi in zip(problem.lb, problem.ub, strict=True)
        ],
        dtype=np.int64,
    )
    want = sum(unit_by_unit_cost(problem, x, c) for c in range(problem.n_cells))
    assert cell_cost(problem, x) == want


@settings(max_examples=80, deadline=None)
@given(problem=priced_problems())
def test_segments_are_convex_and_hold_every_unit(problem: Problem) -> None:
    """Per cell, segment costs rise in position order and the rooms add up to ub - lb."""
    seg = cell_segments(problem)
    room = np.bincount(seg.cell, weights=seg.cap, minlength=problem.n_cells)
    np.testing.assert_array_equal(room, problem.ub - problem.lb)
    for c in range(problem.n_cells):
        open_ = (seg.cell == c) & (seg.cap > 0)
        costs = seg.cost[open_]  # listed floor, target, over, then the runs in order
        order = np.argsort(costs, kind="stable")
        assert np.all(np.diff(costs[order]) >= 0)


@pytest.mark.parametrize("backend", PRICED, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(problem=priced_problems())
def test_priced_backends_match_the_reference(backend: type, problem: Problem) -> None:
    if not backend.supports(problem):
        return
    solution = solve_or_refuse(backend, problem)
    if solution is None:
        return
    assert_valid_plan(problem, solution)
    reference = Reference().solve(problem)
    if problem.budgets is None and backend is not Mip:
        # Network rows: the LP optimum is whole, flow and the LP are exact.
        assert solution.objective == reference.objective
    else:  # MIP and CBC stop within the relative gap they agree on (the MIP's branch
        # and bound may stop there even on network rows: 1 rank unit in 12.6 million)
        gap = MIP_GAP * max(abs(reference.objective), 1)
        assert abs(solution.objective - reference.objective) <= 2 * gap


@settings(max_examples=40, deadline=None)
@given(problem=priced_problems(frozenset({Feature.CAPACITY})))
def test_the_planner_solves_priced_parts_exactly(problem: Problem) -> None:
    """Parts (solvers/split.py restrict) keep their cells' runs: the planner's plan,
    part by part, costs what the reference finds for the whole problem."""
    solved = solve(problem)
    assert violations(problem, solved.x, solved.shared) == []
    assert objective(problem, solved.x, solved.shared) == Reference().solve(problem).objective


def test_priced_parts_never_go_to_the_closed_form_or_relax_and_repair() -> None:
    problem = two_skus_one_shop()
    assert Feature.UNIT_COSTS in problem.features
    assert not ClosedForm.supports(problem)
    assert all(Feature.UNIT_COSTS in b.features for b in candidates(problem))
    bundled = dataclasses.replace(problem, features=problem.features | {Feature.BUNDLES})
    assert not relaxable(bundled)
    with pytest.raises(SolverError):
        ClosedForm().solve(problem)


def two_skus_one_shop(worth_a: float = 9.0, worth_b: float = 1.0) -> Problem:
    """SKUs A and B, 2 units each, on one shop of capacity 2; one run per cell."""
    base = Problem(
        sku_ids=["A", "B"],
        shop_ids=["S"],
        cell_sku=np.array([0, 1]),
        cell_shop=np.array([0, 0]),
        lb=np.zeros(2, dtype=np.int64),
        ub=np.array([2, 2]),
        floor=np.zeros(2, dtype=np.int64),
        target=np.array([2, 2]),
        pool=np.array([2, 2]),
        free_idle=np.zeros(2, dtype=np.int64),
        shop_rank=np.array([0]),
        shared=np.zeros(2, dtype=bool),
        in_shared=np.zeros(2, dtype=bool),
        shop_capacity=np.array([2]),
        price_cents=np.array([100, 100]),
    )
    runs = UnitCosts.of_values(
        np.array([0, 1]), np.array([0, 1, 2]), np.array([2, 2]), np.array([worth_a, worth_b])
    )
    return whole(dataclasses.replace(base, unit_costs=runs))


@pytest.mark.parametrize("backend", PRICED, ids=IDS)
@pytest.mark.parametrize(("worth_a", "worth_b", "x"), [(9.0, 1.0, [2, 0]), (1.0, 9.0, [0, 2])])
def test_the_worthier_units_take_the_capacity(
    backend: type, worth_a: float, worth_b: float, x: list[int]
) -> None:
    """Without worths, shop rank ties would decide; with them, the worthier SKU."""
    solution = backend().solve(two_skus_one_shop(worth_a, worth_b))
    assert solution.x.tolist() == x


def test_runs_round_to_one_scale_and_merge_equal_neighbours() -> None:
    runs = UnitCosts.of_values(
        np.array([3, 5]),
        np.array([0, 3, 4]),
        np.array([1, 2, 1, 4]),
        np.array([8.0, 8.0, 2.0, 4.0]),
    )
    assert runs.worth.tolist() == [WORTH_RANGE, WORTH_RANGE // 4, WORTH_RANGE // 2]
    assert runs.length.tolist() == [3, 1, 4]
    assert runs.indptr.tolist() == [0, 2, 3]
    assert runs.run_start.tolist() == [0, 3, 0]
    kept = runs.at(np.array([5, 0]))  # old cell 5 is the new cell 0
    assert kept is not None and kept.cell.tolist() == [0] and kept.length.tolist() == [4]
    assert runs.at(np.array([1, 2])) is None


@pytest.mark.parametrize(
    ("cell", "length", "worth", "message"),
    [
        ([1, 0], [1, 1], [1, 1], "ascending"),
        ([0, 1], [0, 1], [1, 1], "lengths"),
        ([0, 0 + 1], [1, 1], [-1, 1], "worths"),
    ],
)
def test_bad_runs_are_refused(
    cell: list[int], length: list[int], worth: list[int], message: str
) -> None:
    runs = UnitCosts(
        cell=np.array(cell),
        indptr=np.array([0, 1, 2]),
        length=np.array(length),
        worth=np.array(worth),
    )
    with pytest.raises(ValueError, match=message):
        runs.check(4)


def test_rising_worth_is_refused() -> None:
    runs = UnitCosts(
        cell=np.array([0]), indptr=np.array([0, 2]), length=np.array([1, 1]), worth=np.array([1, 2])
    )
    with pytest.raises(ValueError, match="rises"):
        runs.check(1)
