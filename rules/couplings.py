"""Pipeline step 4 (couplings): limits on a whole shop, over all its SKUs: unit
capacities (`shop_capacity`) and stock value budgets (`value_budget`). Per shop the
most specific rule of each kind is in force; floors the rules require beyond a limit
are conflicts.
"""

from __future__ import annotations

import numpy as np

from rules.catalog import Kind, ShopCapacity, ValueBudget
from rules.draft import I64, Draft
from solvers.problem import Budgets


def shop_capacity(d: Draft) -> I64:
    """Per shop: at most this many units over all SKUs (-1: no limit)."""
    ix = d.ix
    capacity = np.full(ix.n_shops, -1, dtype=np.int64)
    rules = d.of_kind(Kind.CAPACITY)
    amounts: dict[int, I64] = {}
    masks = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ShopCapacity)
        by_shop = np.full(
            ix.n_shops, rule.quantity if rule.quantity is not None else 0, dtype=np.int64
        )
        names = list(rule.quantities) if rule.quantities is not None else None
        for shop, units in (rule.quantities or {}).items():
            by_shop[ix.shop_pos[shop]] = units
        amounts[k] = by_shop
        masks[k] = ix.shop_mask(rule.scope) & ix.shops_named(names)
    won = d.win(rules, ix.n_shops, masks.__getitem__)
    for k in rules:
        capacity = np.where(won == k, amounts[k], capacity)
    d.limit_rule = won
    limited = capacity >= 0
    load: np.ndarray = np.zeros(ix.n_shops)
    if limited.any():  # a pass over the cells only where some shop has a capacity
        load = np.bincount(ix.cell_shop, weights=d.lb, minlength=ix.n_shops)
    for j in np.flatnonzero(limited & (load > capacity)):
        cells = (ix.cell_shop == j) & (d.lb > 0)
        d.conflict(
            [int(won[j])] + list(np.unique(d.lb_rule[cells])),
            np.unique(ix.cell_sku[cells]),
            f"shop {ix.shop_ids[j]} must take {int(load[j])} units, capacity {capacity[j]}",
        )
    return capacity


def value_budgets(d: Draft) -> Budgets | None:
    """The shops with a stock value budget, in cents (None: no budget rule)."""
    ix = d.ix
    rules = d.of_kind(Kind.BUDGET)
    if not rules:
        return None
    limit = np.full(ix.n_shops, -1, dtype=np.int64)
    masks = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ValueBudget)
        masks[k] = ix.shop_mask(rule.scope) & ix.shops_named(list(rule.budgets))
    won = d.win(rules, ix.n_shops, masks.__getitem__)
    d.budget_rule = won
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ValueBudget)
        for shop, money in rule.budgets.items():
            at = ix.shop_pos[shop]
            if won[at] == k:
                limit[at] = int(money * 100)
    shops = np.flatnonzero(limit >= 0)
    # In float64: units x fen can pass int64, and every sum that could reach a budget
    # (at most MAX_MONEY) is exact below 2**53 (engine/core/limits.py).
    worth = np.multiply(d.lb, ix.price_cents[ix.cell_sku], dtype=np.float64)
    value = np.bincount(ix.cell_shop, weights=worth, minlength=ix.n_shops)
    for j in shops[value[shops] > limit[shops]]:
        cells = (ix.cell_shop == j) & (d.lb > 0)
        d.conflict(
            [int(won[j])] + list(np.unique(d.lb_rule[cells])),
            np.unique(ix.cell_sku[cells]),
            f"shop {ix.shop_ids[j]} must hold stock worth {value[j] / 100:.2f}, "
            f"budget {limit[j] / 100:.2f}",
        )
    return Budgets(shop=shops, limit=limit[shops])
