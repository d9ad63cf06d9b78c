"""Pipeline step 3 (targets): the share rules turn what is left of each SKU's pool after
reserves, pins and fixed quantities (the *share base*) into whole-unit targets.

Per SKU the most specific share rule wins. Every share rule yields a fractional quota
per cell; quotas above the share base are scaled down (shares over 100%), then largest
remainder makes them whole (or `floor`, the incumbents' formula). SKUs that no share rule
covers are split in proportion to velocity, or equally when they have none.
"""

from __future__ import annotations

import numpy as np

from rules.arith import EPS, group_sum, largest_remainder, sequential_fill, water_fill
from rules.catalog import (
    CoverTarget,
    DaysOfCoverBalance,
    EqualSplit,
    Kind,
    NewProduct,
    Percentage,
    PercentageOffset,
    PriorityFill,
    SharedPool,
    TieredPercentage,
    VelocityClass,
    VelocityProportional,
    Weighted,
)
from rules.draft import F64, I64, NONE, Draft, Mask

DEFAULT_POLICIES = {"A": "shared", "B": "velocity", "C": "concentrate"}
EXCLUSIVE = -2  # share_rule marker is the exclusive_when_low rule itself


class Quotas:
    """Accumulates the share rules' output before rounding."""

    def __init__(self, d: Draft) -> None:
        n_s, n_c = d.ix.n_skus, d.ix.n_cells
        self.quota = np.zeros(n_c)  # fractional units per cell
        self.offset = np.zeros(n_c)  # percentage_offset's b
        self.whole = np.full(n_c, -1, dtype=np.int64)  # targets already whole (priority_fill)
        self.named = np.ones(n_s)  # sum of the winning rule's shares (free idle below 1)
        self.floor_mode = np.zeros(n_s, dtype=bool)
        self.participant = np.zeros(n_c, dtype=bool)


def share_base(d: Draft) -> I64:
    """Pool minus what reserves, pins and fixed quantities already took."""
    taken = np.where(d.exact, np.maximum(d.target, d.lb), d.lb)
    extra = d.share_base_extra - d.share_base_less
    return np.maximum(d.pool + extra - d.per_sku(taken), 0)


def by_shop(d: Draft, amounts: dict[str, float]) -> F64:
    out = np.zeros(d.ix.n_shops)
    for shop, value in amounts.items():
        if shop in d.ix.shop_pos:
            out[d.ix.shop_pos[shop]] = value
    return out


def rule_cells(d: Draft, k: int) -> Mask:
    """Cells a share rule names: its scope and its shop list or share map."""
    rule = d.rule(k)
    names: list[str] | None = None
    for attr in ("shares", "weights"):
        if getattr(rule, attr, None) is not None:
            names = list(getattr(rule, attr))
    if isinstance(rule, TieredPercentage):
        names = sorted({s for tier in rule.tiers for s in tier.shares})
    if getattr(rule, "shops", None) is not None:
        names = rule.shops  # type: ignore[attr-defined]
    mask = d.cell_rule_mask(k, names)
    if isinstance(rule, NewProduct):
        mask &= (d.per_sku(d.ix.velocity) <= 0)[d.ix.cell_sku]
    return mask


def apply_shares(d: Draft, exclusive_low: Mask) -> None:
    ix = d.ix
    base = share_base(d)
    d.share_base = base
    rules = d.of_kind(Kind.SHARE)
    cells_of = {k: rule_cells(d, k) for k in rules}
    candidate = {k: np.bincount(ix.cell_sku[cells_of[k]], minlength=ix.n_skus) > 0 for k in rules}
    won = d.win(rules, ix.n_skus, candidate.__getitem__)
    won[exclusive_low] = EXCLUSIVE
    q = Quotas(d)
    open_cell = ~d.exact
    for k in rules:
        skus = won == k
        if not np.any(skus):
            d.warn("rule_never_wins", k, "a more specific share rule wins on every SKU it selects")
            continue
        cells = cells_of[k] & skus[ix.cell_sku] & open_cell
        _quota_for_rule(d, k, skus, cells, base, q)
    _default_quota(d, won == NONE, base, q)
    _exclusive_quota(d, exclusive_low, base, q)
    d.share_rule = np.where(won >= 0, won, d.share_rule)
    _round(d, base, q)


