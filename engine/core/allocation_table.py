"""A plan's allocations kept as the planner's arrays until they are written.

A million cells as Python rows (or even as nine lists of a million values) is most of
what writing a big plan costs; the writers only ever need a slice of rows at a time, and
the command's summary only sums per shop. So `omnistock plan` keeps the allocations as
arrays and makes rows piece by piece (`columns(start, stop)`), each piece freed before
the next (engine/core/plan_files.py); Parquet takes the arrays themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Allocation's fields, in the plan's order (a test keeps it equal to the model's).
FIELDS = ("sku", "shop", "quantity", "shared", "binding", "listed", "target", "lb", "ub")


@dataclass(frozen=True)
class AllocationTable:
    """Per cell (in the index's order): SKU and shop codes into the id lists, units, and
    the cell's binding rules as a code into `binding_lists` (cells share few)."""

    sku_ids: list[str]
    shop_ids: list[str]
    cell_sku: np.ndarray
    cell_shop: np.ndarray
    quantity: np.ndarray
    shared: np.ndarray
    binding: np.ndarray
    binding_lists: list[list[str]]
    target: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    _ids: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Object arrays of the ids: a slice's ids are picked by fancy indexing, in C.
        ids = (np.array(self.sku_ids, dtype=object), np.array(self.shop_ids, dtype=object))
        object.__setattr__(self, "_ids", ids)

    def __len__(self) -> int:
        return int(self.cell_sku.size)

    def columns(self, start: int = 0, stop: int | None = None) -> dict[str, list[Any]]:
        """The rows [start, stop) as a dict of columns in FIELDS order. Binding lists are
        shared between cells: read-only."""
        cells = slice(start, stop)
        skus, shops = self._ids
        quantity, shared = self.quantity[cells], self.shared[cells]
        lists = self.binding_lists
        return {
            "sku": skus[self.cell_sku[cells]].tolist(),
            "shop": shops[self.cell_shop[cells]].tolist(),
            "quantity": quantity.tolist(),
            "shared": shared.tolist(),
            "binding": [lists[k] for k in self.binding[cells].tolist()],
            "listed": (quantity + shared > 0).tolist(),
            "target": self.target[cells].tolist(),
            "lb": self.lb[cells].tolist(),
            "ub": self.ub[cells].tolist(),
        }

    def per_shop(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The shops that have cells (sorted by id) and, per shop, the exclusive units,
        the shared units listed and the cells listed."""
        shops = np.unique(self.cell_shop)
        order = sorted(range(shops.size), key=lambda k: self.shop_ids[int(shops[k])])
        shops = shops[order]
        at = np.full(len(self.shop_ids), -1, dtype=np.int64)
        at[shops] = np.arange(shops.size)
        code = at[self.cell_shop]
        listed = (self.quantity + self.shared > 0).astype(np.int64)
        sums = [
            np.bincount(code, weights=values, minlength=shops.size).round().astype(np.int64)
            for values in (self.quantity, self.shared, listed)
        ]
        return [self.shop_ids[int(j)] for j in shops], sums[0], sums[1], sums[2]
