"""The compile step: snapshot index + ruleset + mode -> one array Problem.

Runs the pipeline of RULES.md in order (pool, reserves, bounds, targets, couplings),
checks that the hard rules can all hold (a typed ConflictError names the rules and SKUs
if not), and keeps what the post step and the explanations need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from rules.bounds import (
    apply_caps_and_floors,
    apply_exclusive_when_low,
    apply_fixed,
    apply_shop_safety,
    apply_uplift,
)
from rules.catalog import (
    Bundle,
    CampaignWindow,
    Kind,
    MinOrDelist,
    PackSize,
    Ruleset,
    ShopCapacity,
    SyncThreshold,
    ValueBudget,
)
from rules.draft import I64, NONE, Draft
from rules.groups import supply_groups
from rules.references import check_references
from rules.supply import apply_pins, apply_safety, apply_zero_below, build_pool
from rules.targets import apply_shares
from solvers.problem import Budgets, Bundles, Problem, check_bundles
from solvers.split import whole


@dataclass(frozen=True)
class PostRules:
    """Per-cell parameters of pipeline step 5 (applied after the solve)."""

    pack: I64  # pack size, 1 = none
    pack_rule: I64
    delist: I64  # min_or_delist threshold, 0 = none
    delist_rule: I64
    sync: I64  # sync threshold, 0 = none
    sync_rule: I64
    bands: dict[int, list[int]]  # sync rule -> band levels


@dataclass(frozen=True)
class Compiled:
    index: SnapshotIndex
    ruleset: Ruleset
    draft: Draft
    problem: Problem
    post: PostRules
    peak: bool


def active_rules(ruleset: Ruleset, index: SnapshotIndex) -> list[int]:
    """Rules in force at the snapshot's `as_of`, campaign windows applied."""
    moment = index.as_of
    windows: dict[str, list[CampaignWindow]] = {}
    for rule in ruleset.rules:
        if isinstance(rule, CampaignWindow):
            for name in rule.rules:
                windows.setdefault(name, []).append(rule)
    return [
        k
        for k, rule in enumerate(ruleset.rules)
        if rule.kind is not Kind.WINDOW
        and rule.active_at(moment)
        and all(w.active_at(moment) for w in windows.get(rule.id or "", []))
    ]


def compile_problem(index: SnapshotIndex, ruleset: Ruleset, mode: str) -> Compiled:
    check_references(ruleset, index)
    active = active_rules(ruleset, index)
    peak = np.full(index.n_skus, mode == "peak")
    for k in active:
        if ruleset.rules[k].kind is Kind.PEAK:
            peak |= index.sku_mask(ruleset.rules[k].scope)
    d = Draft(index, ruleset, active, peak)
    _warn_unmatched(d)

    apply_uplift(d)
    by_wh, reach = build_pool(d)
    apply_zero_below(d)
    apply_safety(d)
    apply_pins(d)
    apply_fixed(d)
    apply_caps_and_floors(d)
    apply_shop_safety(d)
    low = apply_exclusive_when_low(d)
    bundles = bundles_of(d)
    if bundles is not None:
        own = by_wh.sum(axis=1)  # the bundle's own stock (groups cover where it sits)
        made_here = np.isin(index.cell_sku, bundles.bundle) & d.restricted
        d.set_ub(made_here, own[index.cell_sku] + d.pinned_extra, NONE)
    apply_shares(d, low)
    groups = supply_groups(d, by_wh, reach)
    _check_hard_rules(d, bundles)
    capacity, budgets = _couplings(d)
    if d.conflicts:
        raise ConflictError(d.conflicts)

    # ub: at most what the pool (and bundles the components make) holds, never below lb.
    ub = index.by_sku.spread(d.pool + _bundle_virtual(d, bundles))
    np.maximum(ub, d.lb, out=ub)
    np.minimum(d.ub, ub, out=ub)
    problem = Problem(
        sku_ids=index.sku_ids,
        shop_ids=index.shop_ids,
        cell_sku=index.cell_sku,
        cell_shop=index.cell_shop,
        lb=d.lb,
        ub=ub,
        floor=d.floor,
        target=d.target,
        pool=d.pool,
        free_idle=np.where(_is_bundle(index.n_skus, bundles), 0, d.free_idle),
        shop_rank=index.shop_rank,
        shared=d.shared,
        in_shared=d.in_shared,
        shop_capacity=capacity,
        price_cents=index.price_cents,
        groups=groups,
        bundles=bundles,
        budgets=budgets,
        sku_grouping=index.by_sku,
        known_cell_rank=index.cell_rank,
    )
    problem = whole(problem)  # with the features its data has
    check_bundles(problem)
    return Compiled(index, ruleset, d, problem, _post_rules(d), bool(np.all(peak)))


