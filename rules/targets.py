"""Pipeline step 3 (targets): the share rules turn what is left of each SKU's pool after
reserves, pins and fixed quantities (the *share base*) into whole-unit targets.

Per SKU the most specific share rule wins. Every share rule yields a fractional quota
per cell; quotas above the share base are scaled down (shares over 100%), then largest
remainder makes them whole (or `floor`, the incumbents' formula). SKUs that no share rule
covers are split in proportion to velocity, or equally when they have none. Each share
rule class has its entry in SHARES: the shops it names and its quota handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rules.arith import (
    EPS,
    dense_groups,
    group_sum,
    largest_remainder,
    members,
    sequential_fill,
    water_fill,
)
from rules.catalog import (
    CoverTarget,
    DaysOfCoverBalance,
    EqualSplit,
    ExpectedSales,
    Kind,
    NewProduct,
    Percentage,
    PercentageOffset,
    PriorityFill,
    RuleBase,
    SharedPool,
    TieredPercentage,
    VelocityClass,
    VelocityProportional,
    Weighted,
    at_path,
    ids_in,
)
from rules.draft import F64, I64, NONE, Draft, Mask, Stage
from rules.expected import greedy_split, horizon_demand, worth_a_target
from rules.worth import WorthAsked
from solvers.problem import Grouping, row_sums

DEFAULT_POLICIES = {"A": "shared", "B": "velocity", "C": "concentrate"}
EXCLUSIVE = -2  # share_rule marker is the exclusive_when_low rule itself


class Quotas:
    """Accumulates the share rules' output before rounding."""

    def __init__(self, d: Draft) -> None:
        n_s, n_c = d.ix.n_skus, d.ix.n_cells
        self.quota = np.zeros(n_c)  # fractional units per cell
        self.offset: F64 | None = None  # percentage_offset's b (None: zero everywhere)
        self.n_cells = n_c
        self.whole: I64 | None = None  # targets already whole (priority_fill), -1 = none
        self.named = np.ones(n_s)  # sum of the winning rule's shares (free idle below 1)
        self.floor_mode = np.zeros(n_s, dtype=bool)
        self.participant = np.zeros(n_c, dtype=bool)


def share_base(d: Draft) -> I64:
    """Pool minus what reserves, pins and fixed quantities already took."""
    taken = np.where(d.exact, np.maximum(d.target, d.lb), d.lb) if d.exact.any() else d.lb
    extra = d.share_base_extra - d.share_base_less
    return np.maximum(d.pool + extra - d.per_sku(taken), 0)


def by_shop(d: Draft, amounts: dict[str, float]) -> F64:
    out = np.zeros(d.ix.n_shops)
    for shop, value in amounts.items():
        if shop in d.ix.shop_pos:
            out[d.ix.shop_pos[shop]] = value
    return out


def rule_cells(d: Draft, k: int) -> Mask:
    """Cells a share rule names: its scope, on the shops its SHARES entry's field names."""
    rule = d.rule(k)
    share = SHARES[type(rule)]
    names: list[str] | None = None
    if share.shops is not None:
        values = [value for _, value in at_path(rule, share.shops) if value is not None]
        names = [name for value in values for name in ids_in(value)] if values else None
    mask = d.cell_rule_mask(k, names)
    if share.unsold_only:
        mask &= (d.per_sku(d.ix.velocity) <= 0)[d.ix.cell_sku]
    return mask


def apply_shares(d: Draft, rules: list[int]) -> None:
    """The share rules (and the default split) turn the share base into targets."""
    ix = d.ix
    base = share_base(d)
    d.share_base = base
    cells_of = {k: rule_cells(d, k) for k in rules}
    candidate = {k: ix.by_sku.any(cells_of[k]) for k in rules}
    won = d.win(rules, ix.n_skus, candidate.__getitem__)
    won[d.exclusive] = EXCLUSIVE
    q = Quotas(d)
    open_cell = ~d.exact
    for k in rules:
        skus = won == k
        if not np.any(skus):
            d.warn("rule_never_wins", k, "a more specific share rule wins on every SKU it selects")
            continue
        cells = cells_of[k] & ix.by_sku.spread(skus) & open_cell
        _quota_for_rule(d, k, skus, cells, base, q)
    _default_quota(d, won == NONE, base, q)
    _exclusive_quota(d, d.exclusive, base, q)
    d.share_rule = np.where(won >= 0, won, d.share_rule)
    _round(d, base, q)


