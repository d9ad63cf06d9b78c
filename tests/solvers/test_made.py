"""Bundles by a search over the number made (solvers/made.py): the reference's optimum
on random problems of bundles alone, and at any shop prices the MIP's priced optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import made, priced
from solvers.greedy import shop_use
from solvers.lp import Mip
from solvers.problem import Feature, Problem, objective, violations
from solvers.reference import Reference
from tests.solvers.random_problems import problems, seeded_problem

BUNDLED = frozenset({Feature.BUNDLES})


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
    problem = data.draw(problems(BUNDLED))
    if not made.applies(problem):
        return
    price = np.array([data.draw(st.integers(0, 90)) for _ in range(problem.n_shops)])
    x, shared = made.solve_made(problem, price)
    searched = objective(problem, x, shared) + int(price @ shop_use(problem, x, shared))
    # The MIP road of priced._groups_at (capped=True skips the search), its gap taken off.
    _, _, mip_lower = priced._groups_at(problem, price, "scip", 30.0, capped=True)
    assert mip_lower <= searched <= mip_lower + 2 + abs(mip_lower) * 1e-6