def _warn_unmatched(d: Draft) -> None:
    """A rule whose scope selects no SKU/shop pair is almost always a typo."""
    for k in d.active:
        rule = d.rule(k)
        if rule.kind in (Kind.PEAK, Kind.EXCLUDE, Kind.COMPOSITION, Kind.BUNDLE):
            continue
        if not d.ix.has_cells(rule.scope):
            d.warn("rule_matched_nothing", k, "its scope selects no SKU on any shop")


def bundles_of(d: Draft) -> Bundles | None:
    """Bundle rows from the snapshot's components, overridden by `bundle` rules."""
    ix = d.ix
    bundle, component, qty = ix.bundle_rows
    rows = {(int(b), int(c)): int(q) for b, c, q in zip(bundle, component, qty, strict=True)}
    for k in d.of_kind(Kind.BUNDLE):
        rule = d.rule(k)
        assert isinstance(rule, Bundle)
        b = ix.sku_pos[rule.sku]
        rows = {key: q for key, q in rows.items() if key[0] != b}
        rows.update({(b, ix.sku_pos[c.sku]): c.qty for c in rule.components})
    if not rows:
        return None
    keys = sorted(rows)
    out = Bundles(
        bundle=np.array([b for b, _ in keys], dtype=np.int64),
        component=np.array([c for _, c in keys], dtype=np.int64),
        qty=np.array([rows[key] for key in keys], dtype=np.int64),
    )
    _split_components(d, out)
    return out


