"""Closed-form backend for SKU-separable problems, vectorised over all SKUs at once.

With one pool row per SKU and convex piecewise-linear costs, filling each SKU's pool
into the cheapest segments first is optimal (the greedy for separable convex resource
allocation). Largest-remainder rounding and water-filling were already folded into the
integer targets by the compile step, so one sort of all segments solves every SKU.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from engine.errors import SolverError
from solvers.base import Backend, BackendName, register
from solvers.problem import (
    Costs,
    Feature,
    Problem,
    Solution,
    cell_segments,
    objective,
    remaining_pool,
)


@register
class ClosedForm(Backend):
    name: ClassVar[BackendName] = BackendName.CLOSED
    features: ClassVar[frozenset[Feature]] = frozenset()
    speed_rank: ClassVar[int] = 0

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        if not self.supports(problem):
            missing = ", ".join(sorted(f.value for f in problem.features))
            raise SolverError(self.name, "unsupported", f"problem couples SKUs ({missing})")
        rest = remaining_pool(problem)
        short = np.flatnonzero(rest < 0)
        if short.size:
            raise SolverError(
                self.name, "infeasible", f"SKU {problem.sku_ids[short[0]]}: floors above pool"
            )
        x, shared = fill_cheapest_first(problem, rest)
        return Solution(
            x=x, shared=shared, backend=self.name, objective=objective(problem, x, shared)
        )


def fill_cheapest_first(problem: Problem, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place `rest[i]` units of every SKU i into its cheapest segments."""
    seg = cell_segments(problem)
    costs = Costs.for_problem(problem)
    n_s, n_c = problem.n_skus, problem.n_cells
    skus = np.arange(n_s, dtype=np.int64)
    # Bin references: cells are 0..n_c-1, then the SKU's shared part, then idle.
    shared_ref = n_c + skus
    idle_ref = n_c + n_s + skus
    sku = np.concatenate([problem.cell_sku[seg.cell], skus, skus, skus])
    cost = np.concatenate(
        [
            seg.cost,
            np.full(n_s, costs.shared, dtype=np.int64),
            np.full(n_s, costs.idle_free, dtype=np.int64),
            np.full(n_s, costs.idle_penalised, dtype=np.int64),
        ]
    )
    cap = np.concatenate(
        [
            seg.cap,
            np.where(problem.shared, rest, 0),
            np.minimum(problem.free_idle, rest),
            rest,  # penalised idle takes whatever is left
        ]
    )
    ref = np.concatenate([seg.cell, shared_ref, idle_ref, idle_ref])
    keep = cap > 0
    sku, cost, cap, ref = sku[keep], cost[keep], cap[keep], ref[keep]
    order = np.lexsort((cost, sku))
    sku, cap, ref = sku[order], cap[order], ref[order]
    before = np.cumsum(cap) - cap
    if sku.size:
        first = np.r_[True, sku[1:] != sku[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(sku.size), 0))
        before = before - before[group_start]
    take = np.clip(rest[sku] - before, 0, cap)
    placed = np.bincount(ref, weights=take, minlength=n_c + 2 * n_s).astype(np.int64)
    return problem.lb + placed[:n_c], placed[n_c : n_c + n_s]
