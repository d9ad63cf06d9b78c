"""Supply groups: when some shops of a SKU reach only part of its warehouses
(`warehouse_scope`, or a shop's own warehouse list), a pool row is not enough.

By Hall's theorem a split is feasible exactly when every set of shop classes (shops
that reach the same warehouses) gets at most what those warehouses hold, so we emit one
row per set of classes whose warehouses hold less than the pool. The loop runs over
SKUs with split supply and their few classes, never over cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np

from engine.core.errors import InputError, Issue
from rules.arith import group_sum, split_whole
from rules.draft import I64, Draft, Mask
from solvers.problem import Groups

MAX_CLASSES = 8  # 2^8 rows per SKU at most


def supply_groups(d: Draft, by_wh: I64, reach: Mask | None) -> Groups | None:
    ix = d.ix
    n_w = len(ix.wh_ids)
    if n_w > 62:
        raise InputError([Issue("warehouses", "at most 62 warehouses can be scoped per shop")])
    if reach is None:
        return None  # every cell reaches the same warehouses: the pool row says it all
    bits = _reach_bits(reach)
    # Cells that may hold units or list the shared part (a shared shop sells it too).
    live = (d.ub > 0) | d.in_shared
    big = np.iinfo(np.int64).max
    lo = np.full(ix.n_skus, big)
    hi = np.full(ix.n_skus, -1)
    full = np.zeros(ix.n_skus, dtype=np.int64)
    has, runs = _sku_runs(d)
    if runs.size:
        lo[has] = np.minimum.reduceat(np.where(live, bits, big), runs)
        hi[has] = np.maximum.reduceat(np.where(live, bits, -1), runs)
        # The pool counts every warehouse some cell reaches, even a cell that takes
        # nothing (a fixed 0, a cap of 0): a live cell that reaches less needs rows too.
        full[has] = np.bitwise_or.reduceat(bits, runs)
    split = np.flatnonzero((hi >= 0) & ((lo != full) | (hi != full)))
    if split.size == 0:
        return None
    classes = _classes(d, split, bits, live)
    rows = [
        _subset_rows(d, classes, by_wh, kind, subset, n_w)
        for kind in range(classes.kinds.shape[0])
        for subset in _subsets(int((classes.kinds[kind] >= 0).sum()))
    ]
    return _assemble(classes, [r for r in rows if r is not None])


def narrow_shared(d: Draft, by_wh: I64, reach: Mask | None, bounds: I64) -> None:
    """A shared shop that misses a warehouse holding some of the SKU's stock leaves the
    SKU's shared set when another shared shop reaches all of it. Kept in, it would cut
    the shared part down to the warehouses every shared shop reaches, and the units of
    the others would idle (a Douyin shop served by one warehouse left a whole brand's
    stock in the other unlisted); left out, the other shops share every unit but the
    ones it takes for itself (`keep_velocity_share`, within `bounds`: each cell's upper
    bound before the share rules)."""
    if reach is None or not d.in_shared.any():
        return
    ix = d.ix
    bits = _reach_bits(reach)
    has, runs = _sku_runs(d)
    full = np.zeros(ix.n_skus, dtype=np.int64)
    if runs.size:
        full[has] = np.bitwise_or.reduceat(bits, runs)
    whole = d.in_shared & (bits == full[ix.cell_sku])
    some_whole = np.bincount(ix.cell_sku[whole], minlength=ix.n_skus) > 0
    leaving = d.in_shared & ~whole & some_whole[ix.cell_sku]
    if not leaving.any():
        return
    keep_velocity_share(d, by_wh, reach, bounds, leaving)
    d.in_shared = d.in_shared & ~leaving


def keep_velocity_share(d: Draft, by_wh: I64, reach: Mask, bounds: I64, leaving: Mask) -> None:
    """A shop that leaves a SKU's shared set keeps what a split by velocity would give
    it: its share of the SKU's share base in the shared shops' velocity (whole units by
    largest remainder over those shops), as far as the warehouses it reaches hold
    them, as a target of its own. Left with nothing, a shop with demand and units it
    could ship would list none of the SKU for as long as the stock sat partly where it
    cannot ship from (a Douyin shop served by one warehouse lost every sale of such
    SKUs of a shared tail). A shop without velocity gets none, as in a velocity split.
    `leaving` may have left `d.in_shared` already (a bundle's shops that cannot make it)."""
    ix = d.ix
    n_s = ix.n_skus
    skus = np.zeros(n_s, dtype=bool)
    skus[ix.cell_sku[leaving]] = True
    cells = np.flatnonzero((d.in_shared | leaving) & skus[ix.cell_sku])  # sorted by SKU
    group = ix.cell_sku[cells]
    speed = d.velocity[cells]
    share = split_whole(group, speed, d.share_base, ix.cell_rank[cells], n_s)
    share[group_sum(group, speed, n_s)[group] <= 0] = 0  # no velocity: no share
    out = leaving[cells]
    at, share, group = cells[out], share[out], group[out]
    reached = np.where(reach[at], by_wh[group], 0).sum(axis=1)
    # Within the cell's bounds (a cap); the share step's bound on cells it leaves out
    # gives way.
    room = np.maximum(bounds[at] - d.target[at], 0)
    share = np.minimum(share, np.minimum(reached, room))
    gets = share > 0
    at, share = at[gets], share[gets]
    d.target[at] += share
    d.ub[at] = np.maximum(d.ub[at], d.target[at])
    d.target_rule[at] = d.share_rule[ix.cell_sku[at]]


def _reach_bits(reach: Mask) -> I64:
    """Each cell's reached warehouses as bits, a column at a time (warehouses are few)."""
    bits = np.zeros(reach.shape[0], dtype=np.int64)
    for w in range(reach.shape[1]):
        bits |= reach[:, w].astype(np.int64) << w
    return bits


def _sku_runs(d: Draft) -> tuple[Mask, I64]:
    """SKUs with cells, and where each one's run of cells starts (for reduceat, which
    takes an empty run for one element)."""
    has = d.ix.by_sku.sizes > 0
    assert d.ix.by_sku.start is not None  # the index's cells are sorted by SKU
    return has, d.ix.by_sku.start[:-1][has]


@dataclass(frozen=True)
class _Classes:
    """The shop classes of the SKUs with split supply, as arrays.

    A class is the set of warehouses a cell reaches (bits); a SKU's classes, sorted,
    are its *kind*: SKUs of one kind get their rows together, one subset of classes at
    a time, so the work loops over kinds and subsets (few), never over SKUs."""

    split: I64  # the SKUs
    kind_of: I64  # per split SKU, its kind
    kinds: I64  # [kind, position]: the kind's classes, ascending, -1 beyond them
    cell: I64  # live cells of split SKUs, ascending
    cell_row: I64  # per such cell, its SKU's position in `split`
    cell_class: I64  # per such cell, its class's position in its SKU's kind
    shared_bits: I64  # per split SKU, warehouses all its shared shops reach
    has_shared: Mask  # per split SKU, whether some shop lists its shared part


def _classes(d: Draft, split: I64, bits: I64, live: Mask) -> _Classes:
    ix = d.ix
    row_of = np.full(ix.n_skus, -1, dtype=np.int64)
    row_of[split] = np.arange(split.size)
    cell = np.flatnonzero(live & (row_of[ix.cell_sku] >= 0))
    cell_row = row_of[ix.cell_sku[cell]]
    # Each SKU's classes: its distinct (row, bits) pairs, in order.
    order = np.lexsort((bits[cell], cell_row))
    pair_row, pair_bits = cell_row[order], bits[cell][order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (pair_row[1:] != pair_row[:-1]) | (pair_bits[1:] != pair_bits[:-1])
    uniq_row, uniq_bits = pair_row[first], pair_bits[first]
    count = np.bincount(uniq_row, minlength=split.size)
    too_many = np.flatnonzero(count > MAX_CLASSES)
    if too_many.size:
        sku = ix.sku_ids[split[too_many[0]]]
        raise InputError([Issue(f"skus.{sku}", "shops reach more than 8 warehouse sets")])
    position = np.arange(uniq_row.size) - np.repeat(np.cumsum(count) - count, count)
    table = np.full((split.size, MAX_CLASSES), -1, dtype=np.int64)
    table[uniq_row, position] = uniq_bits
    kinds, kind_of = np.unique(table, axis=0, return_inverse=True)
    # Per cell, the position of its class within its SKU's classes.
    cell_class = np.empty(cell.size, dtype=np.int64)
    cell_class[order] = np.repeat(position, np.diff(np.flatnonzero(np.r_[first, True])))
    # Warehouses every shared shop of the SKU reaches (all of a SKU's cells, live or not).
    shared_cell = d.in_shared & (row_of[ix.cell_sku] >= 0)
    all_ones = np.int64(-1)
    shared_bits = np.full(split.size, all_ones, dtype=np.int64)
    np.bitwise_and.at(shared_bits, row_of[ix.cell_sku[shared_cell]], bits[shared_cell])
    has_shared = np.bincount(row_of[ix.cell_sku[shared_cell]], minlength=split.size) > 0
    return _Classes(
        split=split,
        kind_of=kind_of.reshape(-1).astype(np.int64),
        kinds=kinds,
        cell=cell,
        cell_row=cell_row,
        cell_class=cell_class,
        shared_bits=shared_bits,
        has_shared=has_shared,
    )


@cache
def _subsets(k: int) -> tuple[tuple[int, ...], ...]:
    """Subsets of k class positions, smallest first, each size in lexical order."""
    return tuple(s for size in range(1, k + 1) for s in combinations(range(k), size))


@dataclass(frozen=True)
class _Rows:
    row: I64  # positions in `split` of the SKUs that need this subset's row
    rank: int  # the subset's place in its SKUs' enumeration (row order within a SKU)
    cap: I64
    with_shared: Mask
    cells: I64  # member cells, ascending (so grouped by SKU)
    cell_row: I64


def _subset_rows(
    d: Draft, c: _Classes, by_wh: I64, kind: int, subset: tuple[int, ...], n_w: int
) -> _Rows | None:
    """For the SKUs of one kind, the rows of one subset of their classes: where the
    warehouses the subset reaches hold less than the pool."""
    classes = c.kinds[kind][list(subset)]
    union = int(np.bitwise_or.reduce(classes))
    rows = np.flatnonzero(c.kind_of == kind)
    in_kind = c.kind_of[c.cell_row] == kind
    member = in_kind & np.isin(c.cell_class, subset)
    skus = c.split[rows]
    pinned = np.bincount(
        c.cell_row[member], weights=d.pinned_extra[c.cell[member]], minlength=c.split.size
    ).astype(np.int64)[rows]
    # Units beyond warehouse stock: pool-wide ones, and those pinned here.
    reached = np.flatnonzero((union >> np.arange(n_w)) & 1 == 1)
    cap = by_wh[skus][:, reached].sum(axis=1) + d.pool_extra[skus] + pinned
    need = cap < d.pool[skus] + d.share_base_extra[skus]  # else the pool row says it
    if not need.any():
        return None
    keep = np.zeros(c.split.size, dtype=bool)
    keep[rows[need]] = True
    member &= keep[c.cell_row]
    shared = c.has_shared[rows[need]] & (c.shared_bits[rows[need]] & ~union == 0)
    rank = _rank(subset)
    return _Rows(
        rows[need], rank, cap[need].astype(np.int64), shared, c.cell[member], c.cell_row[member]
    )


def _rank(subset: tuple[int, ...]) -> int:
    """The subset's place among all subsets of MAX_CLASSES positions, in the order
    `_subsets` lists them (size first): the same order for every kind's prefix."""
    return _subsets(MAX_CLASSES).index(subset)


def _assemble(c: _Classes, parts: list[_Rows]) -> Groups | None:
    """The rows in the order of SKU, then subset, with their member cells."""
    if not parts:
        return None
    row = np.concatenate([p.row for p in parts])
    rank = np.concatenate([np.full(p.row.size, p.rank) for p in parts])
    cap = np.concatenate([p.cap for p in parts])
    shared = np.concatenate([p.with_shared for p in parts])
    # Each member cell's row: (part, SKU) identifies it.
    first_row = np.cumsum([0] + [p.row.size for p in parts])
    cell = np.concatenate([p.cells for p in parts])
    cell_part = np.repeat(np.arange(len(parts)), [p.cells.size for p in parts])
    cell_local = np.concatenate([np.searchsorted(p.row, p.cell_row) for p in parts])
    cell_rowid = first_row[cell_part] + cell_local
    order = np.lexsort((rank, row))
    new_pos = np.empty(order.size, dtype=np.int64)
    new_pos[order] = np.arange(order.size)
    by_row = np.lexsort((cell, new_pos[cell_rowid]))
    sizes = np.bincount(new_pos[cell_rowid], minlength=order.size)
    indptr = np.zeros(order.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    return Groups(
        sku=c.split[row[order]],
        cap=cap[order],
        indptr=indptr,
        cells=cell[by_row].astype(np.int64),
        with_shared=shared[order],
    )
