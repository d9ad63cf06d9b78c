"""Pipeline steps 1-2: the pool of each SKU and the reserves that come off it.

Sellable per (SKU, warehouse) follows the stock composition; warehouses that are not of
kind `sellable`, or that an `exclude_warehouse` rule names, never supply; shops reach
only their warehouses. Reserves (the stage RESERVES: zero-below, safety stock), then
pins and virtual units (the stage PINS: locks, holds, presale, virtual stock) turn the
sellable stock into the pool the solver places.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rules.arith import EPS, split_whole
from rules.catalog import (
    ExcludeWarehouse,
    Kind,
    PreorderCap,
    PromotionHold,
    RuleBase,
    SafetyStock,
    SafetyStockDays,
    SafetyStockPct,
    ShopLock,
    VirtualStock,
    WarehouseScope,
    ZeroBelow,
)
from rules.draft import I64, Draft, Mask, Stage

MINUS = ("locked", "reserved", "pending_review", "unpaid", "defective")
PLUS = ("in_transit", "purchase_in_transit", "transfer_in_transit")
DEFAULT_FLAGS = {"locked": True, "reserved": True, "defective": True}


def sellable_by_warehouse(d: Draft) -> tuple[I64, I64]:
    """Sellable units per [SKU, warehouse] and the locked units the composition took."""
    ix = d.ix
    n_s, n_w = ix.n_skus, len(ix.wh_ids)
    rules = d.of_kind(Kind.COMPOSITION)
    won = d.win(
        rules,
        n_s * n_w,
        lambda k: np.outer(ix.sku_mask(d.rule(k).scope), ix.wh_mask(d.rule(k).scope)).ravel(),
    ).reshape(n_s, n_w)
    sellable = ix.stock["on_hand"].copy()
    locked_taken = np.zeros((n_s, n_w), dtype=np.int64)
    # Row 0 is the default composition; row p + 1 is the p-th composition rule.
    slot = np.zeros(len(d.ruleset.rules) + 1, dtype=np.int64)
    slot[np.array(rules, dtype=np.int64) + 1] = np.arange(1, len(rules) + 1)
    row = slot[won + 1]
    for bucket in MINUS + PLUS:
        table = np.array(
            [DEFAULT_FLAGS.get(bucket, False)] + [bool(getattr(d.rule(k), bucket)) for k in rules],
            dtype=bool,
        )
        if not table.any():
            continue  # no composition counts the bucket
        amount = ix.stock[bucket] if table.all() else np.where(table[row], ix.stock[bucket], 0)
        sellable = sellable - amount if bucket in MINUS else sellable + amount
        if bucket == "locked":
            locked_taken = amount
    return np.maximum(sellable, 0), locked_taken


def supplying(d: Draft) -> Mask:
    """[SKU, warehouse]: the warehouse may supply the SKU at all."""
    ix = d.ix
    ok = np.array([kind == "sellable" for kind in ix.wh_kind], dtype=bool)
    mask = np.repeat(ok[None, :], ix.n_skus, axis=0)
    for k in d.of_kind(Kind.EXCLUDE):
        rule = d.rule(k)
        assert isinstance(rule, ExcludeWarehouse)
        named = np.array([w in rule.warehouses for w in ix.wh_ids], dtype=bool)
        mask &= ~np.outer(ix.sku_mask(rule.scope), named & ix.wh_mask(rule.scope))
    return mask


def cell_reach(d: Draft) -> Mask:
    """[cell, warehouse]: the cell's shop may be supplied from the warehouse."""
    ix = d.ix
    reach = ix.shop_wh[ix.cell_shop]
    rules = d.of_kind(Kind.WAREHOUSE_SCOPE)
    if not rules:
        return reach
    masks = {}
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, WarehouseScope)
        masks[k] = d.cell_rule_mask(k, rule.shops)
    won = d.win(rules, ix.n_cells, masks.__getitem__)
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, WarehouseScope)
        named = np.array([w in rule.warehouses for w in ix.wh_ids], dtype=bool)
        reach[won == k] = named
    return reach


