"""The supply groups as first written: a loop over SKUs with split supply and the
subsets of their classes. Kept as the reference the vectorised rules/groups.py is
checked against (same rows, same order, same cells)."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from engine.core.errors import InputError, Issue
from rules.draft import I64, Draft, Mask
from rules.groups import MAX_CLASSES
from solvers.problem import Groups


def supply_groups_by_loop(d: Draft, by_wh: I64, reach: Mask | None) -> Groups | None:
    ix = d.ix
    n_w = len(ix.wh_ids)
    if n_w > 62:
        raise InputError([Issue("warehouses", "at most 62 warehouses can be scoped per shop")])
    if reach is None:
        return None  # every cell reaches the same warehouses: the pool row says it all
    # Warehouse set of each cell as bits, a column at a time (warehouses are few).
    bits = np.zeros(ix.n_cells, dtype=np.int64)
    for w in range(n_w):
        bits |= reach[:, w].astype(np.int64) << w
    # Cells that may hold units or list the shared part (a shared shop sells it too).
    live = (d.ub > 0) | d.in_shared
    big = np.iinfo(np.int64).max
    lo = np.full(ix.n_skus, big)
    hi = np.full(ix.n_skus, -1)
    full = np.zeros(ix.n_skus, dtype=np.int64)
    # Cells are sorted by SKU: reduce each SKU's run of cells (SKUs with cells only,
    # as reduceat takes an empty run for one element).
    has = ix.by_sku.sizes > 0
    assert ix.by_sku.start is not None  # the index's cells are sorted by SKU
    runs = ix.by_sku.start[:-1][has]
    if runs.size:
        lo[has] = np.minimum.reduceat(np.where(live, bits, big), runs)
        hi[has] = np.maximum.reduceat(np.where(live, bits, -1), runs)
        # The pool counts every warehouse some cell reaches, even a cell that takes
        # nothing (a fixed 0, a cap of 0): a live cell that reaches less needs rows too.
        full[has] = np.bitwise_or.reduceat(bits, runs)
    split = np.flatnonzero((hi >= 0) & ((lo != full) | (hi != full)))
    if split.size == 0:
        return None
    rows_sku, rows_cap, rows_shared, members = [], [], [], []
    starts = np.searchsorted(ix.cell_sku, split, side="left")
    ends = np.searchsorted(ix.cell_sku, split, side="right")
    for i, start, end in zip(split, starts, ends, strict=True):
        cells = start + np.flatnonzero(live[start:end])
        classes = sorted(set(bits[cells].tolist()))
        shared_bits = _shared_bits(d, np.arange(start, end), bits)
        if len(classes) > MAX_CLASSES:
            raise InputError(
                [Issue(f"skus.{ix.sku_ids[i]}", "shops reach more than 8 warehouse sets")]
            )
        for size in range(1, len(classes) + 1):
            for subset in combinations(classes, size):
                union = int(np.bitwise_or.reduce(np.array(subset, dtype=np.int64)))
                members_u = cells[np.isin(bits[cells], subset)]
                # Units beyond warehouse stock: pool-wide ones, and those pinned here.
                extra = int(d.pool_extra[i]) + int(d.pinned_extra[members_u].sum())
                cap = int(by_wh[i][(union >> np.arange(n_w)) & 1 == 1].sum()) + extra
                if cap >= d.pool[i] + d.share_base_extra[i]:
                    continue  # the pool row already says as much
                rows_sku.append(i)
                rows_cap.append(cap)
                rows_shared.append(shared_bits is not None and shared_bits & ~union == 0)
                members.append(members_u)
    if not rows_sku:
        return None
    indptr = np.zeros(len(members) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([m.size for m in members])
    return Groups(
        sku=np.array(rows_sku, dtype=np.int64),
        cap=np.array(rows_cap, dtype=np.int64),
        indptr=indptr,
        cells=np.concatenate(members).astype(np.int64),
        with_shared=np.array(rows_shared, dtype=bool),
    )


def _shared_bits(d: Draft, sku_cells: I64, bits: I64) -> int | None:
    """A shared part is listed on every shared shop, so it must come from warehouses
    that all of them reach."""
    cells = sku_cells[d.in_shared[sku_cells]]
    return int(np.bitwise_and.reduce(bits[cells])) if cells.size else None
