"""Small demand histories for the tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.demand import DemandHistory


def history(
    units: NDArray[np.int64] | list[list[int]],
    censored: NDArray[np.bool_] | list[list[bool]],
    shops: int = 1,
    categories: NDArray[np.int64] | None = None,
) -> DemandHistory:
    """Cells SKU by SKU, `shops` cells (shops 0 .. shops - 1) each; one category unless
    `categories` gives one per SKU."""
    u = np.asarray(units, dtype=np.int64)
    cells = u.shape[0]
    skus = (cells + shops - 1) // shops
    return DemandHistory(
        units=u,
        censored=np.asarray(censored, dtype=bool),
        cell_sku=np.arange(cells, dtype=np.int64) // shops,
        cell_shop=np.arange(cells, dtype=np.int64) % shops,
        sku_category=np.zeros(skus, dtype=np.int64) if categories is None else categories,
        n_shops=shops,
    )
