"""The MIP by blocks (solvers/lp.py `solve_in_blocks`): the LP's values where they are
whole, one MIP over the blocks it left fractional - the same optimum as one MIP of the
whole model, on random problems with bundles."""

from __future__ import annotations

import numpy as np

from solvers.lp import _mip_solver, _solve, build_model, solve_in_blocks, to_plan
from solvers.problem import Feature, objective, violations
from solvers.split import sku_blocks
from tests.solvers.random_problems import seeded_problem

BLOCKED = frozenset({Feature.BUNDLES, Feature.GROUPS})


def test_blocks_give_the_whole_mips_optimum() -> None:
    solver = _mip_solver()
    assert solver is not None
    fractional = compared = 0
    for seed in range(300):
        problem = seeded_problem(seed, BLOCKED)
        if Feature.BUNDLES not in problem.features:
            continue
        model = build_model(problem)
        lp = _solve("test", model, "glop", False, 30.0)
        fractional += bool(np.any(np.abs(lp - np.rint(lp)) > 1e-6))
        by_blocks = np.rint(solve_in_blocks("test", model, sku_blocks(problem), solver, 30.0))
        whole = np.rint(_solve("test", model, solver, True, 30.0))
        x, shared = to_plan(problem, model, by_blocks.astype(np.int64))
        assert violations(problem, x, shared) == []
        expected = objective(problem, *to_plan(problem, model, whole.astype(np.int64)))
        assert objective(problem, x, shared) == expected
        compared += 1
    assert compared >= 50 and fractional >= 5  # both paths taken


def test_a_row_across_blocks_is_one_mip() -> None:
    problem = next(
        p
        for p in map(lambda s: seeded_problem(s), range(500))
        if Feature.BUNDLES in p.features and Feature.CAPACITY in p.features
    )
    model = build_model(problem)
    solver = _mip_solver()
    assert solver is not None
    got = solve_in_blocks("test", model, np.arange(problem.n_skus), solver, 30.0)
    x, shared = to_plan(problem, model, np.rint(got).astype(np.int64))
    assert violations(problem, x, shared) == []
