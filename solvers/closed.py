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
    Feature,
    Problem,
    Solution,
    cell_segment_bounds,
    objective,
    remaining_pool,
)
from solvers.split import restrict


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
        x, shared = _fill_in_chunks(problem, rest)
        return Solution(
            x=x, shared=shared, backend=self.name, objective=objective(problem, x, shared)
        )


CHUNK_CELLS = 2_000_000


def _fill_in_chunks(problem: Problem, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SKUs are independent here, so large problems are filled a slice of SKUs at a
    time: the segment layout is ~3.3 entries per cell, and slicing caps its memory."""
    if problem.n_cells <= CHUNK_CELLS:
        return fill_cheapest_first(problem, rest)
    x = np.zeros(problem.n_cells, dtype=np.int64)
    shared = np.zeros(problem.n_skus, dtype=np.int64)
    cells_before = np.cumsum(np.bincount(problem.cell_sku, minlength=problem.n_skus))
    chunk_of = cells_before // CHUNK_CELLS
    for chunk in np.unique(chunk_of):
        sub, sku_idx, cell_idx = restrict(problem, chunk_of == chunk)
        x[cell_idx], shared[sku_idx] = fill_cheapest_first(sub, rest[sku_idx])
    return x, shared


def fill_cheapest_first(problem: Problem, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place `rest[i]` units of every SKU i into its cheapest segments.

    No sort is needed: within a SKU the costs order the segment kinds as floor <
    target < shared < free idle < over < penalised idle, and shop rank orders the cells
    inside each kind (ranks stay below the cost unit). So each SKU's segments are laid
    out in that order by arithmetic, and one cumulative sum fills them all."""
    n_s, n_c = problem.n_skus, problem.n_cells
    cells = _rank_order(problem)
    sku = problem.cell_sku[cells]
    s1, s2, s3 = (part[cells] for part in cell_segment_bounds(problem))
    lb = problem.lb[cells]
    # Lower-bound units were placed already, from the cheapest segments of their cell.
    take1 = np.minimum(lb, s1)
    take2 = np.minimum(lb - take1, s2)
    room1, room2, room3 = s1 - take1, s2 - take2, s3 - (lb - take1 - take2)

    k = np.bincount(sku, minlength=n_s)  # cells per SKU
    block = 3 * k + 3
    start = np.cumsum(block) - block  # where each SKU's segments begin
    first_cell = np.cumsum(k) - k
    t = np.arange(n_c) - first_cell[sku]  # the cell's place among its SKU's cells
    base = start[sku]
    pos_floor = base + t
    pos_target = base + k[sku] + t
    pos_over = base + 2 * k[sku] + 2 + t
    pos_shared = start + 2 * k
    pos_free = pos_shared + 1
    pos_idle = start + 3 * k + 2

    cap = np.zeros(int(block.sum()), dtype=np.int64)
    cap[pos_floor], cap[pos_target], cap[pos_over] = room1, room2, room3
    cap[pos_shared] = np.where(problem.shared, rest, 0)
    cap[pos_free] = np.minimum(problem.free_idle, rest)
    cap[pos_idle] = rest  # penalised idle takes whatever is left
    # Units still to place before each segment: the SKU's rest minus the room of its
    # earlier segments (one running sum over all SKUs, offset per SKU).
    before = np.cumsum(cap) - cap
    offset = np.repeat(rest + before[start], block)
    take = np.clip(offset - before, 0, cap)

    x = np.empty(n_c, dtype=np.int64)
    x[cells] = lb + take[pos_floor] + take[pos_target] + take[pos_over]
    return x, take[pos_shared]


def _rank_order(problem: Problem) -> np.ndarray:
    """Cell indices in (SKU, shop rank) order; the identity for compiled problems."""
    rank = problem.shop_rank[problem.cell_shop]
    sku = problem.cell_sku
    ordered = np.all((sku[1:] > sku[:-1]) | ((sku[1:] == sku[:-1]) & (rank[1:] > rank[:-1])))
    if ordered:
        return np.arange(problem.n_cells)
    return np.lexsort((rank, sku))
