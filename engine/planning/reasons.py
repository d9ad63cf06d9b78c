"""Where every unlisted unit went: the `unallocated` part of a plan.

Each SKU's sellable and virtual units end up listed, or in exactly one row here with
the rule that kept them: reserves, warehouses no shop reaches, post rules, shares that
cover less than the pool, full shop capacities or budgets, and caps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.core.plan_tables import UnallocatedTable
from engine.planning.post import PostResult, SecondPass
from rules.compile import Compiled
from solvers.problem import idle_units, per_shop, per_sku, shared_load, stock_value

Name = Callable[[int], str | None]


def unallocated_table(
    c: Compiled,
    solved_x: np.ndarray,
    shared: np.ndarray,
    result: PostResult,
    second: SecondPass | None,
    name: Name,
) -> UnallocatedTable:
    """The plan's `unallocated` rows as arrays, sorted by SKU and reason (`rows()`: as
    plain data in `Unallocated`'s field order, no model per row)."""
    ix, prov, problem = c.index, c.provenance, c.problem
    skus: list[np.ndarray] = []
    quantities: list[np.ndarray] = []
    whys: list[np.ndarray] = []
    reasons: dict[str, int] = {}

    def described(k: int) -> str:
        return f"{getattr(c.ruleset.rules[k], 'type', '')} {name(k)}"

    def add(units: np.ndarray, reason: str | Callable[[int], str]) -> None:
        held = np.flatnonzero(units > 0)
        skus.append(held)
        quantities.append(units[held].astype(np.int64))
        if isinstance(reason, str):
            whys.append(np.full(held.size, reasons.setdefault(reason, len(reasons))))
        else:
            texts = map(reason, held.tolist())
            codes = [reasons.setdefault(why, len(reasons)) for why in texts]
            whys.append(np.array(codes, dtype=np.int64))

    def share_name(i: int) -> str:
        return name(int(prov.share_rule[i])) or "default split"

    for k, units in sorted(prov.reserved.items()):
        add(units, described(k))
    add(prov.unreachable, "no shop is supplied from its warehouse")
    # Rounded away after the last solve: idle under the post rule that did it, less the
    # whole packs `finish` gave back to the SKU's other cells (negative `freed`).
    given_back = per_sku(problem, np.maximum(-result.freed, 0))
    for k in np.unique(result.freed_rule[result.freed > 0]):
        units = per_sku(problem, np.where(result.freed_rule == k, np.maximum(result.freed, 0), 0))
        back = np.minimum(units, given_back)
        given_back -= back
        add(units - back, described(int(k)))
    idle = idle_units(problem, solved_x, shared)
    kept = np.minimum(idle, problem.free_idle)
    add(kept, lambda i: f"kept back: shares cover less than the pool ({share_name(i)})")
    rest = idle - kept

    if second is not None:
        # Units freed by delisting that the second pass could not place elsewhere.
        for k in np.unique(second.freed_rule[second.freed > 0]):
            freed = per_sku(problem, np.where(second.freed_rule == k, second.freed, 0))
            take = np.minimum(freed, rest)
            rest = rest - take
            add(take, described(int(k)))
    full = _full_limits(c, solved_x, shared)
    add(rest, lambda i: _capped_reason(c, i, solved_x, full, name))
    sku, quantity, why = (
        np.concatenate(parts).astype(np.int64) for parts in (skus, quantities, whys)
    )
    # By SKU, then reason text; rows alike keep the order they were added in (stable).
    texts = list(reasons)
    rank = np.empty(len(texts), dtype=np.int64)
    rank[sorted(range(len(texts)), key=texts.__getitem__)] = np.arange(len(texts))
    order = np.lexsort((rank[why], sku))
    return UnallocatedTable(ix.sku_ids, sku[order], quantity[order], why[order], texts)


def _full_limits(c: Compiled, x: np.ndarray, shared: np.ndarray) -> dict[int, str]:
    """Shops whose capacity or value budget the plan uses up, with the rule's label."""
    problem, prov = c.problem, c.provenance
    full: dict[int, str] = {}
    load = per_shop(problem, x) + shared_load(problem, shared)
    for j in np.flatnonzero((problem.shop_capacity >= 0) & (load >= problem.shop_capacity)):
        full[int(j)] = f"shop_capacity {c.ruleset.label(int(prov.limit_rule[j]))}"
    if problem.budgets is not None:
        value = stock_value(problem, x)
        for j, limit in zip(problem.budgets.shop, problem.budgets.limit, strict=True):
            # Less than the cheapest unit left: the budget is what stops the shop.
            if value[j] + problem.price_cents.min(initial=0) > limit:
                full.setdefault(int(j), f"value_budget {c.ruleset.label(int(prov.budget_rule[j]))}")
    return full


def _capped_reason(c: Compiled, i: int, x: np.ndarray, full: dict[int, str], name: Name) -> str:
    """Why no shop took more of SKU i: full shops, else the caps its cells sit on."""
    problem, prov = c.problem, c.provenance
    start, end = np.searchsorted(problem.cell_sku, [i, i + 1])
    cells = np.arange(start, end)
    live = cells[(problem.ub[cells] > 0) | problem.in_shared[cells]]
    limits = sorted({full[int(j)] for j in problem.cell_shop[live] if int(j) in full})
    if limits:
        return "shops full: " + ", ".join(limits)
    at_cap = cells[(x[cells] >= problem.ub[cells]) & (prov.ub_rule[cells] >= 0)]
    caps = sorted({name(int(k)) or "" for k in prov.ub_rule[at_cap]})
    if caps:
        return "capped by " + ", ".join(caps)
    return "no shop may take more: shops outside the share rule get only fixed units and floors"
