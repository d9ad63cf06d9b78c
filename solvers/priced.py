"""One price per capacity shop: the fast road of relax and repair (solvers/relax.py).

With a price per unit on each capacity shop instead of its row, a part falls apart
into single SKUs (each its own greedy: fill the cheapest cost segments first) and
bundle groups (one small MIP). For any prices, the sum of those minima less the
prices times the capacities is a lower bound on the part's optimum (Lagrangian
duality); at the right prices it is the LP bound or better. The prices are found by
bisection on the single SKUs' use of each shop (integer costs: the breakpoints are
whole numbers), the bundle groups are solved once or twice at them, and the single
SKUs then share what the groups left, exactly (flow). No LP of the whole part is
built: at 1.7M cells that LP takes most of a minute, this a few seconds.

Used where it applies: coupling rows that are shop capacities (value budgets go to
the LP road), single SKUs without supply groups.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from solvers.errors import SolverError
from solvers.lp import (
    MIP_GAP,
    _mip_solver,
    build_model,
    sku_blocks,
    solve_in_blocks,
    to_plan,
    trim_overshoot,
)
from solvers.problem import (
    I64,
    Bool,
    Costs,
    Problem,
    SegmentKind,
    idle_penalty,
    objective,
    per_shop,
    remaining_pool,
    shared_load,
)
from solvers.split import detect_features, restrict

NAME = "relax"
UNBOUNDED = 1 << 36  # room of segments without a limit (sums stay in int64 to 10M SKUs)


@dataclass(frozen=True)
class Priced:
    x: I64  # the groups' plan, per cell of the part (singles' cells at lb)
    shared: I64
    bound: int
    price: I64  # per shop (0 on shops without capacity)


def applies(problem: Problem, grouped: Bool) -> bool:
    """Capacity rows only, and single SKUs the greedy can take (no supply groups)."""
    if problem.budgets is not None and problem.budgets.shop.size:
        return False
    if problem.groups is not None and problem.groups.sku.size:
        singles_grouped = ~grouped[problem.groups.sku]
        if singles_grouped.any():
            return False
    return bool(np.any(problem.shop_capacity >= 0))


def price_groups(
    problem: Problem, grouped: Bool, time_limit_s: float, hint: I64 | None = None
) -> Priced:
    """Prices for the capacity shops, the bundle groups' plan at them, and the bound.
    `hint`: prices found for a like problem (the first pass's, for the second): the
    search starts there."""
    solver = _mip_solver()
    if solver is None:
        raise SolverError(NAME, "unavailable", "OR-Tools has neither SCIP nor CP-SAT")
    singles = restrict(problem, ~grouped)[0]
    groups, g_sku, g_cell = restrict(problem, grouped)
    limited = problem.shop_capacity >= 0
    capacity = np.where(limited, problem.shop_capacity, 0)

    # Prices at which the singles alone fill the shops, then again for what the
    # groups leave them at those prices.
    greedy = Greedy(singles)
    start = np.zeros(problem.n_shops, dtype=np.int64) if hint is None else hint.copy()
    price = _bisect(greedy, capacity, limited, start, hint is not None)
    gx, gshared, g_value = _groups_at(groups, price, solver, time_limit_s)
    g_use = _use(groups, gx, gshared)
    again = _bisect(greedy, np.maximum(capacity - g_use, 0), limited, price, True)
    if not np.array_equal(again, price):
        price = again
        gx, gshared, g_value = _groups_at(groups, price, solver, time_limit_s)
        g_use = _use(groups, gx, gshared)

    # The bound is best at a price where the use crosses the capacity: the least
    # fitting price or one below it (the use drops there in one step when many SKUs
    # tie, so which of the two is higher depends on the part). Both are valid.
    bound = greedy.value(price) + g_value - int(price @ capacity)
    for j in np.flatnonzero(limited & (price > 0)):
        below = price.copy()
        below[j] -= 1
        _, _, g_below = _groups_at(groups, below, solver, time_limit_s)
        bound = max(bound, greedy.value(below) + g_below - int(below @ capacity))

    if np.any(limited & (g_use > capacity)):
        # The groups alone would overfill a shop at these prices: their plan keeps
        # the capacities as rows (the bound above stays the priced minimum's).
        gx, gshared, _ = _groups_at(groups, price, solver, time_limit_s, capped=True)

    x = problem.lb.copy()
    shared = np.zeros(problem.n_skus, dtype=np.int64)
    x[g_cell] = gx
    shared[g_sku] = gshared
    return Priced(x, shared, bound, price)


def _use(problem: Problem, x: I64, shared: I64) -> I64:
    """Units on each shop (a shared part counts on every shop that lists it)."""
    return per_shop(problem, x) + shared_load(problem, shared)


def _bisect(greedy: Greedy, room: I64, limited: Bool, start: I64, near: bool) -> I64:
    """Per capacity shop, the least whole price at which the singles use at most
    `room` of it, each shop in turn with the others' prices held (twice over where
    several shops are priced: one shop's price moves the others' use). The search
    starts at `start` and widens from there, so a second call near the first answer
    takes a few steps (`near`); else it bisects the whole range."""
    price = start.copy()
    ceiling = _price_ceiling(greedy.problem)
    shops = np.flatnonzero(limited)

    def fits(j: int, value: int) -> bool:
        price[j] = value
        return bool(greedy.use(price)[j] <= room[j])

    for _ in range(2 if shops.size > 1 else 1):
        for j in map(int, shops):
            lo, hi = int(price[j]), int(price[j])
            step = 1
            if not near:
                lo, hi = 0, ceiling
            elif fits(j, hi):  # widen down to a price that does not fit (or 0)
                while lo > 0:
                    lo = max(hi - step, 0)
                    if not fits(j, lo):
                        break
                    hi, step = lo, step * 2
                else:
                    price[j] = 0
                    continue
                lo += 1
            else:  # widen up to a price that fits (the ceiling always does)
                while hi < ceiling:
                    lo, hi = hi + 1, min(hi + step, ceiling)
                    if fits(j, hi):
                        break
                    step *= 2
            while lo < hi:  # the least fitting price is in [lo, hi]
                mid = (lo + hi) // 2
                if fits(j, mid):
                    hi = mid
                else:
                    lo = mid + 1
            price[j] = hi
    return price


def _price_ceiling(problem: Problem) -> int:
    """A price at which no unit beyond lower bounds goes to a priced shop: above the
    spread between the cheapest segment and penalised idle."""
    costs = Costs.for_problem(problem)
    top = int(idle_penalty(problem, costs).max(initial=costs.idle_penalised))
    return top - costs.floor + int(problem.shop_rank.max(initial=0)) + 1


class Greedy:
    """The single SKUs' priced minimum (each SKU's rest in its cheapest segments,
    `price` added per unit on each shop, a shared part paying every shop that lists
    it), for many prices: what does not depend on the price is built once. Exact for
    SKUs tied by nothing but priced rows: every SKU's costs are convex."""

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
        self.recent: dict[bytes, tuple[I64, I64]] = {}

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
        cost = self.cost.copy()
        cost[: 3 * n_c] += price[self.shop]
        cost[3 * n_c : 3 * n_c + n_s] += np.bincount(
            p.cell_sku[self.listing], weights=price[p.cell_shop[self.listing]], minlength=n_s
        ).astype(np.int64)
        # One integer key, SKU then cost; a stable sort keeps ties in segment order.
        low = int(cost.min(initial=0))
        width = int(cost.max(initial=0)) - low + 1
        order = np.argsort(self.sku * width + (cost - low), kind="stable")
        sku, room = self.sku[order], self.room[order]
        running = np.cumsum(room)
        start = np.searchsorted(sku, np.arange(n_s), side="left")
        first = np.concatenate([[0], running])[start]
        take = np.clip(rest[sku] - (running - room - first[sku]), 0, room)
        taken = np.empty_like(take)
        taken[order] = take
        x = p.lb + taken[:n_c] + taken[n_c : 2 * n_c] + taken[2 * n_c : 3 * n_c]
        sku_cost = np.bincount(self.sku, weights=taken * cost, minlength=n_s).astype(np.int64)
        return x, taken[3 * n_c : 3 * n_c + n_s], sku_cost

    def use(self, price: I64) -> I64:
        return _use(self.problem, *self.at(price))

    def value(self, price: I64) -> int:
        """The priced minimum itself."""
        x, shared = self.at(price)
        return objective(self.problem, x, shared) + int(price @ _use(self.problem, x, shared))