def _quota_for_rule(d: Draft, k: int, skus: Mask, cells: Mask, base: I64, q: Quotas) -> None:
    rule = d.rule(k)
    q.participant |= cells
    SHARES[type(rule)].quota(d, k, rule, skus, cells, base, q)


def _percentage(
    d: Draft, k: int, rule: Percentage, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    _fractions(d, k, skus, cells, by_shop(d, rule.shares), base, q)
    if rule.rounding == "floor":
        q.floor_mode |= skus & ~d.peak


def _percentage_offset(
    d: Draft, k: int, rule: PercentageOffset, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    """Wangdiantong's formula: floor rounding, with an offset per shop."""
    _fractions(d, k, skus, cells, by_shop(d, rule.shares), base, q)
    q.floor_mode |= skus
    offset = 0.0 if q.offset is None else q.offset
    q.offset = np.where(cells, by_shop(d, dict(rule.offsets))[d.ix.cell_shop], offset)


def _tiered(
    d: Draft, k: int, rule: TieredPercentage, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    lower = 0
    for tier in rule.tiers:
        upper = tier.threshold if tier.threshold is not None else np.iinfo(np.int64).max
        band = skus & (base >= lower) & (base < upper)
        spread = d.ix.by_sku.spread(band)
        _fractions(d, k, band, cells & spread, by_shop(d, tier.shares), base, q)
        lower = upper
    if rule.rounding == "floor":
        q.floor_mode |= skus & ~d.peak


def _equal_split(
    d: Draft, k: int, rule: EqualSplit, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    _proportional(d, np.flatnonzero(cells), None, base, q)


def _weighted(
    d: Draft, k: int, rule: Weighted, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    weight = by_shop(d, rule.weights)[d.ix.cell_shop]
    _proportional(d, np.flatnonzero(cells), weight, base, q)
    q.participant &= ~(cells & (weight <= 0))


def _by_velocity(
    d: Draft, k: int, rule: VelocityProportional, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    _proportional(d, np.flatnonzero(cells), d.velocity, base, q)


def _new_product(
    d: Draft, k: int, rule: NewProduct, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    if rule.shares is not None:
        _fractions(d, k, skus, cells, by_shop(d, rule.shares), base, q)
    else:
        _proportional(d, np.flatnonzero(cells), _category_velocity(d), base, q)


def _cover_balance(
    d: Draft, k: int, rule: DaysOfCoverBalance, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    ix = d.ix
    at = np.flatnonzero(cells)
    rows = _whole_rows(d, at)
    if rows is not None:
        _cover_balance_rows(d, rows, base, q)
        return
    owner, speed = ix.cell_sku[at], d.velocity[at]
    cap = np.minimum(d.ub[at] - d.lb[at], base[owner]).astype(np.float64)
    q.quota[at] = water_fill(owner, speed, cap, base.astype(float), ix.n_skus)
    no_velocity = group_sum(owner, speed, ix.n_skus) <= 0
    _proportional(d, at[no_velocity[owner]], None, base, q)


def _priority_fill(
    d: Draft, k: int, rule: PriorityFill, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    ix = d.ix
    caps = np.full(ix.n_shops, np.iinfo(np.int64).max // 4, dtype=np.int64)
    for shop, units in rule.quantities.items():
        if shop in ix.shop_pos:
            caps[ix.shop_pos[shop]] = units
    idx = np.flatnonzero(cells)  # cells are ordered by SKU, then shop priority
    if q.whole is None:
        q.whole = np.full(q.n_cells, -1, dtype=np.int64)
    q.whole[idx] = sequential_fill(ix.cell_sku[idx], caps[ix.cell_shop[idx]], base)
    capped = cells & (caps[ix.cell_shop] < np.iinfo(np.int64).max // 4)
    d.set_ub(capped, caps[ix.cell_shop], k)


def _expected_sales(
    d: Draft, k: int, rule: ExpectedSales, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    """Whole targets that maximise each SKU's expected sales over the horizon: within
    each cell's room above its pins, its own soft floor first; floors on the SKU's other
    shops are served from the base before the rule splits the rest."""
    ix = d.ix
    at = np.flatnonzero(cells)
    if not at.size:
        return
    mean, size = horizon_demand(d.velocity[at], ix.dispersion[at], rule.horizon_days)
    lb = d.lb[at]
    room = np.maximum(d.ub[at] - lb, 0)
    own_floor = np.clip(np.minimum(d.floor[at], d.ub[at]) - lb, 0, room)
    amount = np.maximum(base - d.per_sku(_floor_need(d, ix.by_sku.spread(skus) & ~cells)), 0)
    by = Grouping.of_sorted(ix.cell_sku[at], ix.n_skus)
    if q.whole is None:
        q.whole = np.full(q.n_cells, -1, dtype=np.int64)
    most = worth_a_target(mean, size, lb, own_floor, room)
    q.whole[at] = greedy_split(by, mean, size, lb, own_floor, room, amount, most)
    # Where SKUs compete (rules/worth.py), the solver places their units by worth: a
    # unit's chance to sell, times its SKU's price by revenue.
    # No cell holds more than its pins plus what the others' pins leave of the pool.
    free = np.maximum(d.pool + d.share_base_extra - d.per_sku(d.lb), 0)
    np.minimum(most, free[ix.cell_sku[at]], out=most)
    if rule.objective == "revenue":
        price = ix.price_cents[ix.cell_sku[at]].astype(np.float64)
    else:
        price = np.ones(at.size)
    by_revenue = np.full(at.size, rule.objective == "revenue")
    d.worth.append(WorthAsked(at, mean, size, lb, most, price, by_revenue))


def _floor_need(d: Draft, cells: Mask) -> I64:
    """Per cell (zero outside `cells`): the units its soft floor asks beyond its target."""
    need = np.minimum(d.floor, d.ub) - d.target
    return np.where(cells, np.maximum(need, 0), 0)


def _shared_pool(
    d: Draft, k: int, rule: SharedPool, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    _shared(d, skus, cells, q)


def _fractions(d: Draft, k: int, skus: Mask, cells: Mask, share: F64, base: I64, q: Quotas) -> None:
    """Quotas from per-shop `share`s of the base, on the rule's cells of `skus`."""
    ix = d.ix
    group = ix.cell_sku
    named_at = np.flatnonzero(d.cell_rule_mask(k) & ix.by_sku.spread(skus))
    named = _named_shares(d, named_at, share)
    q.named[skus] = named[skus]
    at = np.flatnonzero(cells)
    share_at = share[ix.cell_shop[at]]
    rows = _whole_rows(d, at)
    if rows is not None:  # whole SKUs: their rows, not a gather per cell
        table = share_at.reshape(rows.size, -1) * base[rows][:, None]
        ix.by_sku.table(q.quota)[rows] = table
    else:
        q.quota[at] = share_at * base[group[at]]
    # A shop named with a zero share is held at zero, not a place for leftovers.
    q.participant[at[share_at <= 0]] = False
    over = skus & (named > 1 + EPS)
    if np.any(over):
        d.warn(
            "shares_exceed_100",
            k,
            f"shares add up to {named[over].max():.0%} for {int(over.sum())} SKU(s); "
            "scaled to the pool instead of overselling",
        )


def _named_shares(d: Draft, at: I64, share: F64) -> F64:
    """Per SKU, the sum of the shares of its cells `at` (added in cell order)."""
    ix = d.ix
    rows = _whole_rows(d, at)
    if rows is None:
        return group_sum(ix.cell_sku[at], share[ix.cell_shop[at]], ix.n_skus)
    named = np.zeros(ix.n_skus)
    named[rows] = row_sums(share[np.take(ix.by_sku.table(ix.cell_shop), rows, axis=0)])
    return named


def _proportional(d: Draft, at: I64, weight: F64 | None, base: I64, q: Quotas) -> None:
    """Quotas at cells `at`: the base split in proportion to the per-cell `weight`
    (None: equally), equally where a SKU's weights are all zero.

    Sums run over the cells concerned only: the zeros of the others add nothing."""
    if at.size == 0:
        return
    rows = _whole_rows(d, at)
    if rows is not None:
        _proportional_rows(d, rows, weight, base, q)
        return
    group = d.ix.cell_sku[at]
    w = np.ones(at.size) if weight is None else weight[at].astype(np.float64, copy=False)
    total = group_sum(group, w, d.ix.n_skus)[group]
    equal = total <= 0
    frac = w / np.where(equal, 1.0, total)
    if equal.any():
        count = np.bincount(group, minlength=d.ix.n_skus)
        frac[equal] = 1.0 / np.maximum(count[group[equal]], 1)
    frac *= base[group]
    q.quota[at] = frac


def _whole_rows(d: Draft, at: I64) -> I64 | None:
    """The SKUs whose cells `at` are, when SKUs have one number of cells and `at` takes
    all of each one's cells; else None."""
    width = d.ix.by_sku.width
    if not width or not at.size or at.size % width:
        return None
    first, last = at[::width], at[width - 1 :: width]
    if np.any(first % width) or np.any(last - first != width - 1):
        return None
    return first // width


def _proportional_rows(d: Draft, rows: I64, weight: F64 | None, base: I64, q: Quotas) -> None:
    """`_proportional` on whole SKUs of one width: [SKU, position] tables, no gathers
    per cell. Sums add in cell order, as the per-cell version's do."""
    by_sku = d.ix.by_sku
    if weight is None:
        w = np.ones((rows.size, by_sku.width or 0))
    else:
        # np.take copies whole rows; fancy indexing goes element by element.
        w = np.take(by_sku.table(weight.astype(np.float64, copy=False)), rows, axis=0)
    total = row_sums(w)
    equal = total <= 0
    w /= np.where(equal, 1.0, total)[:, None]
    if equal.any():
        w[equal] = 1.0 / max(w.shape[1], 1)
    w *= base[rows][:, None]
    by_sku.table(q.quota)[rows] = w


def _cover_balance_rows(d: Draft, rows: I64, base: I64, q: Quotas) -> None:
    """days_of_cover_balance on whole SKUs of one width: their [SKU, position] rows,
    taken whole (contiguous copies, no gathers per cell); equal split where a SKU has
    no velocity."""
    by_sku = d.ix.by_sku
    width = by_sku.width or 0

    def take(values: NDArray[Any]) -> NDArray[Any]:
        return np.take(by_sku.table(values), rows, axis=0)

    cap = np.subtract(take(d.ub), take(d.lb), dtype=np.float64)
    np.minimum(cap, base[rows][:, None], out=cap)
    group = np.repeat(np.arange(rows.size), width)
    speed = take(d.velocity)
    filled = water_fill(
        group, speed.reshape(-1), cap.reshape(-1), base[rows].astype(float), rows.size
    )
    by_sku.table(q.quota)[rows] = filled.reshape(rows.size, width)
    # SKUs without velocity anywhere: split equally.
    still = ~np.any(speed > 0, axis=1)
    if still.any():
        _proportional_rows(d, rows[still], None, base, q)


def _category_velocity(d: Draft) -> F64:
    """Per cell: the average velocity of the SKU's category on the cell's shop."""
    ix = d.ix
    key = ix.sku_category[ix.cell_sku] * ix.n_shops + ix.cell_shop
    size = len(ix.categories) * ix.n_shops
    has = ix.velocity > 0
    total = np.bincount(key, weights=np.where(has, d.velocity, 0.0), minlength=size)
    count = np.bincount(key, weights=has.astype(float), minlength=size)
    return (total / np.maximum(count, 1))[key]


def _cover_target(
    d: Draft, k: int, rule: CoverTarget, skus: Mask, cells: Mask, base: I64, q: Quotas
) -> None:
    ix = d.ix
    group = ix.cell_sku
    need = np.where(cells, np.ceil(d.velocity * rule.days - EPS), 0).astype(np.int64)
    total_need = group_sum(group, need, ix.n_skus)
    # Short of stock: cover is shared in proportion to need, not by shop order.
    short = total_need > base
    idx = np.flatnonzero(cells & short[group])
    if idx.size:
        # In float64: need x base can pass int64 (engine/core/limits.py).
        scaled = np.multiply(need[idx], base[group[idx]], dtype=np.float64)
        scaled /= np.maximum(total_need[group[idx]], 1)
        rank = ix.shop_rank[ix.cell_shop[idx]]
        need[idx] = largest_remainder(group[idx], scaled, base, rank, ix.n_skus)
    d.floor = np.where(cells, d.lb + need, d.floor)
    d.floor_rule = np.where(cells & (need > 0), k, d.floor_rule)
    rest = np.maximum(base - d.per_sku(need), 0)
    before = q.quota.copy()
    _proportional(d, np.flatnonzero(cells), d.velocity, rest, q)
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
            _proportional(d, np.flatnonzero(cls_cells), d.velocity, base, q)
        elif policy == "equal":
            _proportional(d, np.flatnonzero(cls_cells), None, base, q)
        else:
            best = _best_cell(d, cls_cells)
            _proportional(d, np.flatnonzero(cls_cells), best.astype(float), base, q)
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
    cells = d.ix.by_sku.spread(skus) & ~d.exact
    q.participant |= cells
    _proportional(d, np.flatnonzero(cells), d.velocity, base, q)


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
    by_sku = ix.by_sku
    group = ix.cell_sku
    n_s = ix.n_skus
    # Without priority_fill every quota is fractional; np.where would only copy.
    fractional = np.ones(ix.n_cells, dtype=bool) if q.whole is None else q.whole < 0
    every = bool(fractional.all())
    total_quota = by_sku.fsum(q.quota if every else np.where(fractional, q.quota, 0))
    # More asked than there is: scale every quota of the SKU down (shares over 100%).
    scale = np.where(total_quota > base + EPS, base / np.maximum(total_quota, EPS), 1.0)
    # Scaled in place: the unscaled quotas are not read again.
    quota = by_sku.combine(np.multiply, scale, q.quota, out=q.quota)
    # What a cap takes from one shop's quota goes to the others in proportion to theirs.
    spread = fractional & ~by_sku.spread(q.floor_mode)
    # The room ub - lb (at least 0) in floats, straight from the bounds: exact where it
    # is below 2^53; above, both bounds are far beyond any quota, so the comparison
    # holds as with the exact room. One per-cell array instead of two.
    limit = np.subtract(d.ub, d.lb, dtype=np.float64)
    np.maximum(limit, 0.0, out=limit)
    limit += EPS
    squeezed = quota > limit
    squeezed &= spread
    del limit
    if np.any(squeezed):
        # Only SKUs with a squeezed cell change; water-fill just those.
        hit = np.zeros(n_s, dtype=bool)
        hit[group[squeezed]] = True
        idx = np.flatnonzero(spread & by_sku.spread(hit))
        amount = group_sum(group[idx], quota[idx], n_s)
        room = np.maximum(d.ub[idx] - d.lb[idx], 0).astype(np.float64)
        quota[idx] = water_fill(group[idx], quota[idx], room, amount, n_s)
    lr_quota = quota if every else np.where(fractional, quota, 0)
    lr_total = np.minimum(base, np.floor(by_sku.fsum(lr_quota) + EPS)).astype(np.int64)
    rank = ix.cell_rank
    lr = largest_remainder(group, lr_quota, lr_total, rank, n_s, by_sku)
    any_floor = bool(q.floor_mode.any())
    if any_floor:
        floored, floor_cells = _floored(d, base, quota, fractional, rank, q)
        whole = np.where(floor_cells, floored, lr)
    else:
        whole = lr
    if not every:
        assert q.whole is not None
        whole = np.where(fractional, whole, q.whole)
    if d.exact.any():
        whole = np.where(d.exact, 0, whole)
    if any_floor:
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
    whole = _floors_take_from_targets(d, base, whole)
    d.target += whole
    # Where the rule gave units, its id: rule + (got units) * (share rule - rule). A
    # blend, not a masked copy: which cells got units follows no pattern, and a masked
    # copy branches on every cell (several times slower at a million cells).
    change = by_sku.combine(np.subtract, d.share_rule, d.target_rule)
    change *= whole > 0
    d.target_rule += change
    # Cells outside the winning share rule keep only what pins, fixed and floors give.
    out = np.flatnonzero(~q.participant & ~d.exact)
    keep = np.maximum(np.maximum(d.lb[out], d.floor[out]), d.target[out])
    d.tighten_ub(out, keep, NONE)


def _floors_take_from_targets(d: Draft, base: I64, whole: I64) -> I64:
    """Soft floors come before targets. Where a SKU's floors ask for more units than its
    targets leave over (idle or over-target units go first), the winning share rule's
    cells give them up in proportion to their targets, as a cap's excess is passed on
    in proportion, never below their own floors; made whole by largest remainder.
    Pool 100, shares A 0.5 / B 0.5, floor C 5: targets A 48, B 47 (not A 50, B 45).

    Only the SKUs with a floor above its cell's target are read."""
    floored = np.flatnonzero(d.floor)
    if not floored.size:
        return whole
    ix = d.ix
    n_s = ix.n_skus
    above = np.minimum(d.floor[floored], d.ub[floored]) - d.target[floored] - whole[floored]
    short = above > 0
    if not short.any():
        return whole
    need = group_sum(ix.cell_sku[floored[short]], above[short], n_s).astype(np.int64)
    skus = np.flatnonzero(need)
    at = members(ix.by_sku, skus)
    by = Grouping.of_sorted(dense_groups(ix.cell_sku[at]), skus.size)
    mine = whole[at]
    # A cell gives only share units, and only those above its own floor.
    have = d.target[at] + mine
    room = np.clip(have - np.minimum(d.floor[at], d.ub[at]), 0, mine)
    targeted = by.sum(mine)
    left = np.maximum(base[skus] - targeted, 0)
    give = np.clip(need[skus] - left, 0, by.sum(room))
    if not give.any():
        return whole
    donor = np.flatnonzero((room > 0) & by.spread(give > 0))
    group = by.group[donor]
    cut = water_fill(group, mine[donor].astype(np.float64), room[donor], give, skus.size)
    total = group_sum(group, mine[donor], skus.size).astype(np.int64) - give
    kept = largest_remainder(group, mine[donor] - cut, total, ix.cell_rank[at[donor]], skus.size)
    whole = whole.copy()
    whole[at[donor]] = kept
    return whole


def _floored(
    d: Draft, base: I64, quota: F64, fractional: Mask, rank: I64, q: Quotas
) -> tuple[I64, Mask]:
    """`floor` rounding: whole units per cell and the cells it applies to, scaled down
    by largest remainder where the floors add up to more than the base."""
    ix = d.ix
    group = ix.cell_sku
    n_s = ix.n_skus
    shifted = quota + EPS if q.offset is None else quota + q.offset + EPS
    floored = np.maximum(np.floor(shifted), 0).astype(np.int64)
    floor_cells = ix.by_sku.spread(q.floor_mode) & fractional
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
                ix.by_sku,
            ),
            floored,
        )
    return floored, floor_cells


@dataclass(frozen=True)
class Share:
    """How the rules of one share class turn the base into quotas."""

    # Sets the quotas (and what else the rule decides) on the cells of the SKUs it wins.
    quota: Callable[[Draft, int, Any, Mask, Mask, I64, Quotas], None]
    # The field (a path as in `refs`) naming the shops its cells are on; None, or the
    # field unset: every shop in scope.
    shops: str | None
    unsold_only: bool = False  # only SKUs without sales history


# Per share rule class, its handler (the SKUs a share rule wins are its own).
SHARES: dict[type[RuleBase], Share] = {
    Percentage: Share(_percentage, "shares"),
    PercentageOffset: Share(_percentage_offset, "shares"),
    TieredPercentage: Share(_tiered, "tiers[].shares"),
    EqualSplit: Share(_equal_split, "shops"),
    Weighted: Share(_weighted, "weights"),
    VelocityProportional: Share(_by_velocity, "shops"),
    NewProduct: Share(_new_product, "shares", unsold_only=True),
    DaysOfCoverBalance: Share(_cover_balance, "shops"),
    CoverTarget: Share(_cover_target, "shops"),
    ExpectedSales: Share(_expected_sales, "shops"),
    PriorityFill: Share(_priority_fill, "shops"),
    SharedPool: Share(_shared_pool, "shops"),
    VelocityClass: Share(_velocity_class, None),
}

# Pipeline step 3 (targets): the share rules compete for each SKU.
TARGETS: Stage = {Kind.SHARE: apply_shares}


def apply_targets(d: Draft) -> None:
    d.run(TARGETS)
