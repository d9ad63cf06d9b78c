"""Min cost flow backend: exact for problems coupled only by shop capacities.

Pool rows and shop capacities form a bipartite network (SKU -> shop -> sink), whose
integer optimum a network simplex-like solver finds far faster than any LP. A shared
part listed on one capacity shop flows through that shop; one listed on several
capacity shops would need one unit to pass through several shops at once, which no
flow can express: those problems go to the LP backends. Supply groups that nest are
nodes between a SKU and its cells (solvers/laminar.py); groups that cross go to the LP.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.laminar import group_tree
from solvers.problem import (
    I64,
    Costs,
    Feature,
    Problem,
    Solution,
    cell_segments,
    objective,
    per_shop,
    remaining_pool,
)


class MinCostFlow(Backend):
    name: ClassVar[str] = "flow"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.CAPACITY, Feature.SHARED_CAPACITY, Feature.GROUPS, Feature.UNIT_COSTS}
    )

    @classmethod
    def is_available(cls) -> bool:
        return True  # OR-Tools' graph solver is imported with this module

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        # The flow solver has no time limit; it is polynomial and fast at our sizes.
        shared_shop = shared_capacity_shop(problem) if self.supports(problem) else None
        tree = group_tree(problem) if shared_shop is not None else None
        if shared_shop is None or tree is None:
            raise SolverError(self.name, "unsupported", "needs the LP or MIP backend")
        rest = remaining_pool(problem)
        short = np.flatnonzero(rest < 0)
        if short.size:
            raise SolverError(
                self.name, "infeasible", f"SKU {problem.sku_ids[short[0]]}: lower bounds above pool"
            )
        limited = problem.shop_capacity >= 0
        room = problem.shop_capacity - per_shop(problem, problem.lb)
        full = np.flatnonzero(limited & (room < 0))
        if full.size:
            j = full[0]
            raise SolverError(
                self.name,
                "infeasible",
                f"shop {problem.shop_ids[j]}: lower bounds need {-room[j]} units beyond "
                f"capacity {problem.shop_capacity[j]}",
            )

        n_s, n_h = problem.n_skus, problem.n_shops
        n_g = tree.parent.size
        sink = n_s + n_h + n_g
        room_g = _group_room(problem)
        if np.any(room_g < 0):
            k = int(np.flatnonzero(room_g < 0)[0])
            assert problem.groups is not None
            raise SolverError(
                self.name,
                "infeasible",
                f"SKU {problem.sku_ids[problem.groups.sku[k]]}: lower bounds above the "
                f"{problem.groups.cap[k]} units its shops' warehouses hold",
            )
        total = int(rest.sum())
        seg = cell_segments(problem)
        costs = Costs.for_problem(problem)
        open_ = seg.cap > 0
        seg_cell, seg_cap, seg_cost = seg.cell[open_], seg.cap[open_], seg.cost[open_]
        skus = np.arange(n_s, dtype=np.int64)
        n_seg = seg_cell.size

        # Arc blocks, in order: cell segments, shop -> sink, then per SKU its shared
        # part (through the one capacity shop that lists it, else straight to the
        # sink), free idle and penalised idle.
        # Supply groups sit between a SKU and its cells (solvers/laminar.py): a cell's
        # units, and a shared part counted in a group, leave from the innermost group.
        group_node = n_s + n_h + np.arange(n_g)
        cell_from = np.where(tree.cell_group >= 0, n_s + n_h + tree.cell_group, problem.cell_sku)
        shared_from = np.where(tree.shared_group >= 0, n_s + n_h + tree.shared_group, skus)
        group_from = (
            np.where(tree.parent >= 0, n_s + n_h + tree.parent, problem.groups.sku)
            if problem.groups is not None
            else skus[:0]
        )
        shared_head = np.where(shared_shop >= 0, n_s + shared_shop, sink)
        tails = np.concatenate(
            [cell_from[seg_cell], n_s + np.arange(n_h), shared_from, skus, skus, group_from]
        )
        heads = np.concatenate(
            [
                n_s + problem.cell_shop[seg_cell],
                np.full(n_h, sink),
                shared_head,
                np.full(2 * n_s, sink),
                group_node,
            ]
        )
        caps = np.concatenate(
            [
                seg_cap,
                np.where(limited, room, total),
                np.where(problem.shared, rest, 0),
                np.clip(problem.free_idle, 0, rest),
                rest,
                room_g,
            ]
        )
        unit_costs = np.concatenate(
            [
                seg_cost,
                np.zeros(n_h, dtype=np.int64),
                np.full(n_s, costs.shared),
                np.full(n_s, costs.idle_free),
                np.full(n_s, costs.idle_penalised),
                np.zeros(n_g, dtype=np.int64),
            ]
        )
        flow = SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(
            tails.astype(np.int32),
            heads.astype(np.int32),
            caps.astype(np.int64),
            unit_costs.astype(np.int64),
        )
        flow.set_nodes_supplies(
            np.arange(sink + 1, dtype=np.int32),
            np.concatenate([rest, np.zeros(n_h + n_g, dtype=np.int64), [-total]]).astype(np.int64),
        )
        status = flow.solve()
        if status != SimpleMinCostFlow.OPTIMAL:
            raise SolverError(self.name, status.name.lower())

        amounts = np.asarray(flow.flows(arcs), dtype=np.int64)
        placed = np.bincount(seg_cell, weights=amounts[:n_seg], minlength=problem.n_cells)
        x = problem.lb + placed.astype(np.int64)
        start = n_seg + n_h
        shared = amounts[start : start + n_s].copy()
        return Solution(
            x=x, shared=shared, backend=self.name, objective=objective(problem, x, shared)
        )


def shared_capacity_shop(problem: Problem) -> I64 | None:
    """Per SKU, the one capacity shop that lists its shared part (-1: none), or None
    when some SKU's shared part counts on two or more capacity shops (the data,
    whatever the declared features say: `violations()` counts it). A shared part on
    one capacity shop flows through that shop like a cell's units."""
    limited = problem.shop_capacity[problem.cell_shop] >= 0
    on_limited = np.flatnonzero(problem.in_shared & problem.shared[problem.cell_sku] & limited)
    skus = problem.cell_sku[on_limited]
    if np.any(np.bincount(skus, minlength=problem.n_skus) > 1):
        return None
    shop = np.full(problem.n_skus, -1, dtype=np.int64)
    shop[skus] = problem.cell_shop[on_limited]
    return shop


def _group_room(problem: Problem) -> I64:
    """Per supply-group row, the units it still holds once lower bounds are placed."""
    g = problem.groups
    if g is None:
        return np.zeros(0, dtype=np.int64)
    row = np.repeat(np.arange(g.cap.size), np.diff(g.indptr))
    lb = np.bincount(row, weights=problem.lb[g.cells], minlength=g.cap.size).astype(np.int64)
    return g.cap - lb
