"""Relax and repair: parts where bundles meet a shop capacity or a value budget.

Bundles need integer variables (a made bundle takes `qty` units of each component), and
a shop's capacity row ties every SKU listed on the shop into the same part. Solved as
one integer program, one brand's bundles and its capacity shop make a MIP of tens of
thousands of SKUs. But the capacity row only ever prices the shop: given how much of
each row a bundle group may use, the groups (a bundle and its components, tied by
nothing else) and the single SKUs are independent again. So:

1. the LP relaxation of the whole part (GLOP) gives the bound and each group's use of
   every coupling row;
2. each bundle group gets the whole units of that use (the floor) as a row of its own,
   and the groups are solved together as one block-diagonal MIP, small;
3. the single SKUs get what the groups left of each row and are solved exactly by the
   fastest backend that fits them (flow, GLOP with whole-unit repair);
4. the plan's objective is compared with the LP bound: the relative gap is proven, and
   is stated with the part. A gap above `MAX_GAP` is refused, and the part goes to the
   MIP as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from solvers import priced
from solvers.errors import SolverError
from solvers.lp import (
    WHOLE_TOL,
    MatrixModel,
    _integer_bound,
    _mip_solver,
    _solve,
    build_model,
    column_arrays,
    solve_in_blocks,
    spanning_rows,
    to_plan,
    trim_overshoot,
)
from solvers.problem import (
    I64,
    Bool,
    Budgets,
    Problem,
    Solution,
    cell_cost,
    objective,
    per_shop,
    shared_load,
    stock_value,
    violations,
)
from solvers.split import relaxable, restrict, sku_blocks

NAME = "relax"
MAX_GAP = 1e-4  # the largest relative gap a relaxed part may have; else the exact MIP

# Solves a part without bundles exactly (the planner's backend chain).
ExactSolve = Callable[[Problem, float], Solution]


@dataclass(frozen=True)
class Relaxed:
    solution: Solution
    bound: int  # a lower bound on the objective (whole: costs are whole)
    gap: float
    price: I64 | None = None  # per shop, where shop prices gave the bound


applies = relaxable  # where relax and repair applies (defined beside the partition)


def bundle_groups(problem: Problem) -> I64:
    """Per SKU, its bundle group (a bundle with its components, transitively), or -1
    for a SKU in no bundle."""
    assert problem.bundles is not None
    b = problem.bundles
    n = problem.n_skus
    label = sku_blocks(problem)
    in_bundle = np.zeros(n, dtype=bool)
    in_bundle[b.bundle] = True
    in_bundle[b.component] = True
    # Renumbered 0.. over the SKUs in bundles only.
    _, group = np.unique(label[in_bundle], return_inverse=True)
    out = np.full(n, -1, dtype=np.int64)
    out[in_bundle] = group
    return out


def solve_relaxed(
    problem: Problem,
    exact: ExactSolve,
    time_limit_s: float,
    max_gap: float = MAX_GAP,
    roads: tuple[str, ...] = ("prices", "lp"),
    price_hint: I64 | None = None,
) -> Relaxed:
    """The part's plan by relax and repair, with its proven gap; SolverError when every
    road fails or leaves a gap above `max_gap` (the caller then solves the MIP).

    Two roads give the bundle groups' plan and the bound: one price per capacity shop
    (solvers/priced.py: fast, where the coupling rows are capacities), else the LP of
    the whole part. Either way the single SKUs then share what the groups left."""
    group = bundle_groups(problem)
    grouped = group >= 0
    refused: list[str] = []
    for road in roads:
        if road == "prices" and not priced.applies(problem, grouped):
            continue
        try:
            price = None
            if road == "prices":
                found = priced.price_groups(problem, grouped, time_limit_s, price_hint)
                x, shared, bound, price = found.x, found.shared, found.bound, found.price
            else:
                x, shared, bound = _lp_road(problem, group, time_limit_s)
            done = _certified(problem, exact, x, shared, bound, group, road, max_gap, time_limit_s)
            return replace(done, price=price)
        except SolverError as err:
            # Even "infeasible" is a refusal here: a road's split of a row can starve
            # the singles of a feasible part; the whole MIP gives the final word.
            refused.append(f"{road}: {err}")
    raise SolverError(NAME, "refused", "; ".join(refused) or "no road applies")


def _lp_road(problem: Problem, group: I64, time_limit_s: float) -> tuple[I64, I64, int]:
    """The groups' plan at the whole units of their LP use of each coupling row, and
    the LP bound."""
    solver = _mip_solver()
    if solver is None:
        raise SolverError(NAME, "unavailable", "OR-Tools has neither SCIP nor CP-SAT")
    model = build_model(problem)
    lp = _solve(NAME, model, "glop", False, time_limit_s)
    bound = _integer_bound(float(model.col_cost @ lp)) + cell_cost(problem, problem.lb)
    grouped = group >= 0
    x = problem.lb.copy()
    shared = np.zeros(problem.n_skus, dtype=np.int64)
    if grouped.any():
        x_b, shared_b = _solve_groups(problem, model, lp, group, solver, time_limit_s)
        mine = grouped[problem.cell_sku]
        x[mine] = x_b[mine]
        shared[grouped] = shared_b[grouped]
    return x, shared, bound


def _certified(
    problem: Problem,
    exact: ExactSolve,
    x: I64,
    shared: I64,
    bound: int,
    group: I64,
    road: str,
    max_gap: float,
    time_limit_s: float,
) -> Relaxed:
    """The single SKUs solved exactly in what the groups' plan left; the whole checked
    against every hard row and its bound."""
    grouped = group >= 0
    singles = ~grouped
    x, shared = x.copy(), shared.copy()
    if singles.any():
        left = _what_groups_left(problem, x, shared, grouped)
        sub, sku_idx, cell_idx = restrict(left, singles)
        solved = exact(sub, time_limit_s)
        x[cell_idx] = solved.x
        shared[sku_idx] = solved.shared
    broken = violations(problem, x, shared)
    if broken:
        raise SolverError(NAME, "repair_failed", broken[0])
    value = objective(problem, x, shared)
    gap = (value - bound) / max(abs(bound), 1)
    if value < bound:  # a bound above a plan: a step was not solved to optimality
        raise SolverError(NAME, "bound", f"plan {value} below its bound {bound}")
    if gap > max_gap:
        raise SolverError(NAME, "gap", f"gap {gap:.2e} above {max_gap:g}")
    how = "shop prices" if road == "prices" else "LP"
    notes = (
        f"bundles and shop rows by relax and repair ({how}): {int(grouped.sum())} SKU(s) "
        f"in {int(group.max()) + 1 if grouped.any() else 0} bundle group(s), "
        f"{int(singles.sum())} single; bound {bound}, proven gap {gap:.2e}",
    )
    return Relaxed(Solution(x, shared, NAME, value, notes=notes), bound, gap)


def _solve_groups(
    problem: Problem,
    model: MatrixModel,
    lp: np.ndarray,
    group: I64,
    solver: str,
    time_limit_s: float,
) -> tuple[I64, I64]:
    """The bundle groups' plan: one MIP over their columns, every coupling row split
    into one row per group at the whole units of the group's LP use of it."""
    n_pool = model.n_pool_rows
    col_group = group[model.col_sku]
    keep_col = col_group >= 0
    cols = np.flatnonzero(keep_col)
    pool_rows = np.flatnonzero(group >= 0)

    ineq = model.matrix[n_pool:].tocsr()
    coo = ineq.tocoo()
    entry_group = col_group[coo.col]
    # A row is coupling when its columns belong to more than one group or single.
    coupling = spanning_rows(ineq, np.where(col_group >= 0, col_group, -1 - model.col_sku))

    on_groups = entry_group >= 0
    r, c, v, g = coo.row[on_groups], coo.col[on_groups], coo.data[on_groups], entry_group[on_groups]
    split = coupling[r]
    # Rows kept whole (their columns are one group's): as they are.
    whole_rows = np.unique(r[~split])
    # Coupling rows: one row per (row, group) pair, at the group's whole LP use.
    pair = r[split] * (int(group.max()) + 1) + g[split]
    pairs, pair_idx = np.unique(pair, return_inverse=True)
    use = np.bincount(pair_idx, weights=v[split] * lp[c[split]], minlength=pairs.size)
    pair_limit = np.floor(use + WHOLE_TOL)

    col_new = np.full(model.col_ub.size, -1, dtype=np.int64)
    col_new[cols] = np.arange(cols.size)
    whole_new = np.full(ineq.shape[0], -1, dtype=np.int64)
    whole_new[whole_rows] = np.arange(whole_rows.size)
    keep_whole = ~split
    rows_new = np.concatenate([whole_new[r[keep_whole]], whole_rows.size + pair_idx])
    cols_new = np.concatenate([col_new[c[keep_whole]], col_new[c[split]]])
    vals_new = np.concatenate([v[keep_whole], v[split]])
    n_ineq = whole_rows.size + pairs.size
    ineq_new = sp.csr_matrix((vals_new, (rows_new, cols_new)), shape=(n_ineq, cols.size))
    pool_new = model.matrix[:n_pool][pool_rows][:, cols]

    sub = MatrixModel(
        **column_arrays(model, cols),
        row_lb=np.concatenate([model.row_lb[pool_rows], np.full(n_ineq, -np.inf)]),
        row_ub=np.concatenate(
            [model.row_ub[pool_rows], model.row_ub[n_pool + whole_rows], pair_limit]
        ),
        matrix=sp.vstack([pool_new, ineq_new]).tocsr(),
        n_pool_rows=pool_rows.size,
    )
    values = solve_in_blocks(NAME, sub, sku_blocks(problem), solver, time_limit_s)
    whole = np.rint(values).astype(np.int64)
    trim_overshoot(sub, whole)
    full = np.zeros(model.col_ub.size, dtype=np.int64)
    full[cols] = whole
    return to_plan(problem, model, full)


def _what_groups_left(problem: Problem, x: I64, shared: I64, grouped: Bool) -> Problem:
    """The problem with every shop capacity and value budget reduced by what the
    bundle groups' plan takes of it, for the single SKUs to share."""
    mine = grouped[problem.cell_sku]
    x_groups = np.where(mine, x, 0)
    shared_groups = np.where(grouped, shared, 0)
    load = per_shop(problem, x_groups) + shared_load(problem, shared_groups)
    capacity = np.where(
        problem.shop_capacity >= 0, problem.shop_capacity - load, problem.shop_capacity
    )
    budgets = problem.budgets
    if budgets is not None:
        value = stock_value(problem, x_groups)[budgets.shop]
        budgets = Budgets(budgets.shop, budgets.limit - np.ceil(value).astype(np.int64))
    return replace(problem, shop_capacity=capacity, budgets=budgets)