def _groups_at(
    groups: Problem, price: I64, solver: str, time_limit_s: float, capped: bool = False
) -> tuple[I64, I64, int]:
    """The bundle groups' plan with the shops priced instead of limited, and a lower
    bound on its priced value (the MIP's own gap taken off)."""
    free = groups
    if not capped:
        free = replace(groups, shop_capacity=np.full(groups.n_shops, -1, dtype=np.int64))
        free = replace(free, features=detect_features(free))
        # Imported here: solvers/made.py builds on this module's greedy.
        from solvers import made

        if made.applies(free):  # exact: no MIP gap to take off
            x, shared = made.solve_made(free, price)
            return x, shared, objective(free, x, shared) + int(price @ _use(free, x, shared))
    model = build_model(free)
    shift = np.zeros(model.col_cost.size)
    cell = model.col_cell >= 0
    shift[cell] = price[free.cell_shop[model.col_cell[cell]]]
    listed = np.bincount(
        free.cell_sku[free.in_shared],
        weights=price[free.cell_shop[free.in_shared]],
        minlength=free.n_skus,
    )
    sharing = model.col_kind == SegmentKind.SHARED
    shift[sharing] = listed[model.col_sku[sharing]]
    priced = replace(model, col_cost=model.col_cost + shift)
    values = solve_in_blocks(NAME, priced, sku_blocks(free), solver, time_limit_s)
    whole = np.rint(values).astype(np.int64)
    trim_overshoot(priced, whole)
    x, shared = to_plan(free, priced, whole)
    value = objective(free, x, shared) + int(price @ _use(free, x, shared))
    slack = MIP_GAP * (abs(float(priced.col_cost @ whole)) + 1.0) * 2
    return x, shared, value - int(np.ceil(slack))
