"""Every available backend against the PuLP reference, known answers and failures.

As in linopy's test_optimization.py, each test runs once per installed backend.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _pytest.mark.structures import ParameterSet
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import SolverError
from solvers.base import Backend
from solvers.closed import ClosedForm
from solvers.flow import MinCostFlow, shared_capacity_shop
from solvers.laminar import group_tree
from solvers.lp import Glop, Mip, build_model, repair, to_plan, trim_overshoot
from solvers.made import BundleSearch
from solvers.made import applies as applies_to_bundles
from solvers.problem import (
    Bundles,
    Feature,
    Problem,
    SegmentKind,
    Solution,
    objective,
    violations,
)
from solvers.reference import Reference
from solvers.registry import available_backends
from tests.solvers.random_problems import problems, seeded_problem

# PuLP 3.3 warns about its 4.0 API on every variable; the reference keeps the API
# that the PuLP versions pyproject allows (>= 2.8) all have.
pytestmark = pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")

BACKENDS = available_backends()
IDS = [b.name for b in BACKENDS]
# Where the LP optimum may be fractional, GLOP may refuse and leave the plan to MIP.
NOT_NETWORK = {Feature.SHARED_CAPACITY, Feature.GROUPS}


def assert_valid_plan(problem: Problem, solution: Solution) -> None:
    """The invariants every backend's plan keeps, in one place."""
    assert solution.x.dtype == np.int64 and solution.x.shape == (problem.n_cells,)
    assert solution.shared.dtype == np.int64 and solution.shared.shape == (problem.n_skus,)
    assert (solution.x >= 0).all() and (solution.shared >= 0).all()
    assert violations(problem, solution.x, solution.shared) == []
    assert solution.objective == objective(problem, solution.x, solution.shared)


def solve_or_refuse(backend: type[Backend], problem: Problem) -> Solution | None:
    """Solve; None only where GLOP may rightly refuse a fractional LP optimum, the flow
    a shared part that counts on two capacity shops or supply groups that cross (no
    flow expresses them), or the bundle search blocks of more than one bundle."""
    try:
        return backend().solve(problem)
    except SolverError as err:
        if backend is Glop and err.status == "not_integral":
            assert problem.features & NOT_NETWORK
            return None
        if backend is MinCostFlow and err.status == "unsupported":
            assert shared_capacity_shop(problem) is None or group_tree(problem) is None
            return None
        if backend is BundleSearch and err.status == "unsupported":
            assert not applies_to_bundles(problem)  # not one bundle per block
            return None
        raise


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_reference(backend: type[Backend], data: st.DataObject) -> None:
    problem = data.draw(problems(backend.features))
    solution = solve_or_refuse(backend, problem)
    if solution is None:
        return
    assert_valid_plan(problem, solution)
    assert solution.backend == backend.name
    reference = Reference().solve(problem)
    assert solution.objective == pytest.approx(reference.objective, rel=1e-6)
    again = backend().solve(problem)
    np.testing.assert_array_equal(again.x, solution.x)
    np.testing.assert_array_equal(again.shared, solution.shared)


@pytest.mark.parametrize("seed", range(20))
def test_seeded_problems_agree_across_backends(seed: int) -> None:
    problem = seeded_problem(seed)
    reference = Reference().solve(problem)
    for backend in BACKENDS:
        if backend.supports(problem):
            solution = solve_or_refuse(backend, problem)
            if solution is not None:
                assert_valid_plan(problem, solution)
                assert solution.objective == reference.objective, backend.name


def tiny(
    capacity: int = -1, lb: int = 1, pool: int = 10, features: frozenset[Feature] = frozenset()
) -> Problem:
    """One SKU on two shops; with 2 shops the cost unit is 4, so per unit: floor -16,
    target -8, over 4 (plus shop rank 0 or 1), free idle 0, penalised idle 12."""
    return Problem(
        sku_ids=["A"],
        shop_ids=["first", "second"],
        cell_sku=np.array([0, 0]),
        cell_shop=np.array([0, 1]),
        lb=np.array([lb, 0]),
        ub=np.array([6, 3]),
        floor=np.array([2, 1]),
        target=np.array([4, 2]),
        pool=np.array([pool]),
        free_idle=np.array([1]),
        shop_rank=np.array([0, 1]),
        shared=np.array([False]),
        in_shared=np.array([False, False]),
        shop_capacity=np.array([capacity, -1]),
        price_cents=np.array([100]),
        features=features,
    )


def bundle_problem() -> Problem:
    """Bundle B (no own stock, floor 2) made from component C (5 units, all penalised
    when idle). Cost unit 2: floor -8, an idle C 6, a bundle made 1. Two made:
    -16 + 2 + 3 * 6 = 4, against 5 * 6 = 30 with none."""
    return Problem(
        sku_ids=["B", "C"],
        shop_ids=["only"],
        cell_sku=np.array([0]),
        cell_shop=np.array([0]),
        lb=np.array([0]),
        ub=np.array([2]),
        floor=np.array([2]),
        target=np.array([2]),
        pool=np.array([0, 5]),
        free_idle=np.array([0, 0]),
        shop_rank=np.array([0]),
        shared=np.array([False, False]),
        in_shared=np.array([False]),
        shop_capacity=np.array([-1]),
        price_cents=np.array([100, 100]),
        bundles=Bundles(bundle=np.array([0]), component=np.array([1]), qty=np.array([1])),
        features=frozenset({Feature.BUNDLES}),
    )


