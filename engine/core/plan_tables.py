"""A plan's `unallocated` rows and SKU pools kept as arrays until they are written.

As with the allocations (engine/core/allocation_table.py): a 300,000-SKU plan has some
380,000 unallocated rows and 300,000 pools, and making each a dict, then sorting and
writing them, cost `omnistock plan` 0.6 s. Kept as codes and numbers, their JSON is looked
up piece by piece (engine/core/table_json.py); `rows()` gives the plain rows for every
other use, the same as the planner made before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class UnallocatedTable:
    """Per row: the SKU's code into `sku_ids`, the units and the reason's code into
    `reasons`; rows in the plan's order (by SKU, then reason)."""

    sku_ids: list[str]
    sku: np.ndarray
    quantity: np.ndarray
    reason: np.ndarray
    reasons: list[str]

    def __len__(self) -> int:
        return int(self.sku.size)

    def rows(self) -> list[dict[str, Any]]:
        ids, reasons = self.sku_ids, self.reasons
        columns = zip(self.sku.tolist(), self.quantity.tolist(), self.reason.tolist(), strict=True)
        return [{"sku": ids[i], "quantity": q, "reason": reasons[r]} for i, q, r in columns]

    def units(self) -> int:
        return int(self.quantity.sum())

    def units_by_reason(self) -> dict[str, int]:
        """Units per reason, in the order each reason first appears in the rows."""
        if not len(self):
            return {}
        codes, first = np.unique(self.reason, return_index=True)
        sums = np.bincount(self.reason, weights=self.quantity, minlength=len(self.reasons))
        order = codes[np.argsort(first, kind="stable")]
        # Float sums of whole numbers are exact below 2**53 units.
        return {self.reasons[k]: int(round(sums[k])) for k in order.tolist()}


@dataclass(frozen=True)
class PoolTable:
    """Per SKU (in `sku_ids`' order): sellable, virtual and pool units, the units each
    reserve rule held back (`reserved`: label and units per SKU, in the rules' order;
    a SKU lists a label where its units are above 0) and the share rule's label by code
    (`share_rule` into `share_labels`; None: the default split)."""

    sku_ids: list[str]
    sellable: np.ndarray
    reserved: list[tuple[str, np.ndarray]]
    virtual: np.ndarray
    pool: np.ndarray
    share_rule: np.ndarray
    share_labels: list[str | None]

    def __len__(self) -> int:
        return len(self.sku_ids)

    def labels_unique(self) -> bool:
        return len({label for label, _ in self.reserved}) == len(self.reserved)

    def rows(self) -> list[dict[str, Any]]:
        held: list[dict[str, int]] = [{} for _ in self.sku_ids]
        # Rule by rule, as a dict of each SKU's reserves is filled (a repeated label
        # keeps its first place and its last value).
        for label, units in self.reserved:
            where = np.flatnonzero(units > 0)
            for i, v in zip(where.tolist(), units[where].tolist(), strict=True):
                held[i][label] = v
        labels = self.share_labels
        columns = zip(
            self.sku_ids,
            self.sellable.tolist(),
            held,
            self.virtual.tolist(),
            self.pool.tolist(),
            self.share_rule.tolist(),
            strict=True,
        )
        return [
            {
                "sku": sku,
                "sellable": sellable,
                "reserved": reserved,
                "virtual": virtual,
                "pool": pool,
                "share_rule": labels[rule],
            }
            for sku, sellable, reserved, virtual, pool, rule in columns
        ]