def _quota_for_rule(d: Draft, k: int, skus: Mask, cells: Mask, base: I64, q: Quotas) -> None:
    ix = d.ix
    rule = d.rule(k)
    group = ix.cell_sku
    n_s = ix.n_skus
    q.participant |= cells
    if isinstance(rule, Percentage | PercentageOffset):
        share = by_shop(d, rule.shares)[ix.cell_shop]
        _fractions(d, k, skus, cells, share, base, q)
        if isinstance(rule, PercentageOffset):
            q.floor_mode |= skus
            q.offset = np.where(cells, by_shop(d, dict(rule.offsets))[ix.cell_shop], q.offset)
        elif rule.rounding == "floor":
            q.floor_mode |= skus & ~d.peak
    elif isinstance(rule, TieredPercentage):
        lower = 0
        for tier in rule.tiers:
            upper = tier.threshold if tier.threshold is not None else np.iinfo(np.int64).max
            band = skus & (base >= lower) & (base < upper)
            share = by_shop(d, tier.shares)[ix.cell_shop]
            _fractions(d, k, band, cells & band[group], share, base, q)
            lower = upper
        if rule.rounding == "floor":
            q.floor_mode |= skus & ~d.peak
    elif isinstance(rule, EqualSplit):
        _proportional(d, cells, np.ones(ix.n_cells), base, q)
    elif isinstance(rule, Weighted):
        weight = by_shop(d, rule.weights)[ix.cell_shop]
        _proportional(d, cells, weight, base, q)
        q.participant &= ~(cells & (weight <= 0))
    elif isinstance(rule, VelocityProportional):
        _proportional(d, cells, d.velocity, base, q)
    elif isinstance(rule, NewProduct):
        if rule.shares is not None:
            _fractions(d, k, skus, cells, by_shop(d, rule.shares)[ix.cell_shop], base, q)
        else:
            _proportional(d, cells, _category_velocity(d), base, q)
    elif isinstance(rule, DaysOfCoverBalance):
        cap = np.minimum(d.ub - d.lb, base[group]).astype(np.float64)
        filled = water_fill(group[cells], d.velocity[cells], cap[cells], base.astype(float), n_s)
        q.quota[cells] = filled
        no_velocity = group_sum(group[cells], d.velocity[cells], n_s) <= 0
        _proportional(d, cells & no_velocity[group], np.ones(ix.n_cells), base, q)
    elif isinstance(rule, CoverTarget):
        _cover_target(d, k, cells, rule.days, base, q)
    elif isinstance(rule, PriorityFill):
        caps = np.full(ix.n_shops, np.iinfo(np.int64).max // 4, dtype=np.int64)
        for shop, units in rule.quantities.items():
            if shop in ix.shop_pos:
                caps[ix.shop_pos[shop]] = units
        idx = np.flatnonzero(cells)  # cells are ordered by SKU, then shop priority
        q.whole[idx] = sequential_fill(group[idx], caps[ix.cell_shop[idx]], base)
        capped = cells & (caps[ix.cell_shop] < np.iinfo(np.int64).max // 4)
        d.set_ub(capped, caps[ix.cell_shop], k)
    elif isinstance(rule, SharedPool):
        _shared(d, skus, cells, q)
    elif isinstance(rule, VelocityClass):
        _velocity_class(d, k, rule, skus, cells, base, q)


def _fractions(d: Draft, k: int, skus: Mask, cells: Mask, share: F64, base: I64, q: Quotas) -> None:
    group = d.ix.cell_sku
    named = group_sum(group, np.where(d.cell_rule_mask(k) & skus[group], share, 0), d.ix.n_skus)
    q.named = np.where(skus, named, q.named)
    q.quota = np.where(cells, share * base[group], q.quota)
    # A shop named with a zero share is held at zero, not a place for leftovers.
    q.participant &= ~(cells & (share <= 0))
    over = skus & (named > 1 + EPS)
    if np.any(over):
        d.warn(
            "shares_exceed_100",
            k,
            f"shares add up to {named[over].max():.0%} for {int(over.sum())} SKU(s); "
            "scaled to the pool instead of overselling",
        )


def _proportional(d: Draft, cells: Mask, weight: F64, base: I64, q: Quotas) -> None:
    group = d.ix.cell_sku
    w = np.where(cells, weight, 0.0)
    total = group_sum(group, w, d.ix.n_skus)
    count = group_sum(group, cells.astype(float), d.ix.n_skus)
    equal = total[group] <= 0
    frac = np.where(
        equal, 1.0 / np.maximum(count[group], 1), w / np.where(equal, 1.0, total[group])
    )
    q.quota = np.where(cells, frac * base[group], q.quota)


def _category_velocity(d: Draft) -> F64:
    """Per cell: the average velocity of the SKU's category on the cell's shop."""
    ix = d.ix
    key = ix.sku_category[ix.cell_sku] * ix.n_shops + ix.cell_shop
    size = len(ix.categories) * ix.n_shops
    has = ix.velocity > 0
    total = np.bincount(key, weights=np.where(has, d.velocity, 0.0), minlength=size)
    count = np.bincount(key, weights=has.astype(float), minlength=size)
    return (total / np.maximum(count, 1))[key]


def _cover_target(d: Draft, k: int, cells: Mask, days: float, base: I64, q: Quotas) -> None:
    ix = d.ix
    group = ix.cell_sku
    need = np.where(cells, np.ceil(d.velocity * days - EPS), 0).astype(np.int64)
    total_need = group_sum(group, need, ix.n_skus)
    # Short of stock: cover is shared in proportion to need, not by shop order.
    short = total_need > base
    idx = np.flatnonzero(cells & short[group])
    if idx.size:
        scaled = need[idx] * base[group[idx]] / np.maximum(total_need[group[idx]], 1)
        rank = ix.shop_rank[ix.cell_shop[idx]]
        need[idx] = largest_remainder(group[idx], scaled, base, rank, ix.n_skus)
    d.floor = np.where(cells, d.lb + need, d.floor)
    d.floor_rule = np.where(cells & (need > 0), k, d.floor_rule)
    rest = np.maximum(base - d.per_sku(need), 0)
    before = q.quota.copy()
    _proportional(d, cells, d.velocity, rest, q)
    q.quota = np.where(cells, q.quota + need, before)


def _shared(d: Draft, skus: Mask, cells: Mask, q: Quotas) -> None:
    d.shared |= skus
    d.in_shared |= cells
    q.participant &= ~cells
    q.named = np.where(skus, 0.0, q.named)


def _velocity_class(
    d: Draft, k: int, rule: VelocityClass, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    ix = d.ix
    group = ix.cell_sku
    speed = group_sum(group, np.where(cells, d.velocity, 0.0), ix.n_skus)
    members = np.flatnonzero(skus)
    order = members[np.lexsort((members, -speed[members]))]
    total = speed[order].sum()
    cum = np.cumsum(speed[order]) / total if total > 0 else np.ones(order.size)
    label = np.full(ix.n_skus, "", dtype="<U1")
    a, b = rule.classes.get("A", 0.8), rule.classes.get("B", 0.95)
    # A SKU's class is set by the velocity share of the faster SKUs before it.
    before = cum - speed[order] / total if total > 0 else np.ones(order.size)
    label[order] = np.where(before < a - EPS, "A", np.where(before < b - EPS, "B", "C"))
    for cls in ("A", "B", "C"):
        in_cls = skus & (label == cls)
        cls_cells = cells & in_cls[group]
        policy = rule.policies.get(cls, DEFAULT_POLICIES[cls])
        if policy == "shared":
            _shared(d, in_cls, cls_cells, q)
        elif policy == "velocity":
            _proportional(d, cls_cells, d.velocity, base, q)
        elif policy == "equal":
            _proportional(d, cls_cells, np.ones(ix.n_cells), base, q)
        else:
            best = _best_cell(d, cls_cells)
            _proportional(d, cls_cells, best.astype(float), base, q)
            q.participant &= ~(cls_cells & ~best)


def _best_cell(d: Draft, cells: Mask) -> Mask:
    """Per SKU, the cell with the highest velocity (ties: shop priority)."""
    ix = d.ix
    idx = np.flatnonzero(cells)
    best = np.zeros(ix.n_cells, dtype=bool)
    if idx.size:
        order = idx[
            np.lexsort((ix.shop_rank[ix.cell_shop[idx]], -d.velocity[idx], ix.cell_sku[idx]))
        ]
        first = np.r_[True, ix.cell_sku[order][1:] != ix.cell_sku[order][:-1]]
        best[order[first]] = True
    return best


def _default_quota(d: Draft, skus: Mask, base: I64, q: Quotas) -> None:
    cells = skus[d.ix.cell_sku] & ~d.exact
    q.participant |= cells
    _proportional(d, cells, d.velocity, base, q)


def _exclusive_quota(d: Draft, skus: Mask, base: I64, q: Quotas) -> None:
    ix = d.ix
    if not np.any(skus):
        return
    cells = skus[ix.cell_sku] & (d.ub > 0) & ~d.exact
    q.participant = np.where(skus[ix.cell_sku], cells, q.participant)
    q.quota = np.where(cells, base[ix.cell_sku], np.where(skus[ix.cell_sku], 0.0, q.quota))
    q.named = np.where(skus, 1.0, q.named)


def _round(d: Draft, base: I64, q: Quotas) -> None:
    ix = d.ix
    group = ix.cell_sku
    rank = ix.shop_rank[ix.cell_shop]
    n_s = ix.n_skus
    fractional = q.whole < 0
    total_quota = group_sum(group, np.where(fractional, q.quota, 0), n_s)
    # More asked than there is: scale every quota of the SKU down (shares over 100%).
    scale = np.where(total_quota > base + EPS, base / np.maximum(total_quota, EPS), 1.0)
    quota = q.quota * scale[group]
    # What a cap takes from one shop's quota goes to the others in proportion to theirs.
    spread = fractional & ~q.floor_mode[group]
    room = np.maximum(d.ub - d.lb, 0).astype(np.float64)
    squeezed = spread & (quota > room + EPS)
    if np.any(squeezed):
        # Only SKUs with a squeezed cell change; water-fill just those.
        hit = np.zeros(n_s, dtype=bool)
        hit[group[squeezed]] = True
        idx = np.flatnonzero(spread & hit[group])
        amount = group_sum(group[idx], quota[idx], n_s)
        quota[idx] = water_fill(group[idx], quota[idx], room[idx], amount, n_s)
    lr_total = np.minimum(
        base, np.floor(group_sum(group, np.where(fractional, quota, 0), n_s) + EPS)
    ).astype(np.int64)
    lr = largest_remainder(group, np.where(fractional, quota, 0), lr_total, rank, n_s)
    floored = np.maximum(np.floor(quota + q.offset + EPS), 0).astype(np.int64)
    floor_cells = q.floor_mode[group] & fractional
    floor_sum = group_sum(group, np.where(floor_cells, floored, 0), n_s)
    too_many = q.floor_mode & (floor_sum > base)
    if np.any(too_many):
        floored = np.where(
            too_many[group],
            largest_remainder(
                group,
                floored * base[group] / np.maximum(floor_sum[group], 1),
                np.where(too_many, base, 0),
                rank,
                n_s,
            ),
            floored,
        )
    whole = np.where(fractional, np.where(floor_cells, floored, lr), q.whole)
    whole = np.where(d.exact, 0, whole)
    # floor rounding is the incumbents' formula: the shop gets no more than it says.
    d.set_ub(floor_cells & ~d.exact, floored, d.share_rule[group])
    assigned = d.per_sku(whole)
    d.free_idle = np.where(
        d.peak | d.shared,
        0,
        np.where(
            q.floor_mode,
            np.maximum(base - assigned, 0),
            np.maximum(base - np.floor(base * np.minimum(q.named, 1) + EPS).astype(np.int64), 0),
        ),
    )
    d.target = d.target + whole
    d.target_rule = np.where(whole > 0, d.share_rule[group], d.target_rule)
    # Cells outside the winning share rule keep only what pins, fixed and floors give.
    keep = np.maximum(np.maximum(d.lb, d.floor), d.target)
    d.set_ub(~q.participant & ~d.exact, keep, NONE)