def build_pool(d: Draft) -> tuple[I64, Mask | None]:
    """Fill d.sellable / d.unreachable / d.pool; return sellable [SKU, warehouse] and the
    cells' effective reach (for supply groups; None when every cell reaches the same
    warehouses, so that no shop reaches less of a SKU's pool than another)."""
    ix = d.ix
    by_wh, locked_taken = sellable_by_warehouse(d)
    by_wh = np.where(supplying(d), by_wh, 0)
    # A shop that some supplying warehouse cannot serve: bundles made from components
    # (whose stock may sit anywhere) are not listed there beyond the bundle's own stock.
    serving = np.array([kind == "sellable" for kind in ix.wh_kind], dtype=bool)
    common = _common_reach(d)
    reach: Mask | None = None
    if common is not None:
        # Every cell reaches the same warehouses: per SKU, without looking at cells.
        d.restricted = np.full(ix.n_cells, bool(np.any(serving & ~common)))
        reached = (by_wh > 0) & common & (ix.by_sku.sizes > 0)[:, None]
    else:
        full_reach = cell_reach(d)
        d.restricted = np.zeros(ix.n_cells, dtype=bool)
        # Column by column: warehouses are few, and a reduction over a short row is slow.
        for w in np.flatnonzero(serving):
            d.restricted |= ~full_reach[:, w]
        reach = full_reach & ix.by_sku.spread(by_wh > 0)
        reached = np.zeros_like(by_wh, dtype=bool)
        for wh in range(by_wh.shape[1]):
            reached[:, wh] = ix.by_sku.any(reach[:, wh])
    d.sellable = _row_sums(np.where(reached, by_wh, 0))
    d.unreachable = _row_sums(by_wh) - d.sellable
    d.pool = d.sellable.copy()
    d.locked_taken = _row_sums(np.where(reached, locked_taken, 0))
    return by_wh, reach


def _common_reach(d: Draft) -> Mask | None:
    """The warehouses every cell reaches, when that is one set for all cells (no
    warehouse_scope rule, and the shops that list SKUs reach the same warehouses)."""
    ix = d.ix
    if d.of_kind(Kind.WAREHOUSE_SCOPE):
        return None
    rows = ix.shop_wh[ix.shop_has_cells]
    if rows.shape[0] == 0:
        return np.ones(len(ix.wh_ids), dtype=bool)
    return rows[0] if np.all(rows == rows[0]) else None


def _row_sums(table: I64) -> I64:
    """Per SKU, the sum over warehouses (a loop over the few columns)."""
    out = np.zeros(table.shape[0], dtype=np.int64)
    for column in table.T:
        out += column
    return out


def _zero_below(d: Draft, rules: list[int]) -> None:
    """`zero_below`: a pool at or below the threshold publishes nothing."""
    won = d.win(rules, d.ix.n_skus, lambda k: d.ix.sku_mask(d.rule(k).scope))
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ZeroBelow)
        hit = (won == k) & (d.sellable <= rule.threshold) & (d.sellable > 0)
        _reserve(d, k, np.where(hit, d.pool, 0))


def _safety(d: Draft, rules: list[int]) -> None:
    """Pool-wide safety stock (`safety_stock` with `shop` is a bound, see bounds.py).
    Off in peak mode."""
    ix = d.ix
    rules = [k for k in rules if not is_per_shop(d.rule(k))]
    won = d.win(rules, ix.n_skus, lambda k: ix.sku_mask(d.rule(k).scope))
    for k in rules:
        rule = d.rule(k)
        amount = SAFETY_UNITS[type(rule)](d, rule)
        mine = (won == k) & ~d.peak
        _reserve(d, k, np.where(mine, np.minimum(amount, d.pool), 0))


def is_per_shop(rule: RuleBase) -> bool:
    """A `safety_stock` for one shop: a cap on that shop, not a reserve."""
    return isinstance(rule, SafetyStock) and rule.shop is not None


def _units(d: Draft, rule: SafetyStock) -> I64:
    return np.full(d.ix.n_skus, rule.quantity, dtype=np.int64)


def _percent(d: Draft, rule: SafetyStockPct) -> I64:
    return np.ceil(d.pool * rule.percent / 100 - EPS).astype(np.int64)


def _days(d: Draft, rule: SafetyStockDays) -> I64:
    daily = d.ix.by_sku.fsum(d.velocity)
    # Capped at the pool (as `_safety` caps every reserve) before it becomes an integer:
    # a need beyond int64 would otherwise wrap to a negative and reserve nothing.
    need = np.minimum(np.ceil(daily * rule.days - EPS), d.pool)
    return need.astype(np.int64)


