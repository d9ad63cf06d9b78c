"""Vectorised building blocks of the compile step: precedence, largest remainder,
water-filling, grouped sums. Each works on whole arrays grouped by SKU, never per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from solvers.problem import Grouping

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


def largest_remainder(
    group: I64, quota: F64, total: I64, rank: I64, n_groups: int, by: Grouping | None = None
) -> I64:
    """Whole units per element summing to `total[group]` in each group, each within one
    unit of its quota; the largest fractional parts get the spare units, ties by rank
    (ranks differ within a group: they are the shop ranks of one SKU's cells).

    `total` may not exceed the floors plus the count of elements of a group (callers
    pass floor(sum of quotas)). Fractional parts within one millionth count as equal.
    `by`, the grouping of `group` when the caller has it, lets groups of one width
    be ordered row by row."""
    if by is not None and by.width:
        return _largest_remainder_rows(by, quota, total, rank)
    base = np.floor(quota + EPS).astype(np.int64)
    spare = total - group_sum(group, base, n_groups).astype(np.int64)
    # Only the elements of groups with spare units need an order.
    at = np.flatnonzero(spare[group] > 0)
    if at.size == 0:
        return base
    member = group[at]
    # One integer sort key instead of a three-key lexsort: group, then the fraction
    # (largest first, in 2^-20 steps), then rank. Ranks are below 2^12, groups 2^31.
    key = _behind(quota[at], base[at])
    key |= member << 33
    key |= rank[at]
    # Keys arrive nearly sorted (by group), where a stable sort (timsort) is fastest.
    ordered = np.sort(key, kind="stable")
    # An element gets a spare unit when its key is at most its group's spare-th smallest.
    in_order = ordered >> 33
    first = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1]])
    owner = in_order[first]
    size = np.diff(np.r_[first, ordered.size])
    last_served = np.zeros(n_groups, dtype=np.int64)
    last_served[owner] = ordered[first + np.minimum(spare[owner], size) - 1]
    base[at] += key <= last_served[member]
    return base


def _largest_remainder_rows(by: Grouping, quota: F64, total: I64, rank: I64) -> I64:
    """`largest_remainder` for groups of one width: a [group, position] table, where a
    sort of each row orders a group.

    The sort keys are `_behind`'s, held as whole float64 numbers (below 2^34, so exact
    and ordered alike) and built in the buffer that held the floors: one per-element
    array fewer than integer keys."""
    q = by.table(quota)
    work = q + EPS
    np.floor(work, out=work)
    base = work.astype(np.int64)
    spare = total - by.sum(base.reshape(-1))
    # q - floor, as q - base would be (the floors are whole floats, base their ints).
    key = np.subtract(q, work, out=work)
    np.subtract(1.0, key, out=key)
    key *= 1 << 20
    np.round(key, out=key)
    key *= 1 << 12
    key += by.table(rank)
    ordered = np.sort(key, axis=1)
    # An element gets a spare unit when its key is at most its row's spare-th smallest.
    pick = np.clip(spare, 1, by.width) - 1
    last_served = ordered[np.arange(by.n_groups), pick]
    del ordered
    served = key <= last_served[:, None]
    served &= (spare > 0)[:, None]
    base += served
    return base.reshape(-1)


def _behind(quota: F64, base: I64) -> I64:
    """Sort key bits 12+ of each element: how far its fraction is from 1, in 2^-20
    steps (largest fraction first)."""
    step = np.subtract(quota, base)
    np.subtract(1.0, step, out=step)
    step *= 1 << 20
    np.round(step, out=step)
    key = step.astype(np.int64)
    key <<= 12
    return key


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
    # Bisect over the groups present only, their elements contiguous: a stable sort
    # keeps each group's elements in order, so every sum adds as before, bit for bit.
    order = None if np.all(group[1:] >= group[:-1]) else np.argsort(group, kind="stable")
    if order is not None:
        group, velocity, cap = group[order], velocity[order], cap[order]
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if group.size else group
    start = np.r_[first, group.size]
    by = Grouping(np.repeat(np.arange(first.size), np.diff(start)), first.size, start)
    cap = np.where(velocity > 0, cap, 0.0)
    want = np.minimum(np.asarray(amount, dtype=np.float64)[group[first]], by.fsum(cap))
    # At L = want / slowest velocity every open element alone would cover `want`.
    speed = np.where(velocity > 0, velocity, np.inf)
    v_min = np.minimum.reduceat(speed, first) if first.size else want
    open_ = np.isfinite(v_min)
    hi = np.where(open_, want / np.where(open_, v_min, 1.0), 0.0)
    lo = np.zeros(first.size)
    filled = _filled(by, velocity, cap)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        below = filled(mid) < want
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = np.minimum(by.spread(hi) * velocity, cap)
    if order is not None:
        out[order] = out.copy()
    return out


def _filled(by: Grouping, velocity: F64, cap: F64) -> Callable[[F64], F64]:
    """Per group, sum(min(level * velocity, cap)) as a function of the group's level,
    added in element order (as bincount adds)."""
    if not by.width:
        return lambda level: by.fsum(np.minimum(by.spread(level) * velocity, cap))
    # Groups of one width: [position, group] tables, so that each bisection step is a
    # few contiguous passes into buffers allocated once.
    speed = by.table(velocity).T.copy()
    room = by.table(cap).T.copy()
    work = np.empty_like(speed)
    total = np.empty(by.n_groups)

    def filled(level: F64) -> F64:
        np.multiply(speed, level, out=work)
        np.minimum(work, room, out=work)
        total.fill(0.0)
        for position in work:
            np.add(total, position, out=total)
        return total

    return filled


def sequential_fill(group: I64, cap: I64, amount: I64) -> I64:
    """Fill elements in order (sorted by group, then fill order), each up to its cap."""
    before = np.cumsum(cap) - cap
    if group.size:
        first = np.r_[True, group[1:] != group[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
        before = before - before[start]
    return np.clip(amount[group] - before, 0, cap)