CAPACITY = frozenset({Feature.CAPACITY})
KNOWN = [
    # Fill floors, then targets, then one free idle unit, then "over" beats penalised idle.
    pytest.param(tiny(), [6, 3], -57, id="separable"),
    # Only 4 fit the first shop: 3 units go idle, one free and two penalised.
    pytest.param(tiny(capacity=4, features=CAPACITY), [4, 3], -41, id="capacity"),
    pytest.param(bundle_problem(), [2], 4, id="bundle"),
]


def fitting(cases: list[ParameterSet]) -> list[ParameterSet]:
    """Every (backend, case) pair whose features the backend supports."""
    return [
        pytest.param(b, *case.values, id=f"{b.name}-{case.id}")
        for case in cases
        for b in BACKENDS
        if b.supports(case.values[0])  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("backend", "problem", "x", "value"), fitting(KNOWN))
def test_known_optimum(backend: type[Backend], problem: Problem, x: list[int], value: int) -> None:
    solution = backend().solve(problem)
    assert_valid_plan(problem, solution)
    assert solution.x.tolist() == x
    assert solution.objective == value


def test_closed_form_refuses_capacity_and_others_agree() -> None:
    problem = tiny(capacity=4, features=CAPACITY)
    with pytest.raises(SolverError) as err:
        ClosedForm().solve(problem)
    assert err.value.status == "unsupported"
    values = {b: b().solve(problem).objective for b in BACKENDS if b.supports(problem)}
    assert set(values) >= {MinCostFlow, Glop, Mip}
    assert set(values.values()) == {values[Reference]}


INFEASIBLE = [
    pytest.param(tiny(lb=5, pool=4), id="lower-bounds-above-pool"),
    pytest.param(tiny(capacity=3, lb=5, features=CAPACITY), id="lower-bounds-above-capacity"),
]


@pytest.mark.parametrize(("backend", "problem"), fitting(INFEASIBLE))
def test_infeasible_raises(backend: type[Backend], problem: Problem) -> None:
    with pytest.raises(SolverError) as err:
        backend().solve(problem)
    assert err.value.status == "infeasible"
    assert err.value.backend == backend.name


def odd_cycle() -> Problem:
    """Three shared SKUs, each listed on two of three shops holding one unit: the LP
    puts half a unit everywhere (1.5 shared units), whole units allow only one."""
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 0)]
    zeros = np.zeros(len(pairs), dtype=np.int64)
    return Problem(
        sku_ids=["A", "B", "C"],
        shop_ids=["s1", "s2", "s3"],
        cell_sku=np.array([i for i, _ in pairs]),
        cell_shop=np.array([j for _, j in pairs]),
        lb=zeros,
        ub=zeros,
        floor=zeros,
        target=zeros,
        pool=np.ones(3, dtype=np.int64),
        free_idle=np.ones(3, dtype=np.int64),
        shop_rank=np.arange(3),
        shared=np.ones(3, dtype=bool),
        in_shared=np.ones(len(pairs), dtype=bool),
        shop_capacity=np.ones(3, dtype=np.int64),
        price_cents=np.ones(3, dtype=np.int64),
        features=frozenset({Feature.CAPACITY, Feature.SHARED_CAPACITY}),
    )


def test_glop_refuses_a_fractional_optimum_that_mip_solves() -> None:
    problem = odd_cycle()
    with pytest.raises(SolverError) as err:
        Glop().solve(problem)
    assert err.value.status == "not_integral"
    solution = Mip().solve(problem)
    assert_valid_plan(problem, solution)
    assert solution.shared.sum() == 1
    assert solution.objective == Reference().solve(problem).objective == -5


def test_repair_fills_cheapest_columns_within_rows() -> None:
    # From nothing placed, repair is the greedy: here it finds the known optimum.
    problem = tiny(capacity=4, features=CAPACITY)
    model = build_model(problem)
    whole = np.zeros(model.col_ub.size, dtype=np.int64)
    assert repair(model, whole) == 9
    x, shared = to_plan(problem, model, whole)
    assert x.tolist() == [4, 3]
    assert objective(problem, x, shared) == -41


@settings(max_examples=80, deadline=None)
@given(
    problems(frozenset({Feature.CAPACITY, Feature.BUDGETS, Feature.SHARED_CAPACITY})),
    st.integers(0, 2**16),
)
def test_trim_brings_rows_within_limits_and_keeps_pools(problem: Problem, seed: int) -> None:
    """Columns whose rows overshoot (as a MIP's can once rounded, within its feasibility
    tolerance) are trimmed to idle in whole units: rows within limits, pools intact."""
    model = build_model(problem)
    n = model.n_pool_rows
    whole = np.zeros(model.col_ub.size, dtype=np.int64)
    try:
        repair(model, whole)  # a plan that fills every pool within every row
    except SolverError:
        return  # the rows leave no room for some SKU's units: nothing to trim
    load = model.matrix[n:] @ whole
    # Limits lowered below the plan's load: the overshoot a tolerance would leave.
    cut = np.random.default_rng(seed).integers(0, 40, load.size)
    lowered = model.row_ub.copy()
    lowered[n:] = np.maximum(np.minimum(lowered[n:], load) - cut, 0)
    tight = dataclasses.replace(model, row_ub=lowered)
    idle = model.col_kind == SegmentKind.IDLE_PENALISED
    idle_before = int(whole[idle].sum())
    moved = trim_overshoot(tight, whole)
    assert (whole >= 0).all()
    assert np.array_equal(model.matrix[:n] @ whole, model.row_ub[:n])
    assert (model.matrix[n:] @ whole <= lowered[n:]).all()
    assert moved == int(whole[idle].sum()) - idle_before
    assert (moved > 0) == bool((load > lowered[n:]).any())
