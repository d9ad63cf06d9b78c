"""One price per capacity shop: the fast road of relax and repair (solvers/relax.py).

With a price per unit on each capacity shop instead of its row, a part falls apart
into single SKUs (each its own greedy: fill the cheapest cost segments first) and
bundle groups (the bundle search of solvers/made.py, else one small MIP). For any
prices, the sum of those minima less the prices times the capacities is a lower bound
on the part's optimum (Lagrangian duality); at the right prices it is the LP bound or
better. The prices are found by
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

from solvers import made
from solvers.errors import SolverError
from solvers.greedy import Greedy, shared_price, shop_use
from solvers.lp import (
    MIP_GAP,
    _mip_solver,
    build_model,
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
)
from solvers.split import detect_features, restrict, sku_blocks

NAME = "relax"


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
    search = _search(groups)
    gx, gshared, g_value = _groups_at(groups, price, solver, time_limit_s, search=search)
    g_use = shop_use(groups, gx, gshared)
    again = _bisect(greedy, np.maximum(capacity - g_use, 0), limited, price, True)
    if not np.array_equal(again, price):
        price = again
        gx, gshared, g_value = _groups_at(groups, price, solver, time_limit_s, search=search)
        g_use = shop_use(groups, gx, gshared)

    # The bound is best at a price where the use crosses the capacity: the least
    # fitting price or one below it (the use drops there in one step when many SKUs
    # tie, so which of the two is higher depends on the part). Both are valid.
    bound = greedy.value(price) + g_value - int(price @ capacity)
    for j in np.flatnonzero(limited & (price > 0)):
        below = price.copy()
        below[j] -= 1
        _, _, g_below = _groups_at(groups, below, solver, time_limit_s, search=search)
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


def _groups_at(
    groups: Problem,
    price: I64,
    solver: str,
    time_limit_s: float,
    capped: bool = False,
    search: made.MadeSearch | None = None,
) -> tuple[I64, I64, int]:
    """The bundle groups' plan with the shops priced instead of limited, and a lower
    bound on its priced value (the MIP's own gap taken off). `search`: the bundle
    search of these groups (`_search`), when the caller asks at several prices."""
    free = groups
    if not capped:
        search = search or _search(groups)
        if search is not None:  # exact: no MIP gap to take off
            free = search.problem
            x, shared = search.plan(price)
            return x, shared, objective(free, x, shared) + int(price @ shop_use(free, x, shared))
        free = _uncapped(groups)
    model = build_model(free)
    shift = np.zeros(model.col_cost.size)
    cell = model.col_cell >= 0
    shift[cell] = price[free.cell_shop[model.col_cell[cell]]]
    sharing = model.col_kind == SegmentKind.SHARED
    shift[sharing] = shared_price(free, price)[model.col_sku[sharing]]
    priced = replace(model, col_cost=model.col_cost + shift)
    values = solve_in_blocks(NAME, priced, sku_blocks(free), solver, time_limit_s)
    whole = np.rint(values).astype(np.int64)
    trim_overshoot(priced, whole)
    x, shared = to_plan(free, priced, whole)
    value = objective(free, x, shared) + int(price @ shop_use(free, x, shared))
    slack = MIP_GAP * (abs(float(priced.col_cost @ whole)) + 1.0) * 2
    return x, shared, value - int(np.ceil(slack))


def _uncapped(groups: Problem) -> Problem:
    """The groups with their shops priced, not limited: no capacity row."""
    free = replace(groups, shop_capacity=np.full(groups.n_shops, -1, dtype=np.int64))
    return replace(free, features=detect_features(free))


def _search(groups: Problem) -> made.MadeSearch | None:
    """The bundle search over the groups, shops unlimited, where it applies."""
    free = _uncapped(groups)
    return made.MadeSearch(free) if made.applies(free) else None
