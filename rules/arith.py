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
    weakest to the strongest so that the strongest match overwrites. The precedence of
    docs/rules.md: the more specific scope wins, then the higher priority, then the
    later rule in the file."""
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


def water_fill(group: I64, velocity: F64, cap: F64, amount: F64, n_groups: int) -> F64:
    """Equalise days of cover: per group the level L with
    sum(min(L * velocity, cap)) = min(amount, sum(cap)); returns each element's
    (fractional) quantity min(L * velocity, cap). Caps are finite.

    Exact, not iterative. Where no cap binds, L is the amount over the group's total
    velocity. Elsewhere elements saturate one by one, as L grows, at their breakpoints
    cap / velocity: `_binding_levels` finds the segment L lies in."""
    velocity = np.asarray(velocity, dtype=np.float64)
    open_ = velocity > 0
    # Elements without velocity take nothing. Products, not masked copies: which
    # elements have velocity follows no pattern, and a masked copy branches on each.
    cap = np.multiply(cap, open_, dtype=np.float64)
    speed = np.multiply(velocity, open_)
    by = Grouping.of(group, n_groups)
    want = np.minimum(np.asarray(amount, dtype=np.float64), by.fsum(cap))
    np.maximum(want, 0.0, out=want)
    total_speed = by.fsum(speed)
    level = np.divide(want, total_speed, out=np.zeros(n_groups), where=total_speed > 0)
    out = by.combine(np.multiply, level, speed)
    binds = by.any(out > cap)
    if binds.any():
        at = np.flatnonzero(by.spread(binds))
        exact = _binding_levels(group[at], speed[at], cap[at], want)
        level[binds] = exact[binds]
        out = by.combine(np.multiply, level, speed)
    np.minimum(out, cap, out=out)
    return out


def _binding_levels(group: I64, speed: F64, cap: F64, want: F64) -> F64:
    """Per group, the level L with sum(min(L * speed, cap)) = want (want at most the
    group's caps, speeds > 0 or caps 0). In breakpoint order, the fill at the j-th
    breakpoint t_j is (caps of the elements before j) + t_j * (speeds from j on); L lies
    past the last breakpoint whose fill falls short, where the fill is linear in L."""
    t = np.divide(cap, speed, out=np.zeros(cap.shape), where=speed > 0)
    order, by = _breakpoint_order(group, t)
    start = by.start
    assert start is not None  # built from sorted groups
    present = group[order[start[:-1]]]
    ts, cs, vs = t[order], cap[order], speed[order]
    cap_before, _ = _running(by, cs, reverse=False)
    speed_after, _ = _running(by, vs, reverse=True)
    speed_from = np.add(speed_after, vs, out=speed_after)
    goal = want[present]
    fill = np.multiply(ts, speed_from, out=ts)
    fill += cap_before
    # Fills rise along a group: the count of short ones is the position of the first not.
    short = by.sum(fill < by.spread(goal))
    last = start[1:] - 1
    at = np.minimum(start[:-1] + short, last)
    rest = speed_from[at]
    level = np.divide(goal - cap_before[at], rest, out=np.zeros(rest.shape), where=rest > 0)
    # Short everywhere (rounding only: the last fill is the total of the caps): all full.
    np.copyto(level, t[order[last]], where=short > by.sizes - 1)
    per_group = np.zeros(want.size)
    per_group[present] = level
    return per_group


def _breakpoint_order(group: I64, t: F64) -> tuple[I64, Grouping]:
    """Elements ordered by group, then breakpoint (stably), and the Grouping of the
    groups present in that order (numbered 0.. in group order)."""
    n = group.size
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if n else group
    sizes = np.diff(np.r_[first, n])
    width = int(sizes[0]) if first.size and sizes.min() == sizes.max() else 0
    if width and np.all(group[first[1:]] > group[first[:-1]]):
        # Groups sorted, of one width: a sort of each row of a [group, position] table.
        rows = np.argsort(t.reshape(-1, width), axis=1, kind="stable")
        rows += first[:, None]
        order = rows.reshape(-1)
        return order, Grouping.of_sorted(np.repeat(np.arange(first.size), width), first.size)
    by_t = np.argsort(t, kind="stable")
    order = by_t[np.argsort(group[by_t], kind="stable")]
    s_group = group[order]
    starts = np.flatnonzero(np.r_[True, s_group[1:] != s_group[:-1]]) if n else s_group
    dense = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    return order, Grouping.of_sorted(dense, starts.size)


def _running(by: Grouping, values: F64, reverse: bool) -> tuple[F64, F64]:
    """Per element, the sum of the elements before it in its group (after it, when
    `reverse`), and per group the total. Added one position at a time across all
    groups: each group's sums are its own, in one order, with no running total
    carried from group to group (whose rounding would leak into small groups)."""
    out = np.empty_like(values)
    acc = np.zeros(by.n_groups)
    assert by.start is not None
    sizes = by.sizes
    if by.width:
        table, res = by.table(values), by.table(out)
        for p in reversed(range(by.width)) if reverse else range(by.width):
            res[:, p] = acc
            acc += table[:, p]
        return out, acc
    longest_first = np.argsort(-sizes, kind="stable")
    descending = sizes[longest_first]
    for p in range(int(descending[0]) if descending.size else 0):
        active = longest_first[: int(np.searchsorted(-descending, -p, side="left"))]
        idx = by.start[active] + (sizes[active] - 1 - p if reverse else p)
        out[idx] = acc[active]
        acc[active] += values[idx]
    return out, acc


def sequential_fill(group: I64, cap: I64, amount: I64) -> I64:
    """Fill elements in order (sorted by group, then fill order), each up to its cap."""
    # No element takes more than its group's amount: capped so, the running sums stay
    # within int64 where "no cap" is a huge number.
    cap = np.minimum(cap, amount[group])
    before = np.cumsum(cap) - cap
    if group.size:
        first = np.r_[True, group[1:] != group[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
        before = before - before[start]
    return np.clip(amount[group] - before, 0, cap)


def dense_groups(group: I64) -> I64:
    """Sorted group codes renumbered 0, 1, ... in order (for a subset of groups)."""
    if not group.size:
        return group
    return np.cumsum(np.r_[0, (group[1:] != group[:-1]).astype(np.int64)])


def members(by: Grouping, groups: I64) -> I64:
    """The elements of `groups` (ascending) in a grouping of sorted elements, in order:
    one range per group, without a pass over every element."""
    assert by.start is not None  # sorted elements
    first, sizes = by.start[groups], by.sizes[groups]
    shift = np.repeat(first - (np.cumsum(sizes) - sizes), sizes)
    return shift + np.arange(int(sizes.sum()))
