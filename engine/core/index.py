"""The snapshot as arrays: integer codes for SKUs, shops and warehouses, dense stock
buckets, and the cells (SKU, shop pairs of one brand) that rules and solvers work on.

Built once per plan; every rule reads masks from it instead of looping over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import compress

import numpy as np
from numpy.typing import NDArray

from engine.core.columns import BUCKETS, SnapshotColumns
from engine.core.history_columns import HistoryRows
from engine.core.scope import Scope
from engine.core.snapshot import Snapshot
from solvers.problem import Grouping

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]


def _codes(values: list[str]) -> tuple[I64, list[str]]:
    names = sorted(set(values))
    lookup = {name: k for k, name in enumerate(names)}
    return np.array([lookup[v] for v in values], dtype=np.int64), names


def _spans(first: I64, length: I64) -> I64:
    """The positions first[k], first[k] + 1, ..., first[k] + length[k] - 1 of every k,
    one after another."""
    start_in_flat = np.cumsum(length) - length
    return np.arange(int(length.sum())) + np.repeat(first - start_in_flat, length)


@dataclass(frozen=True)
class CellHistory:
    """Daily sales per cell over the days before as_of, oldest first (the last column is
    the day before as_of). A day is censored where the listing ran out or the row does
    not cover it: its units are then a lower bound of demand (0 on days not covered)."""

    units: I64  # [cells, days]
    censored: Mask  # [cells, days]
    covered: I64  # [cells] days the snapshot's row covers (0: no row)

    @property
    def n_days(self) -> int:
        return int(self.units.shape[1])

    @classmethod
    def of_rows(cls, rows: HistoryRows, cells: I64, n_cells: int) -> CellHistory:
        """`cells`: the cell of each row (every row's pair is a cell)."""
        n_days = int(rows.days_back.max(initial=0))
        units = np.zeros((n_cells, n_days), dtype=np.int64)
        censored = np.ones((n_cells, n_days), dtype=bool)
        # Each day's place in the [cells, days] arrays, without a Python object per day:
        # a row's days run from column n_days - days_back of its cell's line.
        at = _spans(cells * n_days + n_days - rows.days_back, rows.length)
        units.reshape(-1)[at] = rows.units
        censored.reshape(-1)[at] = rows.stockout
        covered = np.zeros(n_cells, dtype=np.int64)
        covered[cells] = rows.length
        return cls(units=units, censored=censored, covered=covered)


@dataclass
class SnapshotIndex:
    as_of: datetime
    sku_ids: list[str]
    shop_ids: list[str]
    wh_ids: list[str]
    sku_pos: dict[str, int]
    shop_pos: dict[str, int]
    wh_pos: dict[str, int]
    sku_brand: I64
    sku_category: I64
    categories: list[str]
    sku_tags: dict[str, Mask]
    price_cents: I64
    shop_brand: I64
    shop_platform: list[str]
    shop_rank: I64
    brands: list[str]
    wh_kind: list[str]
    shop_wh: Mask  # [shop, warehouse]: the shop may be supplied by the warehouse
    stock: dict[str, I64]  # bucket -> [sku, warehouse]
    cell_sku: I64
    cell_shop: I64
    cell_key: I64  # sku * n_shops + shop, sorted, with cell_order mapping back
    cell_order: I64
    velocity: F64  # per cell, units per day
    listed: I64  # per cell
    bundle_rows: tuple[I64, I64, I64]  # (bundle, component, qty)
    # Per cell: negative binomial size of a day's demand (variance v + v**2 / size);
    # inf = Poisson. Set with velocity by the demand estimator (engine.demand).
    dispersion: F64
    velocity_given: Mask  # per cell: the snapshot has a velocity row for it
    listed_given: Mask  # per cell: the snapshot has a listed row for it (0 units or more)
    history: CellHistory | None = None  # the snapshot's sales history, if it has one
    # True once the demand estimator has filled velocity and dispersion from the history
    # (engine.demand.with_history): a cached index is estimated once, not on every plan.
    demand_estimated: bool = False

    @property
    def is_bundle(self) -> Mask:
        mask = np.zeros(self.n_skus, dtype=bool)
        mask[self.bundle_rows[0]] = True
        return mask

    @cached_property
    def wh_sellable(self) -> Mask:
        """The warehouses that supply shops by default (`Warehouse.supplies_by_default`)."""
        return np.array([kind == "sellable" for kind in self.wh_kind], dtype=bool)

    @cached_property
    def by_sku(self) -> Grouping:
        """The cells grouped by SKU (they are sorted by SKU): built once per plan."""
        return Grouping.of_sorted(self.cell_sku, self.n_skus)

    @cached_property
    def cell_rank(self) -> I64:
        """Per cell, its shop's rank (read-only): the rounding and the problem read it."""
        rank = self.shop_rank[self.cell_shop]
        rank.flags.writeable = False
        return rank

    @cached_property
    def shop_has_cells(self) -> Mask:
        return np.bincount(self.cell_shop, minlength=self.n_shops) > 0

    @property
    def n_skus(self) -> int:
        return len(self.sku_ids)

    @property
    def n_shops(self) -> int:
        return len(self.shop_ids)

    @property
    def n_cells(self) -> int:
        return int(self.cell_sku.size)

    @classmethod
    def build(cls, snap: Snapshot) -> SnapshotIndex:
        """From a validated snapshot (ids already checked)."""
        return cls.of_columns(SnapshotColumns.of_snapshot(snap))

    @classmethod
    def of_columns(cls, cols: SnapshotColumns) -> SnapshotIndex:
        """From a snapshot read as columns (`engine.core.columns`)."""
        head = cols.head
        wh_pos = {w.id: i for i, w in enumerate(head.warehouses)}
        brand_pos = {b.id: i for i, b in enumerate(head.brands)}
        n_s, n_h, n_w = len(cols.sku_ids), len(head.shops), len(wh_pos)
        sku_category, categories = _codes(cols.sku_category)
        # Each tag's SKUs, then one mask per tag (most SKUs have no tag at all).
        members: dict[str, list[int]] = {}
        for i in compress(range(n_s), cols.sku_tags):
            for tag in cols.sku_tags[i]:
                members.setdefault(tag, []).append(i)
        tags: dict[str, Mask] = {}
        for tag, rows_of_tag in members.items():
            tags[tag] = np.zeros(n_s, dtype=bool)
            tags[tag][rows_of_tag] = True
        shop_wh = np.ones((n_h, n_w), dtype=bool)
        for j, shop in enumerate(head.shops):
            if shop.warehouses is not None:
                shop_wh[j] = False
                shop_wh[j, [wh_pos[w] for w in shop.warehouses]] = True
        stock = {b: np.zeros((n_s, n_w), dtype=np.int64) for b in BUCKETS}
        rows, cols_at = cols.stock_at
        for b in BUCKETS:
            stock[b][rows, cols_at] = cols.stock[b]
        return cls.from_arrays(
            as_of=head.as_of,
            sku_ids=cols.sku_ids,
            sku_brand=cols.sku_brand,
            sku_category=sku_category,
            categories=categories,
            sku_tags=tags,
            price_cents=cols.price_cents,
            brands=list(brand_pos),
            shop_ids=[s.id for s in head.shops],
            shop_brand=np.array([brand_pos[s.brand] for s in head.shops], dtype=np.int64),
            shop_platform=[s.platform for s in head.shops],
            shop_priority=np.array([s.priority for s in head.shops], dtype=np.int64),
            wh_ids=list(wh_pos),
            wh_kind=[w.kind for w in head.warehouses],
            shop_wh=shop_wh,
            stock=stock,
            velocity=cols.velocity,
            listed=cols.listed,
            bundle_rows=cols.bundle_rows,
            history=cols.history,
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        as_of: datetime,
        sku_ids: list[str],
        sku_brand: I64,
        sku_category: I64,
        categories: list[str],
        sku_tags: dict[str, Mask],
        price_cents: I64,
        brands: list[str],
        shop_ids: list[str],
        shop_brand: I64,
        shop_platform: list[str],
        shop_priority: I64,
        wh_ids: list[str],
        wh_kind: list[str],
        shop_wh: Mask,
        stock: dict[str, I64],
        velocity: tuple[I64, I64, F64],
        listed: tuple[I64, I64, I64],
        bundle_rows: tuple[I64, I64, I64],
        history: HistoryRows | None = None,
    ) -> SnapshotIndex:
        """From arrays (the benchmark's generator builds millions of SKUs this way,
        where per-row models would not fit in memory)."""
        n_h = len(shop_ids)
        order = np.lexsort((np.array(shop_ids), shop_priority))
        shop_rank = np.empty(n_h, dtype=np.int64)
        shop_rank[order] = np.arange(n_h)
        # Cells: every SKU with every shop of its brand, ordered by SKU then shop rank,
        # laid out in that order (sorting a million cells so cost 0.1-0.2 s).
        brand_shops = [order[shop_brand[order] == code] for code in range(len(brands))]
        per_brand = np.array([shops.size for shops in brand_shops], dtype=np.int64)
        ranked = np.concatenate([order[:0], *brand_shops])  # each brand's shops by rank
        shops_of_sku = per_brand[sku_brand]
        cell_sku = np.repeat(np.arange(len(sku_ids), dtype=np.int64), shops_of_sku)
        cell_shop = ranked[_spans((np.cumsum(per_brand) - per_brand)[sku_brand], shops_of_sku)]
        key = cell_sku * max(n_h, 1) + cell_shop
        cell_order = np.argsort(key, kind="stable")
        missing = [b for b in BUCKETS if b not in stock]
        if missing:
            raise ValueError(f"stock buckets missing: {missing}")
        index = cls(
            as_of=as_of,
            sku_ids=sku_ids,
            shop_ids=shop_ids,
            wh_ids=wh_ids,
            sku_pos=dict(zip(sku_ids, range(len(sku_ids)), strict=True)),
            shop_pos={k: i for i, k in enumerate(shop_ids)},
            wh_pos={k: i for i, k in enumerate(wh_ids)},
            sku_brand=sku_brand,
            sku_category=sku_category,
            categories=categories,
            sku_tags=sku_tags,
            price_cents=price_cents,
            shop_brand=shop_brand,
            shop_platform=shop_platform,
            shop_rank=shop_rank,
            brands=brands,
            wh_kind=wh_kind,
            shop_wh=shop_wh,
            stock=stock,
            cell_sku=cell_sku,
            cell_shop=cell_shop,
            cell_key=key[cell_order],
            cell_order=cell_order,
            velocity=np.zeros(cell_sku.size),
            listed=np.zeros(cell_sku.size, dtype=np.int64),
            bundle_rows=bundle_rows,
            dispersion=np.full(cell_sku.size, np.inf),
            velocity_given=np.zeros(cell_sku.size, dtype=bool),
            listed_given=np.zeros(cell_sku.size, dtype=bool),
        )
        # Each section's cells found once, for its values and where it gives one.
        v_cells, l_cells = index.cells_of(*velocity[:2]), index.cells_of(*listed[:2])
        index.velocity = index.scatter_to(v_cells, velocity[2])
        index.velocity_given = index.scatter_to(v_cells, np.ones(v_cells.size)).astype(bool)
        index.listed = index.scatter_to(l_cells, listed[2]).astype(np.int64)
        index.listed_given = index.scatter_to(l_cells, np.ones(l_cells.size)).astype(bool)
        if history is not None:
            cells = index.cells_of(history.sku, history.shop)
            index.history = CellHistory.of_rows(history, cells, index.n_cells)
        return index

    def cells_of(self, sku: I64, shop: I64) -> I64:
        """Cell index of each (sku, shop) pair, -1 where the pair is not a cell."""
        if self.cell_key.size == 0:
            return np.full(np.shape(sku), -1, dtype=np.int64)
        key = sku * max(self.n_shops, 1) + shop
        at = np.clip(np.searchsorted(self.cell_key, key), 0, self.cell_key.size - 1)
        found = self.cell_key[at] == key
        return np.where(found, self.cell_order[at], -1)

    def scatter_cells(self, sku: I64, shop: I64, values: NDArray[np.generic]) -> F64:
        """A per-cell array from (sku, shop, value) rows; rows that are no cell are
        dropped (the snapshot validation refuses them before they get here)."""
        return self.scatter_to(self.cells_of(sku, shop), values)

    def scatter_to(self, cells: I64, values: NDArray[np.generic]) -> F64:
        """A per-cell array of `values` at `cells` (`cells_of`; -1: dropped)."""
        out = np.zeros(self.n_cells, dtype=np.float64)
        ok = cells >= 0
        out[cells[ok]] = values[ok]
        return out

    # --- scope masks -----------------------------------------------------------------

    def sku_mask(self, scope: Scope) -> Mask:
        mask = np.ones(self.n_skus, dtype=bool)
        if scope.brand is not None:
            mask &= _lookup(len(self.brands), self._brand_codes(scope.brand))[self.sku_brand]
        if scope.category is not None:
            wanted = [k for k, c in enumerate(self.categories) if c in scope.category]
            mask &= _lookup(len(self.categories), wanted)[self.sku_category]
        if scope.tags is not None:
            any_tag = np.zeros(self.n_skus, dtype=bool)
            for tag in scope.tags:
                any_tag |= self.sku_tags.get(tag, False)
            mask &= any_tag
        if scope.skus is not None:
            picked = np.zeros(self.n_skus, dtype=bool)
            picked[[self.sku_pos[s] for s in scope.skus if s in self.sku_pos]] = True
            mask &= picked
        return mask

    def shop_mask(self, scope: Scope) -> Mask:
        mask = np.ones(self.n_shops, dtype=bool)
        if scope.brand is not None:
            mask &= np.isin(self.shop_brand, self._brand_codes(scope.brand))
        if scope.platform is not None:
            mask &= np.array([p in scope.platform for p in self.shop_platform], dtype=bool)
        if scope.shop is not None:
            mask &= self.shops_named(scope.shop)
        return mask

    def wh_mask(self, scope: Scope) -> Mask:
        if scope.warehouse is None:
            return np.ones(len(self.wh_ids), dtype=bool)
        return np.array([w in scope.warehouse for w in self.wh_ids], dtype=bool)

    def cell_mask(self, scope: Scope) -> Mask:
        return self.cells_where(self.sku_mask(scope), self.shop_mask(scope))

    def cells_where(self, skus: Mask, shops: Mask) -> Mask:
        """Cells whose SKU is in `skus` and shop in `shops` (a new array). Most scopes
        select on one side only; the other side then costs no pass over the cells."""
        if shops.all():
            return self.by_sku.spread(skus)
        in_shops = shops[self.cell_shop]
        if skus.all():
            return in_shops
        in_shops &= self.by_sku.spread(skus)
        return in_shops

    def has_cells(self, scope: Scope) -> bool:
        """Whether the scope selects any cell."""
        skus, shops = self.sku_mask(scope), self.shop_mask(scope)
        if shops.all():
            return bool(np.any(skus & (self.by_sku.sizes > 0)))
        if skus.all():
            return bool(np.any(shops & self.shop_has_cells))
        return bool(np.any(self.cells_where(skus, shops)))

    def shops_named(self, names: list[str] | None) -> Mask:
        mask = np.zeros(self.n_shops, dtype=bool)
        if names is None:
            mask[:] = True
        else:
            mask[[self.shop_pos[n] for n in names if n in self.shop_pos]] = True
        return mask

    def _brand_codes(self, names: list[str]) -> list[int]:
        return [k for k, b in enumerate(self.brands) if b in names]


def _lookup(n_codes: int, wanted: list[int]) -> Mask:
    """Code -> selected: one gather per SKU instead of a set test."""
    table = np.zeros(n_codes, dtype=bool)
    table[wanted] = True
    return table
