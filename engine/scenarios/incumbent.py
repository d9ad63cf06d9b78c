"""The incumbents' policy: every shop computed alone from the SKU's pool.

    listing(SKU, shop) = max(0, floor(pool(SKU, shop) x share(shop) / 100) - safety_stock)

- `pool` is the SKU's sellable pool as omnistock derives it from the same snapshot and
  ruleset (rules/supply.py: stock composition, supplying and excluded warehouses,
  warehouse scopes, locked units a `shop_lock` gives back, presale/virtual units), before
  any reserve: the incumbent's own `safety_stock` takes the place of omnistock's reserve
  rules, and no other rule of the ruleset applies. Like the incumbents' shop-warehouse
  mapping, a shop counts only the warehouses that supply it: for a shop that every
  warehouse supplies this is the plan's `skus[].sellable + skus[].virtual`. A bundle's
  pool adds what its components' pools could make (floor(min(component / qty))), as the
  incumbents' combo stock formula does: the same component units are then listed for
  the component and for each of its bundles.
- `share` is `IncumbentPolicy.shares[shop]` (percent), or `default_share_pct`.
- Shares adding up to more than 100% list more than the pool: that is the incumbents'
  oversell, which the simulation shows as `units_oversold`.
- The mode (normal | peak) does not change the formula; a closed shop lists nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.core.index import SnapshotIndex
from engine.scenarios.spec import IncumbentPolicy
from engine.scenarios.stock import Supply, derive_supply
from rules.arith import EPS
from rules.catalog import Ruleset

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class IncumbentListing:
    pool: I64  # per cell of the index: the shop's pool of the SKU
    listing: I64  # per cell


def incumbent_pool(index: SnapshotIndex, supply: Supply) -> I64:
    """Per cell: the pool the incumbents' formula starts from (module docstring)."""
    units = supply.sellable_wh + supply.locked_wh
    reach = supply.reach
    pool = np.where(reach, units[index.cell_sku], 0).sum(axis=1) + supply.virtual[index.cell_sku]
    for b in np.unique(supply.bundle):
        cells = np.flatnonzero(index.cell_sku == b)
        rows = supply.bundle == b
        made = None
        for comp, qty in zip(supply.component[rows], supply.qty[rows], strict=True):
            there = np.where(reach[cells], units[comp], 0).sum(axis=1) + supply.virtual[comp]
            can = there // qty
            made = can if made is None else np.minimum(made, can)
        if made is not None:
            pool[cells] += made
    return pool


def shop_shares(index: SnapshotIndex, policy: IncumbentPolicy) -> NDArray[np.float64]:
    """Per shop of the index: its share in percent."""
    return np.array(
        [float(policy.shares.get(shop, policy.default_share_pct)) for shop in index.shop_ids]
    )


def incumbent_listing(
    index: SnapshotIndex,
    ruleset: Ruleset,
    policy: IncumbentPolicy,
    closed_shops: frozenset[str] = frozenset(),
    supply: Supply | None = None,
) -> IncumbentListing:
    """The incumbents' listing of every cell (SKU x shop of its brand) of the index."""
    supply = supply if supply is not None else derive_supply(index, ruleset)
    pool = incumbent_pool(index, supply)
    share = shop_shares(index, policy)[index.cell_shop]
    raw = np.floor(pool * share / 100.0 + EPS).astype(np.int64)
    listing = np.maximum(raw - policy.safety_stock, 0)
    closed = np.array([shop in closed_shops for shop in index.shop_ids], dtype=bool)
    listing[closed[index.cell_shop]] = 0
    return IncumbentListing(pool=pool, listing=listing)
