"""Supply groups as a tree, where they nest: what lets min cost flow take them.

A SKU's supply-group rows say that some of its cells (and maybe its shared part) hold
at most so many units together. When any two rows of a SKU are either disjoint or one
inside the other (a laminar family, as warehouse scopes usually give: one row for the
shops that reach only the inbound warehouse, one for those reaching only the outlet),
each row is a node of a tree under its SKU: units flow SKU -> outermost row -> ... ->
innermost row holding the cell -> cell, and each row's arc carries its limit. Rows that
cross (share cells without nesting) have no such tree: those SKUs need the LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solvers.problem import I64, Bool, Problem


@dataclass(frozen=True)
class GroupTree:
    cell_group: I64  # per cell, the innermost row holding it, or -1
    parent: I64  # per row, the next row around it, or -1 (under the SKU itself)
    shared_group: I64  # per SKU, the innermost row its shared part counts in, or -1


def crossing_skus(problem: Problem) -> Bool:
    """Per SKU, whether its rows cross (no tree), or its shared part counts in rows
    that are not one chain from the outside in."""
    return _tree_or_crossing(problem)[1]


def group_tree(problem: Problem) -> GroupTree | None:
    """The rows as a tree, or None when some SKU's rows cross."""
    tree, crossing = _tree_or_crossing(problem)
    return None if crossing.any() else tree


def _tree_or_crossing(problem: Problem) -> tuple[GroupTree, Bool]:
    n_c, n_s = problem.n_cells, problem.n_skus
    g = problem.groups
    if g is None or g.cap.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        tree = GroupTree(np.full(n_c, -1, dtype=np.int64), empty, np.full(n_s, -1, dtype=np.int64))
        return tree, np.zeros(n_s, dtype=bool)
    n_g = g.cap.size
    size = np.diff(g.indptr)
    row = np.repeat(np.arange(n_g), size)
    cell = g.cells
    # Each cell's rows, innermost (fewest cells) first. Rows of one size that share a
    # cell are equal sets: any order nests them, and the rows counting the shared part
    # go outermost, so the shared part's path can skip the others.
    order = np.lexsort((row, g.with_shared[row], size[row], cell))
    cell, row = cell[order], row[order]
    same_cell = np.zeros(cell.size, dtype=bool)
    same_cell[:-1] = cell[1:] == cell[:-1]
    # The next row out of each (cell, row) pair, -1 for a cell's outermost row.
    outer = np.where(same_cell, np.roll(row, -1), -1)
    # A tree: every cell of a row sees the same next row out (then that row holds
    # all of them: the rows nest), and a row and its parent are of one SKU.
    lo = np.full(n_g, np.iinfo(np.int64).max)
    hi = np.full(n_g, -2)
    np.minimum.at(lo, row, outer)
    np.maximum.at(hi, row, outer)
    crossing_row = (lo != hi) & (size > 0)  # a row of no cells limits only shared
    parent = np.where(crossing_row | (size == 0), -1, hi)
    crossing_row |= (parent >= 0) & (g.sku[np.maximum(parent, 0)] != g.sku)
    crossing = np.zeros(n_s, dtype=bool)
    crossing[g.sku[crossing_row]] = True

    first = np.ones(cell.size, dtype=bool)
    first[1:] = ~same_cell[:-1]
    cell_group = np.full(n_c, -1, dtype=np.int64)
    cell_group[cell[first]] = row[first]

    shared_group, bad_shared = _shared_chain(problem, parent)
    crossing |= bad_shared
    return GroupTree(cell_group, parent, shared_group), crossing


def _shared_chain(problem: Problem, parent: I64) -> tuple[I64, Bool]:
    """Per SKU, the innermost row its shared part counts in, and whether the rows it
    counts in fail to be one chain from the outermost in (then no single path exists:
    every row around a counted row must count it too, and no two counted rows may be
    side by side)."""
    g = problem.groups
    assert g is not None
    n_s = problem.n_skus
    counted = np.flatnonzero(g.with_shared)
    shared_group = np.full(n_s, -1, dtype=np.int64)
    bad = np.zeros(n_s, dtype=bool)
    if counted.size == 0:
        return shared_group, bad
    outer_ok = (parent[counted] < 0) | g.with_shared[np.maximum(parent[counted], 0)]
    bad[g.sku[counted[~outer_ok]]] = True
    # Side by side: two counted rows under one parent (or both outermost) of a SKU.
    key_sku, key_parent = g.sku[counted], parent[counted]
    order = np.lexsort((key_parent, key_sku))
    ks, kp = key_sku[order], key_parent[order]
    twin = (ks[1:] == ks[:-1]) & (kp[1:] == kp[:-1])
    bad[ks[1:][twin]] = True
    # The innermost counted row: the counted row no counted row has as parent.
    has_counted_child = np.zeros(g.cap.size, dtype=bool)
    inner_parent = parent[counted]
    has_counted_child[inner_parent[inner_parent >= 0]] = True
    innermost = counted[~has_counted_child[counted]]
    shared_group[g.sku[innermost]] = innermost
    return shared_group, bad


@dataclass(frozen=True)
class NestedCaps:
    """Supply-group limits on a greedy's segments (solvers/greedy.py), where the rows
    nest: each row's limit less the lower bounds of its cells, and the segments each
    row holds, level by level from the innermost rows out.

    Filling segments cheapest first while every row around a segment has room is
    optimal for nested rows (they make a polymatroid), and it equals a pass over the
    rows from the inside out: each row keeps the cheapest units its inner rows kept,
    up to its limit. Unlike a loop over units, that pass is a few sorts."""

    levels: list[tuple[I64, I64]]  # per depth, deepest first: (segments, their row)
    room: I64  # per row: its limit less the lower bounds already on its cells

    @classmethod
    def of(cls, problem: Problem, tree: GroupTree, segment_row: I64) -> NestedCaps:
        """`segment_row`: per segment, the innermost row holding it, or -1."""
        g = problem.groups
        assert g is not None
        rows = np.repeat(np.arange(g.cap.size), np.diff(g.indptr))
        lower = np.bincount(rows, weights=problem.lb[g.cells], minlength=g.cap.size)
        depth = np.zeros(g.cap.size, dtype=np.int64)
        up = tree.parent.copy()
        while np.any(up >= 0):  # as many rounds as rows are nested deep
            depth += up >= 0
            up = np.where(up >= 0, tree.parent[np.maximum(up, 0)], -1)
        levels = []
        current = segment_row.copy()
        for level in range(int(depth.max(initial=-1)), -1, -1):
            at = np.flatnonzero((current >= 0) & (depth[np.maximum(current, 0)] == level))
            levels.append((at, current[at]))
            current[at] = tree.parent[current[at]]
        return cls(levels, g.cap - lower.astype(np.int64))

    def limit(self, room: I64, position: I64) -> I64:
        """`room` per segment cut to what the rows let through when segments are
        filled in `position` order (a position per segment, all distinct)."""
        room = room.copy()
        for segments, row in self.levels:
            order = np.argsort(row * position.size + position[segments])
            segments, row = segments[order], row[order]
            wanted = room[segments]
            before = np.cumsum(wanted) - wanted
            # Units before each segment within its own row.
            first = np.ones(row.size, dtype=bool)
            first[1:] = row[1:] != row[:-1]
            before -= before[np.maximum.accumulate(np.where(first, np.arange(row.size), 0))]
            room[segments] = np.clip(self.room[row] - before, 0, wanted)
        return room
