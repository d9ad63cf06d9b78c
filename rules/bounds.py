"""Pipeline step 3 (bounds): fixed quantities, caps, floors, per-shop safety stock,
exclusive-when-low, and the velocities (with promotion uplift) the targets read.
Each rule kind picks one winner per cell by precedence.
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
from rules.draft import I64, Draft, Mask


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
    rules = d.of_kind(Kind.UPLIFT)
    masks = {k: d.cell_rule_mask(k, d.rule(k).shops) for k in rules}  # type: ignore[attr-defined]
    if not rules:
        return
    velocity = d.velocity.copy()
    for k, cells in d.won_cells(rules, masks.__getitem__):
        rule = d.rule(k)
        assert isinstance(rule, PromotionUplift)
        velocity[cells] *= rule.factor
    d.velocity = velocity


def apply_fixed(d: Draft) -> None:
    rules = d.of_kind(Kind.FIXED)
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


def apply_caps_and_floors(d: Draft) -> None:
    for kind in (Kind.CAP, Kind.FLOOR):
        rules = d.of_kind(kind)
        amounts = {}
        for k in rules:
            rule = d.rule(k)
            assert isinstance(rule, MaxCap | MinFloor)
            amounts[k] = per_shop_amount(d, k, rule.quantities, rule.quantity)
        masks = {k: mask for k, (mask, _) in amounts.items()}
        for k, cells in d.won_cells(rules, masks.__getitem__):
            units = amounts[k][1][d.ix.cell_shop[cells]]
            if kind is Kind.CAP:
                d.tighten_ub(cells, units, k)
            else:
                d.floor[cells] = np.maximum(d.floor[cells], units)
                d.floor_rule[cells] = k


def apply_shop_safety(d: Draft) -> None:
    """`safety_stock` with `shop`: that shop never lists the SKU's last N units."""
    rules = [
        k
        for k in d.of_kind(Kind.SAFETY)
        if isinstance(d.rule(k), SafetyStock) and d.rule(k).shop is not None  # type: ignore[attr-defined]
    ]
    masks = {k: d.cell_rule_mask(k, [d.rule(k).shop]) for k in rules}  # type: ignore[attr-defined]
    won = d.win(rules, d.ix.n_cells, masks.__getitem__)
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, SafetyStock)
        cells = (won == k) & ~d.peak[d.ix.cell_sku]
        d.set_ub(cells, np.maximum(d.pool[d.ix.cell_sku] - rule.quantity, 0), k)


def apply_exclusive_when_low(d: Draft) -> Mask:
    """Returns the SKUs whose whole pool goes to one shop (their share rule is set)."""
    ix = d.ix
    rules = d.of_kind(Kind.EXCLUSIVE_WHEN_LOW)
    won = d.win(rules, ix.n_skus, lambda k: ix.sku_mask(d.rule(k).scope))
    low = np.zeros(ix.n_skus, dtype=bool)
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ExclusiveWhenLow)
        skus = (won == k) & (d.sellable <= rule.threshold)
        if rule.shop not in ix.shop_pos:
            continue
        others = skus[ix.cell_sku] & (ix.cell_shop != ix.shop_pos[rule.shop])
        d.set_ub(others, np.zeros(ix.n_cells, dtype=np.int64), k)
        low |= skus
        d.share_rule[skus] = k
    return low