# Per safety rule class: the units it holds back of each SKU (before the pool caps them).
SAFETY_UNITS: dict[type[RuleBase], Callable[[Draft, Any], I64]] = {
    SafetyStock: _units,
    SafetyStockPct: _percent,
    SafetyStockDays: _days,
}


def _reserve(d: Draft, k: int, units: I64) -> None:
    if np.any(units > 0):
        d.reserved[k] = d.reserved.get(k, 0) + units
        d.pool = d.pool - units


def _locks(d: Draft, rules: list[int]) -> None:
    ix = d.ix
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, ShopLock)
        cells = d.cell_rule_mask(k, [rule.shop])
        skus = ix.cell_sku[cells]
        if rule.quantity is None:
            # The composition took locked units out of the pool; they come back for S.
            amount = d.locked_taken[skus]
            d.pool[skus] += amount
            d.sellable[skus] += amount
            d.pin_extra(cells, amount)
        else:
            amount = np.minimum(rule.quantity, d.pool[skus] - d.per_sku(d.lb)[skus])
        d.raise_lb_at(np.flatnonzero(cells), np.maximum(amount, 0), k)


def _holds(d: Draft, rules: list[int]) -> None:
    ix = d.ix
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, PromotionHold)
        cells = d.cell_rule_mask(k, [rule.shop])
        skus = ix.cell_sku[cells]
        free = d.pool[skus] - d.per_sku(d.lb)[skus]
        if rule.quantity is not None:
            want = np.full(skus.size, rule.quantity, dtype=np.int64)
        else:
            assert rule.percent is not None
            want = np.ceil(d.pool[skus] * rule.percent / 100 - EPS).astype(np.int64)
        d.raise_lb_at(np.flatnonzero(cells), np.clip(want, 0, np.maximum(free, 0)), k)


def _preorders(d: Draft, rules: list[int]) -> None:
    ix = d.ix
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, PreorderCap)
        presale = np.flatnonzero(d.cell_rule_mask(k, [rule.shop]))
        amount = np.full(presale.size, rule.quantity, dtype=np.int64)
        if rule.total is not None:
            # The global cap goes to the fastest sellers on the shop first.
            order = np.lexsort((ix.cell_sku[presale], -d.velocity[presale]))
            before = np.cumsum(amount[order]) - amount[order]
            amount[order] = np.clip(rule.total - before, 0, rule.quantity)
        d.virtual[ix.cell_sku[presale]] += amount
        d.pool[ix.cell_sku[presale]] += amount
        d.pin_extra(presale, amount)
        d.raise_lb_at(presale, amount, k)


def _virtual_stock(d: Draft, rules: list[int]) -> None:
    ix = d.ix
    won = d.win(rules, ix.n_skus, lambda k: ix.sku_mask(d.rule(k).scope))
    for k in rules:
        rule = d.rule(k)
        assert isinstance(rule, VirtualStock)
        skus = won == k
        if rule.shops is None:
            d.virtual[skus] += rule.quantity
            d.pool[skus] += rule.quantity
            d.pool_extra[skus] += rule.quantity
            continue
        cells = np.flatnonzero(skus[ix.cell_sku] & d.cell_rule_mask(k, rule.shops))
        if cells.size == 0:
            continue
        group = ix.cell_sku[cells]
        amount = np.zeros(ix.n_skus, dtype=np.int64)
        amount[np.unique(group)] = rule.quantity
        units = split_whole(
            group, d.velocity[cells], amount, ix.shop_rank[ix.cell_shop[cells]], ix.n_skus
        )
        d.virtual += amount
        d.pin_extra(cells, units)
        d.pool += amount
        d.raise_lb_at(cells, units, k)


# Pipeline step 2, in order: each reserve reads the pool the ones before left.
RESERVES: Stage = {
    Kind.ZERO_BELOW: _zero_below,
    Kind.SAFETY: _safety,
}

# Units that go to one shop only (locks, promotion holds, presale, virtual stock named
# for shops: each raises the cell's hard floor and its target), and virtual stock for
# every shop. In order: each takes from what the ones before left.
PINS: Stage = {
    Kind.LOCK: _locks,
    Kind.HOLD: _holds,
    Kind.PREORDER: _preorders,
    Kind.VIRTUAL: _virtual_stock,
}


def apply_reserves(d: Draft) -> None:
    d.run(RESERVES)


def apply_pins(d: Draft) -> None:
    d.run(PINS)
