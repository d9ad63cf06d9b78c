"""Vectorised building blocks of the compile step: precedence, largest remainder,
water-filling, grouped sums. Each works on whole arrays grouped by SKU, never per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

EPS = 1e-9


def group_sum(groups: I64, values: NDArray[np.generic], n: int) -> F64:
    return np.bincount(groups, weights=values, minlength=n).astype(np.float64)


def winners(
    size: int,
    candidates: Sequence[tuple[int, int, int]],
    mask_of: Callable[[int], Mask],
) -> I64:
    """Per element, the index of the winning rule (-1 if none matches).

    `candidates` holds (rule_index, specificity, priority); rules are applied from the
    weakest to the strongest so that the strongest match overwrites: more specific
    scope first, then higher priority, then later in the file (RULES.md)."""
    won = np.full(size, -1, dtype=np.int64)
    for rule_index, _, _ in sorted(candidates, key=lambda c: (c[1], c[2], c[0])):
        won[mask_of(rule_index)] = rule_index
    return won


def largest_remainder(group: I64, quota: F64, total: I64, rank: I64, n_groups: int) -> I64:
    """Whole units per element summing to `total[group]` in each group, each within one
    unit of its quota; the largest fractional parts get the spare units, ties by rank.

    `total` may not exceed the floors plus the count of elements of a group (callers
    pass floor(sum of quotas)). Fractional parts within one millionth count as equal."""
    base = np.floor(quota + EPS).astype(np.int64)
    spare = total - group_sum(group, base, n_groups).astype(np.int64)
    # One integer sort key instead of a three-key lexsort: group, then the fraction
    # (largest first, in 2^-20 steps), then rank. Ranks are below 2^12, groups 2^31.
    behind = np.round((1.0 - (quota - base)) * (1 << 20)).astype(np.int64)
    key = (group << 33) | (behind << 12) | rank
    order = np.argsort(key)
    sorted_group = group[order]
    start = np.searchsorted(sorted_group, sorted_group, side="left")
    position = np.arange(order.size) - start
    extra = np.zeros(order.size, dtype=np.int64)
    extra[order] = (position < spare[sorted_group]).astype(np.int64)
    return base + extra


def split_whole(group: I64, weight: F64, amount: I64, rank: I64, n_groups: int) -> I64:
    """Split `amount[g]` whole units over each group's elements in proportion to weight
    (equal split where a group's weights are all zero)."""
    weight = np.asarray(weight, dtype=np.float64)
    total_w = group_sum(group, weight, n_groups)
    count = group_sum(group, np.ones(group.size), n_groups)
    use_equal = total_w[group] <= 0
    share = np.where(
        use_equal,
        1.0 / np.maximum(count[group], 1),
        weight / np.where(total_w[group] > 0, total_w[group], 1.0),
    )
    return largest_remainder(group, share * amount[group], amount, rank, n_groups)


def water_fill(
    group: I64, velocity: F64, cap: F64, amount: F64, n_groups: int, iterations: int = 64
) -> F64:
    """Equalise days of cover: find per group the level L with
    sum(min(L * velocity, cap)) = amount, by bisection on all groups at once.
    Returns the (fractional) quantity per element."""
    cap = np.where(velocity > 0, cap, 0.0)
    reachable = group_sum(group, cap, n_groups)
    want = np.minimum(amount, reachable)
    # At L = want / slowest velocity every open element alone would cover `want`.
    v_min = np.full(n_groups, np.inf)
    np.minimum.at(v_min, group, np.where(velocity > 0, velocity, np.inf))
    open_ = np.isfinite(v_min)
    hi = np.where(open_, want / np.where(open_, v_min, 1.0), 0.0)
    lo = np.zeros(n_groups)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        filled = group_sum(group, np.minimum(mid[group] * velocity, cap), n_groups)
        below = filled < want
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.minimum(hi[group] * velocity, cap)


def sequential_fill(group: I64, cap: I64, amount: I64) -> I64:
    """Fill elements in order (sorted by group, then fill order), each up to its cap."""
    before = np.cumsum(cap) - cap
    if group.size:
        first = np.r_[True, group[1:] != group[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
        before = before - before[start]
    return np.clip(amount[group] - before, 0, cap)
