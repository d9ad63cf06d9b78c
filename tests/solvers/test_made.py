"""Bundles by a search over the number made (solvers/made.py): the reference's optimum
on random problems of bundles alone and of bundles with nested supply groups, and at
any shop prices the MIP's priced optimum. The greedy under nested supply groups
(solvers/greedy.py with solvers/laminar.py) alone: the reference's optimum too."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import made, priced
from solvers.errors import SolverError
from solvers.greedy import Greedy, shop_use
from solvers.laminar import crossing_skus, group_tree
from solvers.lp import Mip
from solvers.problem import Feature, Groups, Problem, objective, violations
from solvers.reference import Reference
from tests.solvers.random_problems import (
    nested_problems,
    problems,
    seeded_nested_problem,
    seeded_problem,
)

BUNDLED = frozenset({Feature.BUNDLES})
SCOPED = frozenset({Feature.BUNDLES, Feature.GROUPS})
GROUPED = frozenset({Feature.GROUPS})


@settings(max_examples=150, deadline=None)
@given(problem=problems(BUNDLED))
def test_search_over_units_made_finds_the_optimum(problem: Problem) -> None:
    if not made.applies(problem):
        return
    x, shared = made.solve_made(problem)
    assert violations(problem, x, shared) == []
    assert objective(problem, x, shared) == Reference().solve(problem).objective


def test_most_bundle_problems_take_the_search() -> None:
    taken = 0
    for seed in range(200):
        problem = seeded_problem(seed, BUNDLED)
        if Feature.BUNDLES in problem.features and made.BundleSearch.supports(problem):
            taken += 1
            solution = made.BundleSearch().solve(problem)
            assert solution.objective == Reference().solve(problem).objective
            assert solution.objective == Mip().solve(problem).objective
    assert taken >= 40


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_priced_search_matches_the_priced_mip(data: st.DataObject) -> None:
    problem = data.draw(st.one_of(problems(BUNDLED), nested_problems(BUNDLED)))
    if not made.applies(problem):
        return
    price = np.array([data.draw(st.integers(0, 90)) for _ in range(problem.n_shops)])
    x, shared = made.solve_made(problem, price)
    searched = objective(problem, x, shared) + int(price @ shop_use(problem, x, shared))
    # The MIP road of priced._groups_at (capped=True skips the search), its gap taken off.
    _, _, mip_lower = priced._groups_at(problem, price, "scip", 30.0, capped=True)
    assert mip_lower <= searched <= mip_lower + 2 + abs(mip_lower) * 1e-6


@settings(max_examples=200, deadline=None)
@given(problem=nested_problems(BUNDLED))
def test_search_with_nested_supply_groups_finds_the_optimum(problem: Problem) -> None:
    if not made.applies(problem):
        return
    try:
        x, shared = made.solve_made(problem)
    except SolverError as err:  # lower bounds beyond a group: the MIP says why
        assert err.status == "unsupported"
        return
    assert violations(problem, x, shared) == []
    assert objective(problem, x, shared) == Reference().solve(problem).objective


def test_bundles_with_nested_supply_groups_take_the_search() -> None:
    """The search takes bundle parts with supply groups (warehouse scopes) where the
    rows nest, and leaves the rest to the MIP; both agree with the reference."""
    taken = crossing = nested = counting_shared = 0
    for seed in range(300):
        problem = seeded_nested_problem(seed, BUNDLED)
        if problem.features != SCOPED:
            continue
        assert not crossing_skus(problem).any()
        if made.BundleSearch.supports(problem):
            taken += 1
            tree = group_tree(problem)
            assert tree is not None and problem.groups is not None
            nested += bool(np.any(tree.parent >= 0))
            counting_shared += bool(problem.groups.with_shared.any())
            solution = made.BundleSearch().solve(problem)
            assert solution.objective == Reference().solve(problem).objective
            assert solution.objective == Mip().solve(problem).objective
            crossed = with_crossing_row(problem)
            if crossed is not None:
                crossing += 1
                assert not made.BundleSearch.supports(crossed)
    assert taken >= 30 and crossing >= 5 and nested >= 5 and counting_shared >= 5


def with_crossing_row(problem: Problem) -> Problem | None:
    """The problem with one more supply-group row that crosses a row of two or more
    cells (it shares one of them and holds a cell outside), or None where none can."""
    g = problem.groups
    assert g is not None
    for k in range(g.cap.size):
        row = g.cells[g.indptr[k] : g.indptr[k + 1]]
        outside = np.setdiff1d(np.flatnonzero(problem.cell_sku == g.sku[k]), row)
        if row.size >= 2 and outside.size:
            more = Groups(
                sku=np.append(g.sku, g.sku[k]),
                cap=np.append(g.cap, g.cap[k]),
                indptr=np.append(g.indptr, g.indptr[-1] + 2),
                cells=np.concatenate([g.cells, [row[0], outside[0]]]),
                with_shared=np.append(g.with_shared, False),
            )
            return replace(problem, groups=more)
    return None


@settings(max_examples=200, deadline=None)
@given(problem=st.one_of(problems(GROUPED), nested_problems(frozenset())))
def test_greedy_under_nested_supply_groups_is_the_optimum(problem: Problem) -> None:
    if problem.groups is None or crossing_skus(problem).any():
        return
    greedy = Greedy(problem)
    assert greedy.caps is not None
    if np.any(greedy.caps.room < 0):  # no plan: lower bounds beyond a group's limit
        return
    x, shared = greedy.at(np.zeros(problem.n_shops, dtype=np.int64))
    assert violations(problem, x, shared) == []
    assert objective(problem, x, shared) == Reference().solve(problem).objective


def test_greedy_refuses_crossing_supply_groups() -> None:
    crossed = next(
        p
        for p in (seeded_problem(seed, GROUPED) for seed in range(200))
        if p.groups is not None and crossing_skus(p).any()
    )
    with pytest.raises(ValueError, match="cross"):
        Greedy(crossed)


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_search_asked_again_finds_what_a_new_search_finds(data: st.DataObject) -> None:
    """Relax and repair asks one search at several prices: starting from the last
    answer, it gives each price the plan a search made afresh gives."""
    problem = data.draw(st.one_of(problems(BUNDLED), nested_problems(BUNDLED)))
    if not made.applies(problem):
        return
    try:
        search = made.MadeSearch(problem)
    except SolverError:
        return
    for _ in range(4):
        price = np.array([data.draw(st.integers(0, 90)) for _ in range(problem.n_shops)])
        again = search.plan(price)
        fresh = made.MadeSearch(problem).plan(price)
        assert np.array_equal(again[0], fresh[0]) and np.array_equal(again[1], fresh[1])