def _split_components(d: Draft, bundles: Bundles) -> None:
    """Component stock feeds the component's own listings and its bundles'. Their
    targets split it by demand: velocity (1 where a SKU has none), a bundle's demand
    counting `qty` times."""
    ix = d.ix
    speed = np.bincount(ix.cell_sku, weights=d.velocity, minlength=ix.n_skus)
    weight = np.where(speed > 0, speed, 1.0)
    draw = np.zeros(ix.n_skus)
    np.add.at(draw, bundles.component, bundles.qty * weight[bundles.bundle])
    total = weight + draw
    row_share = bundles.qty * weight[bundles.bundle] / total[bundles.component]
    for_bundles = np.floor(d.pool * draw / total + 1e-9).astype(np.int64)
    d.share_base_less = np.where(draw > 0, for_bundles, 0)
    per_row = np.floor(d.pool[bundles.component] * row_share / bundles.qty + 1e-9).astype(np.int64)
    can_make = np.full(ix.n_skus, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(can_make, bundles.bundle, per_row)
    d.share_base_extra = np.zeros(ix.n_skus, dtype=np.int64)
    d.share_base_extra[bundles.bundle] = can_make[bundles.bundle]


def _is_bundle(n_skus: int, bundles: Bundles | None) -> np.ndarray:
    mask = np.zeros(n_skus, dtype=bool)
    if bundles is not None:
        mask[bundles.bundle] = True
    return mask


def _bundle_virtual(d: Draft, bundles: Bundles | None) -> I64:
    """Per SKU: bundles the components' pools could make (RULES.md rule 5)."""
    made = np.zeros(d.ix.n_skus, dtype=np.int64)
    if bundles is None:
        return made
    cap = np.full(d.ix.n_skus, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cap, bundles.bundle, d.pool[bundles.component] // bundles.qty)
    made[bundles.bundle] = cap[bundles.bundle]
    return made


def _check_hard_rules(d: Draft, bundles: Bundles | None) -> None:
    ix = d.ix
    crossed = d.lb > d.ub
    if np.any(crossed):
        for lb_rule, ub_rule in sorted(
            {(int(a), int(b)) for a, b in zip(d.lb_rule[crossed], d.ub_rule[crossed], strict=True)}
        ):
            cells = crossed & (d.lb_rule == lb_rule) & (d.ub_rule == ub_rule)
            d.conflict(
                [lb_rule, ub_rule],
                np.unique(ix.cell_sku[cells]),
                "a floor the rules require is above a cap they set",
            )
    supply = d.pool + _bundle_virtual(d, bundles)
    short = np.flatnonzero(d.per_sku(d.lb) > supply)
    if short.size:
        rules = d.lb_rule[np.isin(ix.cell_sku, short) & (d.lb > 0)]
        need = d.per_sku(d.lb)[short]
        d.conflict(
            list(np.unique(rules)),
            short,
            f"they require {need[0]} units where the pool has {supply[short[0]]}",
        )


def _couplings(d: Draft) -> tuple[I64, Budgets | None]:
    """Per-shop capacities and value budgets (most specific rule per shop)."""
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
    budgets = None
    b_rules = d.of_kind(Kind.BUDGET)
    if b_rules:
        limit = np.full(ix.n_shops, -1, dtype=np.int64)
        b_masks = {}
        for k in b_rules:
            rule = d.rule(k)
            assert isinstance(rule, ValueBudget)
            b_masks[k] = ix.shop_mask(rule.scope) & ix.shops_named(list(rule.budgets))
        b_won = d.win(b_rules, ix.n_shops, b_masks.__getitem__)
        d.budget_rule = b_won
        for k in b_rules:
            rule = d.rule(k)
            assert isinstance(rule, ValueBudget)
            for shop, money in rule.budgets.items():
                at = ix.shop_pos[shop]
                if b_won[at] == k:
                    limit[at] = int(money * 100)
        shops = np.flatnonzero(limit >= 0)
        budgets = Budgets(shop=shops, limit=limit[shops])
        value = np.bincount(
            ix.cell_shop, weights=d.lb * ix.price_cents[ix.cell_sku], minlength=ix.n_shops
        )
        for j in shops[value[shops] > limit[shops]]:
            cells = (ix.cell_shop == j) & (d.lb > 0)
            d.conflict(
                [int(b_won[j])] + list(np.unique(d.lb_rule[cells])),
                np.unique(ix.cell_sku[cells]),
                f"shop {ix.shop_ids[j]} must hold stock worth {value[j] / 100:.2f}, "
                f"budget {limit[j] / 100:.2f}",
            )
    return capacity, budgets


def _post_rules(d: Draft) -> PostRules:
    ix = d.ix
    out: dict[str, I64] = {}
    for kind, attr, default in (
        (Kind.PACK, "pack", 1),
        (Kind.DELIST, "delist", 0),
        (Kind.SYNC, "sync", 0),
    ):
        rules = d.of_kind(kind)
        if not rules:
            # The same default on every cell: a read-only view that takes no memory.
            out[attr] = np.broadcast_to(np.int64(default), ix.n_cells)
            out[attr + "_rule"] = np.broadcast_to(np.int64(NONE), ix.n_cells)
            continue
        won = d.win(rules, ix.n_cells, d.cell_rule_mask)
        value = np.full(ix.n_cells, default, dtype=np.int64)
        for k in rules:
            rule = d.rule(k)
            assert isinstance(rule, PackSize | MinOrDelist | SyncThreshold)
            amount = rule.quantity if isinstance(rule, PackSize) else rule.threshold
            value = np.where(won == k, amount, value)
        out[attr] = value
        out[attr + "_rule"] = won
    bands = {
        k: list(rule.bands)
        for k in d.of_kind(Kind.SYNC)
        for rule in [d.rule(k)]
        if isinstance(rule, SyncThreshold)
    }
    return PostRules(bands=bands, **out)
