"""The shelf ranking with category limits, as an OR-Tools model: one 0/1 column per
(candidate, free slot) that the rules allow, one row per slot (exactly one product),
per candidate (at most one slot) and per category window (at most its room).

Two exact shortcuts keep 2,000 products x 200 slots fast:
- cells no optimum needs are left out (`kept_cells`);
- the LP relaxation (GLOP) is solved first: the assignment polytope with a few count
  rows is usually integral, and an integral LP optimum is the MIP optimum. Only a
  fractional one goes on to SCIP (CP-SAT where SCIP is missing).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python.model_builder_helper import (
    ModelBuilderHelper,
    ModelSolverHelper,
    SolveStatus,
)

from engine.core.errors import SolverError
from engine.shelf.backends import Ranked, ShelfSolver, no_solution
from engine.shelf.problem import F64, I64, ShelfProblem

WHOLE_TOL = 1e-6


def kept_cells(problem: ShelfProblem) -> tuple[I64, I64]:
    """(candidate, free slot) cells that some optimum uses.

    At slot s, two candidates are interchangeable for every row when neither is of a
    category limited at s, or both are of the same one. Were a candidate that is not
    among the m best of its group at s placed there (m = the number of free slots), one
    of those m would be unplaced, and swapping it in keeps every row and loses nothing.
    """
    m = problem.free_slots.size
    limited = np.zeros((len(problem.categories), m), dtype=bool)
    for window in problem.windows:
        limited[window.category, window.slots] = True
    cat = problem.category[problem.candidates]
    rows, cols = [], []
    for s in range(m):
        ok = np.flatnonzero(problem.allowed[:, s])
        group = np.where(limited[cat[ok], s], cat[ok], -1)
        order = np.lexsort((ok, -problem.value[ok, s], group))
        first = np.searchsorted(group[order], group[order], side="left")
        best = order[np.arange(order.size) - first < m]
        rows.append(ok[best])
        cols.append(np.full(best.size, s, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(cols)


def _matrix(problem: ShelfProblem, rows: I64, cols: I64) -> tuple[Any, F64, F64]:
    n, m = problem.candidates.size, problem.free_slots.size
    column = np.arange(rows.size)
    parts = [(cols, column), (m + rows, column)]
    lb, ub = [1.0] * m + [0.0] * n, [1.0] * m + [1.0] * n
    cat = problem.category[problem.candidates]
    for window in problem.windows:
        hit = np.flatnonzero((cat[rows] == window.category) & window.slots[cols])
        parts.append((np.full(hit.size, len(lb)), hit))
        lb.append(0.0)
        ub.append(float(window.capacity))
    r = np.concatenate([p[0] for p in parts])
    c = np.concatenate([p[1] for p in parts])
    matrix = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(len(lb), rows.size))
    return matrix, np.array(lb), np.array(ub)


def _solve(
    problem: ShelfProblem, rows: I64, cols: I64, solver: str, time_limit_s: float
) -> F64 | None:
    """Column values at the optimum; None when no assignment satisfies every row."""
    matrix, lb, ub = _matrix(problem, rows, cols)
    # Typed as Any: OR-Tools' stubs declare ndarray[float64, ...], which no array matches.
    model: Any = ModelBuilderHelper()
    size = rows.size
    model.fill_model_from_sparse_data(
        np.zeros(size), np.ones(size), -problem.value[rows, cols], lb, ub, matrix
    )
    if solver != "glop":
        for j in range(size):
            model.set_var_integrality(j, True)
    run = ModelSolverHelper(solver)
    run.set_time_limit_in_seconds(time_limit_s)
    started = time.monotonic()
    run.solve(model)
    spent_s = time.monotonic() - started  # the helper's own wall_time() can say 0
    status = run.status()
    if status == SolveStatus.OPTIMAL:
        return np.asarray(run.variable_values(), dtype=float)
    if status == SolveStatus.INFEASIBLE:
        return None
    # At the limit a solver may have a solution it has not proven (FEASIBLE) or none.
    if status == SolveStatus.FEASIBLE or (
        status == SolveStatus.NOT_SOLVED and spent_s >= 0.99 * time_limit_s
    ):
        raise SolverError("mip", "time_limit", f"no proven optimum within {time_limit_s:g} s")
    raise SolverError("mip", status.name.lower(), str(run.status_string()))


def _integer_solver() -> str:
    for name in ("scip", "sat"):
        if ModelSolverHelper(name).solver_is_supported():
            return name
    raise SolverError("mip", "unavailable", "OR-Tools has neither SCIP nor CP-SAT")


def mip_ranking(problem: ShelfProblem, time_limit_s: float = 60.0, lp_first: bool = True) -> Ranked:
    if problem.free_slots.size == 0:  # pins fill the shelf
        return Ranked(np.zeros(0, dtype=np.int64), ShelfSolver.MIP)
    deadline = time.monotonic() + time_limit_s  # the LP and the MIP share the limit
    rows, cols = kept_cells(problem)
    notes = [f"{rows.size:,} of {problem.allowed.size:,} cells kept"]
    x = _solve(problem, rows, cols, "glop", time_limit_s) if lp_first else None
    whole = x is not None and bool(np.all(np.minimum(x, 1.0 - x) <= WHOLE_TOL))
    if x is not None and whole:
        notes.append("LP relaxation integral: proven optimal")
    elif x is not None or not lp_first:
        solver = _integer_solver()
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise SolverError("mip", "time_limit", f"no proven optimum within {time_limit_s:g} s")
        x = _solve(problem, rows, cols, solver, left_s)
        notes.append(f"branch and bound ({solver})")
    if x is None:
        raise no_solution(problem)
    placed = np.empty(problem.free_slots.size, dtype=np.int64)
    chosen = x > 0.5
    placed[cols[chosen]] = rows[chosen]
    return Ranked(placed, ShelfSolver.MIP, notes)
