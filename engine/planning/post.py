"""Pipeline step 5: pack-size rounding, min-or-delist, sync thresholds.

These are not convex, so they run after the solve: cells they change are fixed and the
problem is solved once more, so the units they free go to the other shops instead of
idling. What a second pass would change again is rounded in place and left idle, with
the rule named as the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rules.post_rules import PostRules
from solvers.problem import I64, Problem, per_sku
from solvers.split import sku_feature_bits

NONE = -1


@dataclass
class PostResult:
    x: I64
    freed: I64  # per cell: units the post rules took away (and left idle)
    freed_rule: I64  # per cell: the rule that took them
    delisted: np.ndarray  # per cell: bool


def round_cells(x: I64, lb: I64, post: PostRules) -> tuple[I64, I64, np.ndarray]:
    """Pack rounding and delisting of a whole-unit plan; returns (x, rule, delisted).
    Only the cells with a pack size or a delist threshold are looked at."""
    rule = np.full(x.size, NONE, dtype=np.int64)
    out = x.copy()
    packs = np.flatnonzero(post.pack > 1)
    if packs.size:
        packed = x[packs] - x[packs] % post.pack[packs]
        moved = (packed != x[packs]) & (packed >= lb[packs])
        packs = packs[moved]
        out[packs] = packed[moved]
        rule[packs] = post.pack_rule[packs]
    delist = post.delist > 0
    if delist.any():
        delist &= (out > 0) & (out < post.delist) & (lb == 0)
        rule[delist] = post.delist_rule[delist]
        out[delist] = 0
    return out, rule, delist


@dataclass
class SecondPass:
    problem: Problem
    freed: I64  # per cell: units the first rounding took away
    freed_rule: I64
    changed: np.ndarray  # per cell: bounds moved (the rest of the problem is as it was)


def second_pass(problem: Problem, x: I64, post: PostRules) -> SecondPass | None:
    """The problem with delisted cells closed and packed cells floored at their rounded
    value (they may still grow: `finish` rounds again), or None when the plan already
    satisfies the post rules."""
    rounded, rule, delisted = round_cells(x, problem.lb, post)
    if np.array_equal(rounded, x):
        return None
    packed = post.pack > 1
    lb = np.where(packed | delisted, rounded, problem.lb)
    ub = np.where(delisted, 0, problem.ub)
    changed = (lb != problem.lb) | (ub != problem.ub)
    return SecondPass(replace(problem, lb=lb, ub=ub), x - rounded, rule, changed)


def finish(problem: Problem, x: I64, post: PostRules, listed: I64) -> PostResult:
    """Round what still needs it and apply sync thresholds, freeing units to idle."""
    rounded, rule, delisted = round_cells(x, problem.lb, post)
    rounded = _top_up_packs(problem, x, rounded, post)
    synced, sync_rule = _sync(rounded, problem.lb, post, listed, problem.in_shared)
    rule = np.where(sync_rule >= 0, sync_rule, rule)
    return PostResult(x=synced, freed=x - synced, freed_rule=rule, delisted=delisted)


def _top_up_packs(problem: Problem, x: I64, rounded: I64, post: PostRules) -> I64:
    """Units that pack rounding freed go back in whole packs to the SKU's pack cells
    with room, in shop priority order. Only for SKUs no capacity, budget, bundle or
    supply group ties to others: there, adding units needs no further check."""
    freed = np.where(post.pack > 1, x - rounded, 0)
    left = per_sku(problem, freed)
    left[sku_feature_bits(problem) != 0] = 0
    if not np.any(left > 0):
        return rounded
    out = rounded.copy()
    order = np.lexsort((problem.shop_rank[problem.cell_shop], problem.cell_sku))
    sku = problem.cell_sku[order]
    first = np.searchsorted(sku, sku, side="left")
    position = np.arange(order.size) - first
    for k in range(int(position.max()) + 1):  # a loop over shop positions, not cells
        cells = order[(position == k) & (post.pack[order] > 1)]
        owner = problem.cell_sku[cells]
        room = (problem.ub[cells] - out[cells]) // post.pack[cells]
        packs = np.minimum(room, left[owner] // post.pack[cells])
        out[cells] += packs * post.pack[cells]
        np.subtract.at(left, owner, packs * post.pack[cells])
    return out


def _sync(x: I64, lb: I64, post: PostRules, listed: I64, in_shared: np.ndarray) -> tuple[I64, I64]:
    """Keep the listed quantity where a rise is below the threshold and crosses no band.
    Falls are always published: a lower number can never oversell."""
    rise = x - listed
    small = (post.sync > 0) & (rise > 0) & (rise < post.sync) & (listed > 0)
    small &= ~in_shared & (listed >= lb)
    for k, bands in post.bands.items():
        mine = small & (post.sync_rule == k)
        for level in bands:
            small &= ~(mine & (listed < level) & (x >= level))
    return np.where(small, listed, x), np.where(small, post.sync_rule, NONE)
