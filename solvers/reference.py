"""Reference backend: the model written out plainly in PuLP and solved by CBC.

Other backends are checked against this one, so it shares none of their matrix code:
one variable per cell, segment, shared part, idle part and bundle, one constraint per
row, each read straight off the problem's description. Slow, but easy to audit.
"""

from __future__ import annotations

import functools
import warnings
from typing import ClassVar

import numpy as np
import pulp

from solvers.base import Backend
from solvers.errors import SolverError
from solvers.lp import MIP_GAP
from solvers.problem import (
    WORTH_RANGE,
    Costs,
    Feature,
    Problem,
    Solution,
    bundle_unit_cost,
    check_bundles,
    idle_penalty,
    objective,
)


def _cbc(time_limit_s: float) -> pulp.LpSolver:
    """PuLP's bundled CBC. PuLP 3 marks it deprecated in favour of a separately
    installed CBC; pyproject pins pulp below 4, where the bundled binary still ships."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=MIP_GAP)


class Reference(Backend):
    name: ClassVar[str] = "pulp"
    features: ClassVar[frozenset[Feature]] = frozenset(Feature)

    @classmethod
    @functools.cache
    def is_available(cls) -> bool:
        return bool(_cbc(60.0).available())

    def solve(self, problem: Problem, time_limit_s: float = 60.0) -> Solution:
        try:
            check_bundles(problem)
        except ValueError as err:
            raise SolverError(self.name, "invalid", str(err)) from None
        m, x, shared = _model(problem)
        _add_couplings(m, problem, x, shared)
        m.solve(_cbc(time_limit_s))
        if m.status == pulp.LpStatusInfeasible:
            raise SolverError(self.name, "infeasible", "CBC proved no plan exists")
        if m.sol_status == pulp.LpSolutionIntegerFeasible:
            raise SolverError(self.name, "time_limit", f"no proven optimum in {time_limit_s:g} s")
        if m.status != pulp.LpStatusOptimal:
            raise SolverError(self.name, pulp.LpStatus[m.status].lower().replace(" ", "_"))

        xs = np.array([round(v.value()) for v in x], dtype=np.int64)
        shares = np.array([0 if s is None else round(s.value()) for s in shared], dtype=np.int64)
        value = objective(problem, xs, shares)
        # The model and `objective()` are written independently: they must agree.
        model_value = pulp.value(m.objective) or 0
        if abs(model_value - value) > 0.5:
            raise SolverError(
                self.name,
                "objective_mismatch",
                f"model says {model_value}, objective() says {value}",
            )
        return Solution(x=xs, shared=shares, backend=self.name, objective=value)


def _var(name: str, low: int = 0, up: int | None = None) -> pulp.LpVariable:
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=pulp.LpInteger)


def _model(
    p: Problem,
) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[pulp.LpVariable | None]]:
    """Cells, shared parts, idle parts and bundles made, the costs and the pool rows."""
    costs = Costs.for_problem(p)
    m = pulp.LpProblem("omnistock", pulp.LpMinimize)
    cost_terms = []
    x = []
    worth = _worth_runs(p)
    for c in range(p.n_cells):
        ub, floor, target = int(p.ub[c]), int(p.floor[c]), int(p.target[c])
        if c in worth:
            # Floor units, then each unit above the floor at its run's worth.
            lengths, unit = _priced_by_worth(p, costs, worth[c], floor, ub)
        else:
            # Segment ends: [0, floor), [floor, max(floor, target)), then up to ub.
            ends = (min(floor, ub), min(max(floor, target), ub), ub)
            lengths = [ends[0], ends[1] - ends[0], ends[2] - ends[1]]
            unit = [costs.floor, costs.target, costs.over]
        rank = int(p.shop_rank[p.cell_shop[c]])
        xc = _var(f"x_{c}", int(p.lb[c]), ub)
        parts = [_var(f"seg_{c}_{k}", 0, lengths[k]) for k in range(len(lengths))]
        # Costs rise from segment to segment, so the optimum fills them in order.
        m += xc == pulp.lpSum(parts)
        cost_terms += [(unit[k] + rank) * parts[k] for k in range(len(parts))]
        x.append(xc)

    shared = [_var(f"shared_{i}") if p.shared[i] else None for i in range(p.n_skus)]
    cost_terms += [costs.shared * s for s in shared if s is not None]
    made: dict[int, pulp.LpVariable] = {}
    if p.bundles is not None:
        unit_cost = bundle_unit_cost(p, costs)
        for b in sorted({int(b) for b in p.bundles.bundle}):
            made[b] = _var(f"made_{b}")
            cost_terms.append(int(unit_cost[b]) * made[b])

    # A bundle's own idle units cost more than the components a made one uses.
    penalty = idle_penalty(p, costs)
    for i in range(p.n_skus):
        free = _var(f"idle_free_{i}", 0, max(int(p.free_idle[i]), 0))
        penalised = _var(f"idle_penalised_{i}")
        cost_terms += [costs.idle_free * free, int(penalty[i]) * penalised]
        uses = [x[c] for c in range(p.n_cells) if p.cell_sku[c] == i]
        uses += [s for s in (shared[i], free, penalised) if s is not None]
        if i in made:
            # Bundles made from components add to the bundle's own stock...
            uses.append(-1 * made[i])
        if p.bundles is not None:
            # ... and use up qty units of each component.
            rows = zip(p.bundles.bundle, p.bundles.component, p.bundles.qty, strict=True)
            uses += [int(q) * made[int(b)] for b, comp, q in rows if comp == i]
        m += pulp.lpSum(uses) == int(p.pool[i]), f"pool_{i}"
    m += pulp.lpSum(cost_terms)
    return m, x, shared


def _worth_runs(p: Problem) -> dict[int, list[tuple[int, int]]]:
    """Per cell with unit costs, its runs as (units, worth), first unit first."""
    u = p.unit_costs
    if u is None:
        return {}
    return {
        int(c): [(int(u.length[r]), int(u.worth[r])) for r in range(u.indptr[i], u.indptr[i + 1])]
        for i, c in enumerate(u.cell)
    }


def _priced_by_worth(
    p: Problem, costs: Costs, runs: list[tuple[int, int]], floor: int, ub: int
) -> tuple[list[int], list[int]]:
    """Segment lengths and unit costs of a cell whose units above the floor cost by
    worth: over-target cost less (over - target) x worth / WORTH_RANGE, worth 0
    beyond the runs."""
    s1 = min(floor, ub)
    lengths, unit = [s1], [costs.floor]
    position = 0
    for units, worth in [*runs, (ub, 0)]:
        lo, hi = max(position, s1), min(position + units, ub)
        lengths.append(max(hi - lo, 0))
        unit.append(costs.over - (costs.over - costs.target) * worth // WORTH_RANGE)
        position += units
    return lengths, unit


def _add_couplings(
    m: pulp.LpProblem, p: Problem, x: list[pulp.LpVariable], shared: list[pulp.LpVariable | None]
) -> None:
    """Shop capacities (shared parts count on every shop that lists them), supply
    groups and value budgets."""
    for j in range(p.n_shops):
        if p.shop_capacity[j] < 0:
            continue
        here = [c for c in range(p.n_cells) if p.cell_shop[c] == j]
        load = [x[c] for c in here]
        load += [shared[p.cell_sku[c]] for c in here if p.in_shared[c]]
        m += pulp.lpSum(load) <= int(p.shop_capacity[j]), f"capacity_{j}"

    if p.groups is not None:
        g = p.groups
        for r in range(g.cap.size):
            members = [x[c] for c in g.cells[g.indptr[r] : g.indptr[r + 1]]]
            if g.with_shared[r]:
                members.append(shared[g.sku[r]])
            m += pulp.lpSum(members) <= int(g.cap[r]), f"group_{r}"

    if p.budgets is not None:
        for r, (j, limit) in enumerate(zip(p.budgets.shop, p.budgets.limit, strict=True)):
            worth = [
                int(p.price_cents[p.cell_sku[c]]) * x[c]
                for c in range(p.n_cells)
                if p.cell_shop[c] == j
            ]
            m += pulp.lpSum(worth) <= int(limit), f"budget_{r}"
