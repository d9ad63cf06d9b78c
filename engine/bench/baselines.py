"""What a user would write instead of omnistock, run on the same compiled problem:

- pulp:  a straightforward PuLP model solved by CBC (the reference backend);
- glop:  the same LP built with OR-Tools GLOP from scipy sparse matrices;
- highs: the same model passed to HiGHS through highspy (integer where the problem
         has side constraints, whose LP relaxation is not the problem);
- numpy: one plain numpy pass over the instance's arrays (a velocity-proportional
         split of the sellable pool): the floor no planner can beat.

Baselines get the compiled problem for free; omnistock's time includes compiling it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.core.errors import SolverError
from engine.core.index import SnapshotIndex
from solvers.lp import MIP_GAP, WHOLE_TOL, Glop, build_model, to_plan
from solvers.problem import Feature, Problem, objective, violations
from solvers.reference import Reference

BASELINES = ("pulp", "glop", "highs")
SIDE = frozenset({Feature.BUNDLES, Feature.BUDGETS})


def applies(name: str, problem: Problem) -> str | None:
    """Why a baseline cannot solve the problem exactly, or None when it can."""
    if name == "glop" and problem.features & SIDE:
        return "LP only: its relaxation is not the problem (bundles, budgets)"
    if name == "highs":
        try:
            import highspy  # noqa: F401
        except ImportError:
            return "highspy is not installed"
    return None


Plan = tuple[np.ndarray, np.ndarray]  # x per cell, shared part per SKU


def run_baseline(name: str, problem: Problem, time_limit_s: float) -> Plan:
    """Solve with the baseline: its plan, as `omnistock` gets it from the planner."""
    solve: dict[str, Callable[[Problem, float], Plan]] = {
        "pulp": _pulp,
        "glop": _glop,
        "highs": _highs,
    }
    return solve[name](problem, time_limit_s)


def plan_objective(name: str, problem: Problem, plan: Plan) -> int:
    """The objective of a baseline's plan, checked feasible first."""
    x, shared = plan
    broken = violations(problem, x, shared)
    if broken:
        raise SolverError(name, "infeasible_plan", broken[0])
    return objective(problem, x, shared)


def _pulp(problem: Problem, time_limit_s: float) -> Plan:
    solution = Reference().solve(problem, time_limit_s)
    return solution.x, solution.shared


def _glop(problem: Problem, time_limit_s: float) -> Plan:
    solution = Glop().solve(problem, time_limit_s)
    return solution.x, solution.shared


def _highs(problem: Problem, time_limit_s: float) -> Plan:
    import highspy

    model = build_model(problem)
    matrix = model.matrix.tocsr()
    lp = highspy.HighsLp()
    lp.num_col_ = int(model.col_ub.size)
    lp.num_row_ = int(matrix.shape[0])
    lp.col_cost_ = model.col_cost.astype(float)
    lp.col_lower_ = np.zeros(model.col_ub.size)
    lp.col_upper_ = model.col_ub.astype(float)
    lp.row_lower_ = model.row_lb.astype(float)
    lp.row_upper_ = model.row_ub.astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    if problem.features & SIDE:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_col_
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.setOptionValue("mip_rel_gap", MIP_GAP)
    highs.passModel(lp)
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError("highs", highs.modelStatusToString(status).lower(), "")
    values = np.asarray(highs.getSolution().col_value, dtype=float)
    whole = np.rint(values)
    if np.max(np.abs(values - whole), initial=0.0) > WHOLE_TOL:
        raise SolverError("highs", "fractional", "the LP optimum is not whole")
    return to_plan(problem, model, whole.astype(np.int64))


def numpy_pass(index: SnapshotIndex) -> int:
    """Sellable pool per SKU, split over its shops in proportion to velocity, floored."""
    sellable_wh = np.array([kind == "sellable" for kind in index.wh_kind])
    stock = index.stock
    free = stock["on_hand"] - stock["locked"] - stock["reserved"] - stock["defective"]
    pool = np.maximum(free, 0)[:, sellable_wh].sum(axis=1)
    total = np.bincount(index.cell_sku, weights=index.velocity, minlength=index.n_skus)
    share = index.velocity / np.maximum(total, 1e-12)[index.cell_sku]
    split = np.floor(pool[index.cell_sku] * share)
    return int(split.sum())
