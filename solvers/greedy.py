"""Each SKU's cheapest placement on its own, for many prices and unit counts at once.

With nothing tying SKUs together but prices per unit on shops (what a capacity row
becomes under relax and repair, solvers/priced.py) and a given number of units per SKU
(bundles made from components change both, solvers/made.py), the optimum fills each
SKU's cost segments cheapest first: its costs are convex. One sort of all segments by
(SKU, cost) does it for every SKU. Supply groups that nest (solvers/laminar.py) cut
what each group's segments take, cheapest first, before the SKU's own pool does.
"""

from __future__ import annotations

import numpy as np

from solvers.laminar import NestedCaps, group_tree
from solvers.problem import (
    I64,
    Costs,
    Problem,
    idle_penalty,
    objective,
    per_shop,
    remaining_pool,
    shared_load,
)

UNBOUNDED = 1 << 36  # room of segments without a limit (sums stay in int64 to 10M SKUs)


def shared_price(problem: Problem, price: I64) -> I64:
    """Per SKU, what a unit of its shared part pays: the price of every shop listing it."""
    listing = problem.in_shared
    return np.bincount(
        problem.cell_sku[listing],
        weights=price[problem.cell_shop[listing]],
        minlength=problem.n_skus,
    ).astype(np.int64)


def shop_use(problem: Problem, x: I64, shared: I64) -> I64:
    """Units on each shop (a shared part counts on every shop that lists it)."""
    return per_shop(problem, x) + shared_load(problem, shared)


class Greedy:
    """The single SKUs' priced minimum (each SKU's rest in its cheapest segments,
    `price` added per unit on each shop, a shared part paying every shop that lists
    it), for many prices: what does not depend on the price is built once. Exact for
    SKUs tied by nothing but priced rows and nested supply groups: every SKU's costs
    are convex. ValueError for supply groups that cross (no greedy is exact there)."""

    def __init__(self, problem: Problem) -> None:
        costs = Costs.for_problem(problem)
        n_c, n_s = problem.n_cells, problem.n_skus
        self.problem = problem
        self.rest = remaining_pool(problem)
        s1 = np.minimum(problem.floor, problem.ub)
        s12 = np.minimum(np.maximum(problem.floor, problem.target), problem.ub)
        lb = problem.lb
        # Room of each cell segment once lb took the cheapest units.
        room = [
            np.maximum(s1 - lb, 0),
            np.maximum(s12 - np.maximum(lb, s1), 0),
            problem.ub - np.maximum(s12, lb),
        ]
        rank = problem.cell_rank
        skus = np.arange(n_s)
        self.sku = np.concatenate([problem.cell_sku] * 3 + [skus, skus, skus])
        # A shared part and penalised idle take any number of units (a SKU's rest may
        # be asked for with more units than its pool: see `fill`).
        self.room = np.concatenate(
            [
                *room,
                np.where(problem.shared, UNBOUNDED, 0),
                np.maximum(problem.free_idle, 0),
                np.full(n_s, UNBOUNDED),
            ]
        )
        self.cost = np.concatenate(
            [
                costs.floor + rank,
                costs.target + rank,
                costs.over + rank,
                np.full(n_s, costs.shared),
                np.full(n_s, costs.idle_free),
                idle_penalty(problem, costs),
            ]
        ).astype(np.int64)
        self.shop = np.concatenate([problem.cell_shop] * 3)  # the priced segments
        self.listing = problem.in_shared
        self.n_c = n_c
        self.caps: NestedCaps | None = None
        if problem.groups is not None and problem.groups.cap.size:
            tree = group_tree(problem)
            if tree is None:
                raise ValueError("supply groups that cross")
            none = np.full(2 * n_s, -1, dtype=np.int64)
            rows = np.concatenate([tree.cell_group] * 3 + [tree.shared_group, none])
            self.caps = NestedCaps.of(problem, tree, rows)
        self.recent: dict[bytes, tuple[I64, I64]] = {}
        self.last_ranked: tuple[bytes, tuple[I64, I64, I64, I64, I64]] | None = None

    def at(self, price: I64) -> tuple[I64, I64]:
        """The plan at `price` (the last few are kept: the search asks again)."""
        key = price.tobytes()
        if key not in self.recent:
            if len(self.recent) >= 4:
                self.recent.pop(next(iter(self.recent)))
            self.recent[key] = self.fill(price, self.rest)[:2]
        return self.recent[key]

    def fill(self, price: I64, rest: I64) -> tuple[I64, I64, I64]:
        """The plan placing `rest` units of each SKU (not only its own: bundles made
        from components change both), and each SKU's cost of them at `price`."""
        p = self.problem
        n_c, n_s = self.n_c, p.n_skus
        order, cost, sku, room, before = self._ranked(price)
        take = np.clip(rest[sku] - before, 0, room)
        taken = np.empty_like(take)
        taken[order] = take
        x = p.lb + taken[:n_c] + taken[n_c : 2 * n_c] + taken[2 * n_c : 3 * n_c]
        sku_cost = np.bincount(self.sku, weights=taken * cost, minlength=n_s).astype(np.int64)
        return x, taken[3 * n_c : 3 * n_c + n_s], sku_cost

    def _ranked(self, price: I64) -> tuple[I64, I64, I64, I64, I64]:
        """The segments at `price`, cheapest first within each SKU: their order, the
        cost per segment (in segment order), and in that order each one's SKU, room
        and the room of its SKU's segments before it. Kept for the last price: the
        bundle search fills many unit counts at one price."""
        key = price.tobytes()
        if self.last_ranked is not None and self.last_ranked[0] == key:
            return self.last_ranked[1]
        p = self.problem
        n_c, n_s = self.n_c, p.n_skus
        cost = self.cost.copy()
        cost[: 3 * n_c] += price[self.shop]
        cost[3 * n_c : 3 * n_c + n_s] += shared_price(p, price)
        # One integer key, SKU then cost; a stable sort keeps ties in segment order.
        low = int(cost.min(initial=0))
        width = int(cost.max(initial=0)) - low + 1
        order = np.argsort(self.sku * width + (cost - low), kind="stable")
        sku, room = self.sku[order], self.room[order]
        if self.caps is not None:
            position = np.empty_like(order)
            position[order] = np.arange(order.size)
            room = self.caps.limit(self.room, position)[order]
        running = np.cumsum(room)
        start = np.searchsorted(sku, np.arange(n_s), side="left")
        first = np.concatenate([[0], running])[start]
        ranked = (order, cost, sku, room, running - room - first[sku])
        self.last_ranked = (key, ranked)
        return ranked

    def use(self, price: I64) -> I64:
        return shop_use(self.problem, *self.at(price))

    def value(self, price: I64) -> int:
        """The priced minimum itself."""
        x, shared = self.at(price)
        return objective(self.problem, x, shared) + int(price @ shop_use(self.problem, x, shared))
