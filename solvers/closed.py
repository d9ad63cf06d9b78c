"""Closed-form backend for SKU-separable problems, vectorised over all SKUs at once.

With one pool row per SKU and convex piecewise-linear costs, filling each SKU's pool
into the cheapest segments first is optimal (the greedy for separable convex resource
allocation). Largest-remainder rounding and water-filling were already folded into the
integer targets by the compile step, so one sort of all segments solves every SKU.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.problem import (
    Feature,
    Grouping,
    Problem,
    Solution,
    cell_arrays,
    objective,
    remaining_pool,
)
from solvers.split import restrict


class ClosedForm(Backend):
    name: ClassVar[str] = "closed"
    features: ClassVar[frozenset[Feature]] = frozenset()

    @classmethod
    def is_available(cls) -> bool:
        return True  # numpy only, which the problem itself is made of

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
    time: every step holds a few per-cell arrays, and slicing caps their memory."""
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
    inside each kind (ranks stay below the cost unit). So the kinds are filled in that
    order, each with what the earlier ones left, its cells in rank order."""
    cells = _rank_order(problem)
    if cells is not None:
        x, shared = fill_cheapest_first(_reordered(problem, cells), rest)
        out = np.empty_like(x)
        out[cells] = x
        return out, shared
    by_sku = problem.by_sku
    on_floor, on_target, over = _room(problem)
    running = np.empty(problem.n_cells + 1, dtype=np.int64)
    # Units still to place when each kind's turn comes (negative: none).
    left = rest.copy()
    left -= _pour(by_sku, on_floor, left, running)
    left -= _pour(by_sku, on_target, left, running)
    shared_room = np.where(problem.shared, rest, 0)
    shared = np.clip(left, 0, shared_room)
    left -= shared_room
    left -= np.minimum(problem.free_idle, rest)
    _pour(by_sku, over, left, running)
    x = on_floor
    x += problem.lb
    x += on_target
    x += over
    return x, shared


def _room(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Room left in the floor, target and over segments of each cell once its lower
    bound took the cheapest units: with s1 = min(floor, ub) and s12 = min(max(floor,
    target), ub) the segment ends, that is s1 - lb, s12 - lb (less the floor's room) and
    ub - max(s12, lb). Computed in place: three arrays."""
    lb, ub = problem.lb, problem.ub
    room1 = np.minimum(problem.floor, ub)
    room1 -= lb
    np.maximum(room1, 0, out=room1)
    s12 = np.maximum(problem.floor, problem.target)
    np.minimum(s12, ub, out=s12)
    room3 = np.maximum(s12, lb)
    np.subtract(ub, room3, out=room3)
    room2 = s12
    room2 -= lb
    np.maximum(room2, 0, out=room2)
    room2 -= room1
    return room1, room2, room3


def _pour(by_sku: Grouping, room: np.ndarray, units: np.ndarray, running: np.ndarray) -> np.ndarray:
    """Pour `units[i]` into SKU i's cells in order, each cell up to its room: a cell
    takes the units minus the room of the SKU's earlier cells, clipped. Overwrites
    `room` with what each cell takes (`running` is scratch space, one longer) and
    returns each SKU's total room."""
    running[0] = 0
    np.cumsum(room, out=running[1:])
    # The running sum is over all cells: take off what earlier SKUs' cells hold.
    assert by_sku.start is not None
    first = running[by_sku.start]
    # In place: the running sums are not read again (each pour writes them afresh).
    take = by_sku.combine(np.subtract, units + first[:-1], running[:-1], out=running[:-1])
    np.maximum(take, 0, out=take)
    np.minimum(take, room, out=room)
    return np.diff(first)


def _reordered(problem: Problem, cells: np.ndarray) -> Problem:
    return replace(
        problem,
        **cell_arrays(problem, cells),
        groups=None,
        unit_costs=None if problem.unit_costs is None else problem.unit_costs.at(cells),
        sku_grouping=None,
        known_cell_rank=None,
    )


def _rank_order(problem: Problem) -> np.ndarray | None:
    """Cell indices in (SKU, shop rank) order, or None when the cells are in that order
    already (as compiled problems are)."""
    rank = problem.cell_rank
    sku = problem.cell_sku
    ordered = np.all((sku[1:] > sku[:-1]) | ((sku[1:] == sku[:-1]) & (rank[1:] > rank[:-1])))
    if ordered:
        return None
    return np.lexsort((rank, sku))
