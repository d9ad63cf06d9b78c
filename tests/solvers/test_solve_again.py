"""The second pass re-solves only the components a post rule touched; the plan it
gives is optimal for the changed problem, as a full solve of it is."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.planning.solve import solve, solve_again
from solvers.problem import objective, violations
from solvers.split import components
from tests.solvers.random_problems import problems


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_solve_again_matches_a_full_solve(data: st.DataObject) -> None:
    problem = data.draw(problems())
    first = solve(problem)
    # Post rules close cells (delisting) or pin them at a rounded value (pack sizes).
    pick = np.array(
        data.draw(st.lists(st.booleans(), min_size=problem.n_cells, max_size=problem.n_cells)),
        dtype=bool,
    )
    close = pick & (problem.lb == 0) & data.draw(st.booleans())
    pinned = np.minimum(first.x, problem.ub)
    lb = np.where(pick & ~close, np.maximum(problem.lb, pinned - pinned % 2), problem.lb)
    ub = np.where(close, 0, problem.ub)
    changed = (lb != problem.lb) | (ub != problem.ub)
    second = replace(problem, lb=lb, ub=ub)
    again = solve_again(second, first, changed)
    full = solve(second)
    assert violations(second, again.x, again.shared) == []
    assert objective(second, again.x, again.shared) == objective(second, full.x, full.shared)
    # What no changed cell's component holds keeps the first plan.
    label = components(problem)
    untouched = ~np.isin(label, label[problem.cell_sku[changed]])
    cells = untouched[problem.cell_sku]
    np.testing.assert_array_equal(again.x[cells], first.x[cells])
    np.testing.assert_array_equal(again.shared[untouched], first.shared[untouched])
