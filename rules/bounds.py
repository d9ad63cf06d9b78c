"""Pipeline step 3 (bounds): fixed quantities, caps, floors, per-shop safety stock,
exclusive-when-low (the stage BOUNDS, kind by kind), and the velocities (with promotion
uplift) the pins and targets read. Each rule kind picks one winner per cell by
precedence.
"""

from __future__ import annotations

import numpy as np

from rules.catalog import (
    ExclusiveWhenLow,
    Fixed,
    Kind,
    MaxCap,
    MinFloor,
    PromotionUplift,
    SafetyStock,
)
from rules.draft import I64, Draft, Mask, Stage
from rules.supply import is_per_shop


def per_shop_amount(
    d: Draft, k: int, quantities: dict[str, int] | None, quantity: int | None
) -> tuple[Mask, I64]:
    """Cells of rule k and the amount for each shop: `quantities[shop]` or one
    `quantity`."""
    ix = d.ix
    if quantities is None:
        mask = d.cell_rule_mask(k)
        return mask, np.full(ix.n_shops, quantity or 0, dtype=np.int64)
    mask = d.cell_rule_mask(k, list(quantities))
    by_shop = np.zeros(ix.n_shops, dtype=np.int64)
    for shop, units in quantities.items():
        if shop in ix.shop_pos:
            by_shop[ix.shop_pos[shop]] = units
    return mask, by_shop


def apply_uplift(d: Draft) -> None:
    """`promotion_uplift`: the velocities the pins and the targets read (before the pool)."""
    rules = d.of_kind(Kind.UPLIFT)
    if not rules:
        return
    factors = {}
    masks = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, PromotionUplift)
        factors[k] = rule.factor
        masks[k] = d.cell_rule_mask(k, rule.shops)
    velocity = d.velocity.copy()
    for k, cells in d.won_cells(rules, masks.__getitem__):
        velocity[cells] *= factors[k]
    d.velocity = velocity


def _fixed(d: Draft, rules: list[int]) -> None:
    amounts = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, Fixed)
        amounts[k] = per_shop_amount(d, k, rule.quantities, None)
    won = d.win(rules, d.ix.n_cells, lambda k: amounts[k][0])
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, Fixed)
        cells = won == k
        units = amounts[k][1][d.ix.cell_shop]
        pinned_over = cells & (d.lb > units)
        if np.any(pinned_over):
            d.conflict(
                [k] + list(np.unique(d.lb_rule[pinned_over])),
                np.unique(d.ix.cell_sku[pinned_over]),
                "units pinned to the shop exceed the fixed quantity",
            )
        if rule.best_effort:
            d.floor = np.where(cells, np.maximum(d.floor, units), d.floor)
            d.floor_rule = np.where(cells, k, d.floor_rule)
        else:
            d.lb = np.where(cells, np.maximum(d.lb, units), d.lb)
            d.lb_rule = np.where(cells, k, d.lb_rule)
        d.set_ub(cells, units, k)
        d.target = np.where(cells, units, d.target)
        d.target_rule = np.where(cells, k, d.target_rule)
        d.exact |= cells


def _won_amounts(d: Draft, rules: list[int]) -> list[tuple[int, I64, I64]]:
    """Per cap or floor rule: the cells where it wins and its units there."""
    amounts = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, MaxCap | MinFloor)
        amounts[k] = per_shop_amount(d, k, rule.quantities, rule.quantity)
    masks = {k: mask for k, (mask, _) in amounts.items()}
    return [
        (k, cells, amounts[k][1][d.ix.cell_shop[cells]])
        for k, cells in d.won_cells(rules, masks.__getitem__)
    ]


def _caps(d: Draft, rules: list[int]) -> None:
    for k, cells, units in _won_amounts(d, rules):
        d.tighten_ub(cells, units, k)


def _floors(d: Draft, rules: list[int]) -> None:
    for k, cells, units in _won_amounts(d, rules):
        d.floor[cells] = np.maximum(d.floor[cells], units)
        d.floor_rule[cells] = k


def _shop_safety(d: Draft, rules: list[int]) -> None:
    """`safety_stock` with `shop`: that shop never lists the SKU's last N units."""
    masks, units = {}, {}
    for k in rules:
        rule = d.rule(k)
        if is_per_shop(rule):
            assert isinstance(rule, SafetyStock) and rule.shop is not None
            masks[k] = d.cell_rule_mask(k, [rule.shop])
            units[k] = rule.quantity
    won = d.win(list(masks), d.ix.n_cells, masks.__getitem__)
    for k, quantity in units.items():
        cells = (won == k) & ~d.peak[d.ix.cell_sku]
        d.set_ub(cells, np.maximum(d.pool[d.ix.cell_sku] - quantity, 0), k)


def _exclusive_when_low(d: Draft, rules: list[int]) -> None:
    """The SKUs whose whole pool goes to one shop (d.exclusive; their share rule is set)."""
    ix = d.ix
    won = d.win(rules, ix.n_skus, lambda k: ix.sku_mask(d.rule(k).scope))
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ExclusiveWhenLow)
        skus = (won == k) & (d.sellable <= rule.threshold)
        if rule.shop not in ix.shop_pos:
            continue
        others = skus[ix.cell_sku] & (ix.cell_shop != ix.shop_pos[rule.shop])
        d.set_ub(others, np.zeros(ix.n_cells, dtype=np.int64), k)
        d.exclusive |= skus
        d.share_rule[skus] = k


# Pipeline step 3 (bounds), in order: per cell, each kind's winning rule.
BOUNDS: Stage = {
    Kind.FIXED: _fixed,
    Kind.CAP: _caps,
    Kind.FLOOR: _floors,
    Kind.SAFETY: _shop_safety,
    Kind.EXCLUSIVE_WHEN_LOW: _exclusive_when_low,
}


def apply_bounds(d: Draft) -> None:
    d.run(BOUNDS)
