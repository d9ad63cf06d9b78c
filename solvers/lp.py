"""LP (GLOP) and MIP (SCIP) backends over one sparse matrix model of the problem.

Both read the same columns and rows, built with array operations only, so a model with
millions of cells costs no Python loop. GLOP is exact when the LP optimum is whole,
which the network-like structures usually give; MIP is exact for every feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from ortools.linear_solver.python.model_builder_helper import (
    ModelBuilderHelper,
    ModelSolverHelper,
    SolveStatus,
)

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.problem import (
    I64,
    Bool,
    Costs,
    Feature,
    Problem,
    SegmentKind,
    Solution,
    bundle_unit_cost,
    cell_segments,
    check_bundles,
    idle_penalty,
    objective,
    remaining_pool,
    violations,
)
from solvers.split import sku_blocks

F64 = NDArray[np.float64]
MADE = -1  # column kind of "bundle units made from components"
# A solver's value within this of a whole number is that number.
WHOLE_TOL = 1e-6
MIP_GAP = 1e-7
MIP_GAP_PARAMETERS = {"scip": f"limits/gap = {MIP_GAP}", "sat": f"relative_gap_limit:{MIP_GAP}"}
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class MatrixModel:
    """Columns (all >= 0): cell segments with room, shared parts, free idle, penalised
    idle, bundles made. Rows: one pool equality per SKU, then inequality rows
    (capacities, supply groups, budgets) with only non-negative coefficients."""

    col_ub: F64
    col_cost: F64
    col_sku: I64
    col_cell: I64  # -1 for columns that are not a cell segment
    col_kind: I64
    row_lb: F64
    row_ub: F64
    matrix: Any  # scipy.sparse.csr_matrix, pool rows first
    n_pool_rows: int


def build_model(problem: Problem) -> MatrixModel:
    """The problem as sparse matrix data; rows follow the data, so they match
    `violations()` even where the declared features are narrower."""
    costs = Costs.for_problem(problem)
    rest = remaining_pool(problem)
    n_s = problem.n_skus
    skus = np.arange(n_s, dtype=np.int64)
    # Never binding: no column exceeds its SKU's rest plus what bundles add to it.
    big = float(2 * np.maximum(rest, 0).sum() + 1)

    seg = cell_segments(problem)
    open_ = seg.cap > 0
    seg_cell = seg.cell[open_]
    shared_skus = np.flatnonzero(problem.shared)
    made_skus = np.unique(problem.bundles.bundle) if problem.bundles is not None else skus[:0]
    n_seg, n_sh, n_made = seg_cell.size, shared_skus.size, made_skus.size
    col_sku = np.concatenate([problem.cell_sku[seg_cell], shared_skus, skus, skus, made_skus])
    col_cell = np.concatenate([seg_cell, np.full(n_sh + 2 * n_s + n_made, -1)])
    col_kind = np.concatenate(
        [
            seg.kind[open_],
            np.repeat(
                [SegmentKind.SHARED, SegmentKind.IDLE_FREE, SegmentKind.IDLE_PENALISED, MADE],
                [n_sh, n_s, n_s, n_made],
            ),
        ]
    )
    col_ub = np.concatenate(
        [
            seg.cap[open_],
            np.full(n_sh, big),
            np.maximum(problem.free_idle, 0),
            np.full(n_s + n_made, big),
        ]
    )
    col_cost = np.concatenate(
        [
            seg.cost[open_],
            np.full(n_sh, costs.shared),
            np.full(n_s, costs.idle_free),
            idle_penalty(problem, costs),
            bundle_unit_cost(problem, costs)[made_skus],
        ]
    )
    n_cols = n_seg + n_sh + 2 * n_s + n_made
    cols = np.arange(n_cols)
    is_made = col_kind == MADE

    # Pool rows: every column counts for its SKU, except bundles made, which add to
    # the bundle's row and take qty from each component's row.
    own = ~is_made
    pool_r, pool_c, pool_v = [col_sku[own]], [cols[own]], [np.ones(int(own.sum()))]
    if made_skus.size:
        assert problem.bundles is not None
        made_col = np.full(n_s, -1)
        made_col[made_skus] = cols[is_made]
        pool_r += [made_skus, problem.bundles.component]
        pool_c += [cols[is_made], made_col[problem.bundles.bundle]]
        pool_v += [-np.ones(made_skus.size), problem.bundles.qty.astype(float)]
    pool = sp.coo_matrix(
        (np.concatenate(pool_v), (np.concatenate(pool_r), np.concatenate(pool_c))),
        shape=(n_s, n_cols),
    )

    # Inequality rows are written over cells and shared parts (per_cell @ lb gives the
    # load lower bounds already take), then mapped onto the columns.
    per_cell, per_sku, cap = _inequality_rows(problem)
    seg_cols = np.flatnonzero(col_cell >= 0)
    cell_to_col = sp.csr_matrix(
        (np.ones(seg_cols.size), (col_cell[seg_cols], seg_cols)), shape=(problem.n_cells, n_cols)
    )
    share_cols = np.flatnonzero(col_kind == SegmentKind.SHARED)
    sku_to_col = sp.csr_matrix(
        (np.ones(share_cols.size), (col_sku[share_cols], share_cols)), shape=(n_s, n_cols)
    )
    ineq = per_cell @ cell_to_col + per_sku @ sku_to_col
    ineq_ub = (cap - per_cell @ problem.lb).astype(float)

    return MatrixModel(
        col_ub=col_ub.astype(float),
        col_cost=col_cost.astype(float),
        col_sku=col_sku.astype(np.int64),
        col_cell=col_cell.astype(np.int64),
        col_kind=col_kind.astype(np.int64),
        row_lb=np.concatenate([rest, np.full(ineq_ub.size, -np.inf)]).astype(float),
        row_ub=np.concatenate([rest.astype(float), ineq_ub]),
        matrix=sp.vstack([pool, ineq]).tocsr().astype(float),
        n_pool_rows=n_s,
    )


def _inequality_rows(problem: Problem) -> tuple[Any, Any, I64]:
    """Capacity, group and budget rows as (cells matrix, shared-parts matrix, limit)."""
    n_c, n_s = problem.n_cells, problem.n_skus
    blocks: list[tuple[Any, Any, I64]] = [
        (_incidence([], [], [], (0, n_c)), _incidence([], [], [], (0, n_s)), _EMPTY)
    ]
    limited = np.flatnonzero(problem.shop_capacity >= 0)
    if limited.size:
        k, c = _cells_at(problem, limited)
        listed = problem.in_shared[c]
        blocks.append(
            (
                _incidence(k, c, 1, (limited.size, n_c)),
                _incidence(k[listed], problem.cell_sku[c[listed]], 1, (limited.size, n_s)),
                problem.shop_capacity[limited],
            )
        )
    g = problem.groups
    if g is not None and g.cap.size:
        k = np.repeat(np.arange(g.cap.size), np.diff(g.indptr))
        rows = np.flatnonzero(g.with_shared)
        blocks.append(
            (
                _incidence(k, g.cells, 1, (g.cap.size, n_c)),
                _incidence(rows, g.sku[rows], 1, (g.cap.size, n_s)),
                g.cap,
            )
        )
    b = problem.budgets
    if b is not None and b.shop.size:
        k, c = _cells_at(problem, b.shop)
        price = problem.price_cents[problem.cell_sku[c]]
        blocks.append(
            (
                _incidence(k, c, price, (b.shop.size, n_c)),
                _incidence([], [], [], (b.shop.size, n_s)),
                b.limit,
            )
        )
    return (
        sp.vstack([blk[0] for blk in blocks]).tocsr(),
        sp.vstack([blk[1] for blk in blocks]).tocsr(),
        np.concatenate([blk[2] for blk in blocks]),
    )


def _incidence(rows: Any, cols: Any, values: Any, shape: tuple[int, int]) -> Any:
    """Integer sparse matrix with `values` (or one broadcast value) at (rows, cols)."""
    rows = np.asarray(rows, dtype=np.int64)
    data = np.broadcast_to(np.asarray(values, dtype=np.int64), rows.shape)
    return sp.csr_matrix((data, (rows, np.asarray(cols, dtype=np.int64))), shape=shape)


def _cells_at(problem: Problem, shops: I64) -> tuple[I64, I64]:
    """(k, cell) for every cell at shop `shops[k]`, without a loop over shops."""
    by_shop = np.argsort(problem.cell_shop, kind="stable")
    count = np.bincount(problem.cell_shop, minlength=problem.n_shops)
    first = np.cumsum(count) - count
    n = count[shops]
    k = np.repeat(np.arange(shops.size), n)
    within = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return k, by_shop[np.repeat(first[shops], n) + within]


def to_plan(problem: Problem, model: MatrixModel, values: I64) -> tuple[I64, I64]:
    """Column values back to (x per cell with lb, shared part per SKU)."""
    seg = model.col_cell >= 0
    placed = np.bincount(model.col_cell[seg], weights=values[seg], minlength=problem.n_cells)
    share = model.col_kind == SegmentKind.SHARED
    shared = np.bincount(model.col_sku[share], weights=values[share], minlength=problem.n_skus)
    return problem.lb + placed.astype(np.int64), shared.astype(np.int64)


def _solve(
    backend: str,
    model: MatrixModel,
    solver: str,
    integer: bool,
    time_limit_s: float,
    accept_feasible: bool = False,
) -> F64:
    # Typed as Any: OR-Tools' stubs declare ndarray[float64, ...], which no array matches.
    helper: Any = ModelBuilderHelper()
    helper.fill_model_from_sparse_data(
        np.zeros(model.col_ub.size),
        model.col_ub,
        model.col_cost,
        model.row_lb,
        model.row_ub,
        model.matrix,
    )
    if integer:
        for j in range(model.col_ub.size):
            helper.set_var_integrality(j, True)
    run = ModelSolverHelper(solver)
    run.set_time_limit_in_seconds(time_limit_s)
    if integer:
        # Proving the last 1e-7 of a knapsack-like budget row can take hours; the
        # backends agree to within this relative gap (CBC and HiGHS use the same).
        run.set_solver_specific_parameters(MIP_GAP_PARAMETERS.get(solver, ""))
    run.solve(helper)
    status = run.status()
    if status == SolveStatus.OPTIMAL:
        return np.asarray(run.variable_values(), dtype=float)
    if status == SolveStatus.FEASIBLE and accept_feasible:
        values = np.asarray(run.variable_values(), dtype=float)
        bound = float(run.best_objective_bound())
        found = float(run.objective_value())
        raise TimeLimited(values, (found - bound) / max(abs(bound), 1.0))
    if status == SolveStatus.FEASIBLE:
        raise SolverError(backend, "time_limit", f"no proven optimum within {time_limit_s:g} s")
    raise SolverError(backend, status.name.lower(), run.status_string())


class TimeLimited(Exception):
    """The MIP stopped at its time limit with a feasible plan and a proven gap."""

    def __init__(self, values: F64, gap: float) -> None:
        super().__init__(f"gap {gap:.3%}")
        self.values = values
        self.gap = gap


class Glop(Backend):
    name: ClassVar[str] = "glop"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.CAPACITY, Feature.SHARED_CAPACITY, Feature.GROUPS, Feature.UNIT_COSTS}
    )

    @classmethod
    def is_available(cls) -> bool:
        return bool(ModelSolverHelper("glop").solver_is_supported())

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        # Repair assumes every column only fills its own SKU's pool row.
        if not self.supports(problem) or (
            problem.bundles is not None and problem.bundles.bundle.size
        ):
            raise SolverError(self.name, "unsupported", "needs the MIP backend")
        model = build_model(problem)
        values = _solve(self.name, model, "glop", False, time_limit_s)
        lp_bound = _integer_bound(float(model.col_cost @ values))
        whole = np.clip(np.floor(values + WHOLE_TOL), 0, model.col_ub).astype(np.int64)
        placed = repair(model, whole)
        x, shared = to_plan(problem, model, whole)
        broken = violations(problem, x, shared)
        if broken:
            raise SolverError(self.name, "repair_failed", broken[0])
        notes: tuple[str, ...] = ()
        if placed:
            # Whole units can cost more than the LP optimum; only a plan that meets
            # the LP bound is proven optimal, otherwise the MIP backend must decide.
            cost = int(model.col_cost @ whole)
            if cost > lp_bound:
                raise SolverError(
                    self.name, "not_integral", f"rounded plan costs {cost}, LP bound {lp_bound}"
                )
            notes = (
                f"LP optimum was fractional: {placed} unit(s) placed by whole-unit "
                "repair; the plan meets the LP bound",
            )
        return Solution(
            x=x,
            shared=shared,
            backend=self.name,
            objective=objective(problem, x, shared),
            notes=notes,
        )


def _integer_bound(lp_value: float) -> int:
    """Lowest whole cost a plan can have, given the LP optimum (costs are whole). The
    slack only ever lowers it, so float noise makes GLOP refuse, never accept, a plan."""
    return math.ceil(lp_value - 1e-7 * (1.0 + abs(lp_value)))


def repair(model: MatrixModel, whole: I64) -> int:
    """Give back each SKU's units lost to flooring, cheapest columns first, within
    every inequality row; returns the number of units placed (0: the LP was whole)."""
    n = model.n_pool_rows
    deficit = np.rint(model.row_lb[:n] - model.matrix[:n] @ whole).astype(np.int64)
    if not deficit.any():
        return 0
    if np.any(deficit < 0):
        raise SolverError(Glop.name, "repair_failed", "rounded plan exceeds a pool")
    rows = model.matrix[n:].tocsc()
    slack = np.floor(model.row_ub[n:] - rows @ whole + WHOLE_TOL)
    # Sorted by SKU, then cost, so each SKU's remainder goes to its cheapest columns.
    order = np.lexsort((np.arange(whole.size), model.col_cost, model.col_sku))
    placed = 0
    for j in order[deficit[model.col_sku[order]] > 0]:
        i = model.col_sku[j]
        hit = rows.indices[rows.indptr[j] : rows.indptr[j + 1]]
        coef = rows.data[rows.indptr[j] : rows.indptr[j + 1]]
        take = int(max(min(deficit[i], model.col_ub[j] - whole[j], *(slack[hit] // coef)), 0))
        whole[j] += take
        deficit[i] -= take
        slack[hit] -= take * coef
        placed += take
    if deficit.any():
        raise SolverError(Glop.name, "repair_failed", "no room left for a SKU's units")
    return placed


class Mip(Backend):
    name: ClassVar[str] = "mip"
    features: ClassVar[frozenset[Feature]] = frozenset(Feature)

    def __init__(self, accept_feasible: bool = False) -> None:
        # The planner accepts a feasible plan at the time limit (flagged in the plan);
        # cross-checks and benchmarks demand a proven optimum.
        self.accept_feasible = accept_feasible

    @classmethod
    def is_available(cls) -> bool:
        return _mip_solver() is not None

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        solver = _mip_solver()
        if solver is None:
            raise SolverError(self.name, "unavailable", "OR-Tools has neither SCIP nor CP-SAT")
        _check_bundles(self.name, problem)
        model = build_model(problem)
        notes: tuple[str, ...] = ()
        try:
            values = solve_in_blocks(
                self.name, model, sku_blocks(problem), solver, time_limit_s, self.accept_feasible
            )
        except TimeLimited as stopped:
            values = stopped.values
            notes = (f"time limit: best plan found, within {stopped.gap:.3%} of the optimum",)
        whole = np.rint(values).astype(np.int64)
        trimmed = trim_overshoot(model, whole)
        if trimmed:
            notes += (
                f"{trimmed} unit(s) moved to idle: the solver's feasibility tolerance "
                "left a capacity or budget row above its limit once rounded",
            )
        x, shared = to_plan(problem, model, whole)
        value = objective(problem, x, shared)
        return Solution(x, shared, self.name, value, notes=notes, proven=not notes)


def spanning_rows(matrix: Any, col_label: I64) -> Bool:
    """Per row of `matrix`, whether its entries' columns carry more than one label (an
    empty row carries none)."""
    coo = matrix.tocoo()
    lo = np.full(coo.shape[0], np.iinfo(np.int64).max)
    hi = np.full(coo.shape[0], np.iinfo(np.int64).min)
    np.minimum.at(lo, coo.row, col_label[coo.col])
    np.maximum.at(hi, coo.row, col_label[coo.col])
    spans: Bool = (lo != hi) & (hi >= lo)
    return spans


def column_arrays(model: MatrixModel, cols: I64) -> dict[str, Any]:
    """The per-column arrays of `model` at `cols`: what a model of some of its columns
    takes from it."""
    return {
        "col_ub": model.col_ub[cols],
        "col_cost": model.col_cost[cols],
        "col_sku": model.col_sku[cols],
        "col_cell": model.col_cell[cols],
        "col_kind": model.col_kind[cols],
    }


def solve_in_blocks(
    backend: str,
    model: MatrixModel,
    sku_block: I64,
    solver: str,
    time_limit_s: float,
    accept_feasible: bool = False,
) -> F64:
    """The MIP optimum of a model whose rows each lie within one block: the LP first
    (GLOP), whose values stand for every block where they are whole (for independent
    blocks, an LP optimum that is whole on a block is that block's integer optimum),
    then one MIP over the blocks it left fractional. A model with a row across blocks
    is solved as one MIP."""
    col_block = sku_block[model.col_sku]
    if spanning_rows(model.matrix, col_block).any():
        return _solve(backend, model, solver, True, time_limit_s, accept_feasible)
    rows = model.matrix.tocoo()
    lp = _solve(backend, model, "glop", False, time_limit_s)
    whole = np.rint(lp)
    fractional = np.abs(lp - whole) > WHOLE_TOL
    if not fractional.any():
        return whole
    open_block = np.zeros(int(sku_block.max()) + 1, dtype=bool)
    open_block[col_block[fractional]] = True
    cols = np.flatnonzero(open_block[col_block])
    row_keep = np.zeros(rows.shape[0], dtype=bool)
    row_keep[rows.row[open_block[col_block[rows.col]]]] = True
    kept = np.flatnonzero(row_keep)
    pool_kept = kept[kept < model.n_pool_rows]
    sub = MatrixModel(
        **column_arrays(model, cols),
        row_lb=model.row_lb[kept],
        row_ub=model.row_ub[kept],
        matrix=model.matrix[kept][:, cols],
        n_pool_rows=int(pool_kept.size),
    )
    out = whole.copy()
    try:
        out[cols] = _solve(backend, sub, solver, True, time_limit_s, accept_feasible)
    except TimeLimited as stopped:  # the best plan found, on the whole model
        out[cols] = stopped.values
        raise TimeLimited(out, stopped.gap) from None
    return out


def trim_overshoot(model: MatrixModel, whole: I64) -> int:
    """Bring every inequality row back within its limit, in whole numbers, by moving
    units from the row's columns to their SKU's penalised idle column (every SKU has
    one, with room), costliest columns first; returns the units moved.

    A MIP solver accepts a row up to its feasibility tolerance (relative, about 1e-6):
    on a budget of millions of cents, rounding its near-whole values can overshoot by
    a few cents, a plan `violations()` rightly refuses."""
    n = model.n_pool_rows
    rows = model.matrix[n:]
    limit = np.floor(model.row_ub[n:] + WHOLE_TOL)
    over = np.flatnonzero(rows @ whole > limit)
    if over.size == 0:
        return 0
    idle = np.full(n, -1, dtype=np.int64)
    penalised = np.flatnonzero(model.col_kind == SegmentKind.IDLE_PENALISED)
    idle[model.col_sku[penalised]] = penalised
    moved = 0
    for i in over:  # a loop over the few rows that overshoot, not over cells
        cols = rows.indices[rows.indptr[i] : rows.indptr[i + 1]]
        coef = rows.data[rows.indptr[i] : rows.indptr[i + 1]]
        excess = float(coef @ whole[cols] - limit[i])
        if excess <= 0:  # an earlier row's trim already brought this one down
            continue
        keep = (whole[cols] > 0) & (model.col_kind[cols] != MADE)
        cols, coef = cols[keep], coef[keep]
        order = np.lexsort((cols, -model.col_cost[cols]))
        cols, coef = cols[order], coef[order]
        # Whole units taken column by column until the row's excess is gone.
        frees = coef * whole[cols]
        before = np.cumsum(frees) - frees
        need = np.clip(np.ceil((excess - before) / coef), 0, whole[cols]).astype(np.int64)
        if float(coef @ need) < excess:
            raise SolverError(Mip.name, "repair_failed", f"row {i} stays above its limit")
        whole[cols] -= need
        np.add.at(whole, idle[model.col_sku[cols]], need)
        moved += int(need.sum())
    return moved


def _check_bundles(backend: str, problem: Problem) -> None:
    """A bundle with free idle units would be over-made, and `objective()` could not
    see it: refuse rather than return a plan scored by a different model."""
    try:
        check_bundles(problem)
    except ValueError as err:
        raise SolverError(backend, "invalid", str(err)) from None


def _mip_solver() -> str | None:
    for solver in ("scip", "sat"):
        if ModelSolverHelper(solver).solver_is_supported():
            return solver
    return None
