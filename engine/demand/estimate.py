"""The demand estimator's interface: sales history in, a rate per cell out.

`DemandHistory` holds the [cells, days] arrays (oldest day first, the last column the
day before the plan's as_of); `estimate_demand` turns them into a `DemandEstimate`.
A censored day (the listing ran out, or was 0) says demand was at least the units sold,
never that it was equal to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class DemandHistory:
    units: I64  # [cells, days] units sold; oldest first; last = the day before as_of
    censored: Mask  # [cells, days] the listing ran out or was 0: sales are a lower bound
    cell_sku: I64  # [cells] SKU index of each cell
    cell_shop: I64  # [cells] shop index of each cell
    sku_category: I64  # [skus] category code of each SKU
    n_shops: int

    def __post_init__(self) -> None:
        if self.units.ndim != 2 or self.units.shape != self.censored.shape:
            raise ValueError("units and censored must be [cells, days] arrays of one shape")
        if self.cell_sku.shape != (self.n_cells,) or self.cell_shop.shape != (self.n_cells,):
            raise ValueError("cell_sku and cell_shop need one entry per cell")

    @property
    def n_cells(self) -> int:
        return int(self.units.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.units.shape[1])

    @property
    def n_skus(self) -> int:
        return int(self.sku_category.size)


@dataclass(frozen=True)
class DemandEstimate:
    rate: F64  # [cells] expected units per day
    dispersion: F64  # [cells] negative binomial size r (variance rate + rate**2 / r); inf = Poisson
    rate_sd: F64  # [cells] standard deviation of the rate estimate
    observed_days: I64  # [cells] uncensored days seen
    censored_days: I64  # [cells] censored days seen


@dataclass(frozen=True)
class EstimatorSettings:
    """The estimator's knobs. `prior_days` None: the prior's strength (in pseudo-days)
    is fitted from the data; a number fixes it."""

    half_life_days: float = 28.0
    prior_days: float | None = None
    em_iterations: int = 30


def naive_rate(history: DemandHistory, days: int = 14) -> F64:
    """Mean units sold over the last `days` days, stockout days counted as the sales
    they recorded (what an agency computes; it learns that sold-out shops do not sell)."""
    recent = history.units[:, max(history.n_days - days, 0) :]
    if recent.shape[1] == 0:
        return np.zeros(history.n_cells)
    return np.asarray(recent.mean(axis=1, dtype=np.float64))


def estimate_demand(
    history: DemandHistory, settings: EstimatorSettings | None = None
) -> DemandEstimate:
    """The rate per cell: the mean of the uncensored days; a cell with none gets its
    category's mean over the same shop (then the category's, then 0)."""
    settings = settings or EstimatorSettings()
    seen = ~history.censored
    observed_days = seen.sum(axis=1)
    sold = np.where(seen, history.units, 0).sum(axis=1).astype(np.float64)
    category = history.sku_category[history.cell_sku]
    n_cat = int(history.sku_category.max(initial=-1)) + 1
    group = category * history.n_shops + history.cell_shop
    size = n_cat * history.n_shops
    days = observed_days.astype(np.float64)
    group_rate = _ratio(_sums(group, sold, size), _sums(group, days, size), np.nan)
    cat_rate = _ratio(_sums(category, sold, n_cat), _sums(category, days, n_cat), 0.0)
    fallback = np.where(np.isnan(group_rate[group]), cat_rate[category], group_rate[group])
    rate = np.where(observed_days > 0, _ratio(sold, days, 0.0), fallback)
    return DemandEstimate(
        rate=rate,
        dispersion=np.full(history.n_cells, np.inf),
        rate_sd=np.sqrt(rate / np.maximum(observed_days, 1)),
        observed_days=observed_days.astype(np.int64),
        censored_days=history.censored.sum(axis=1).astype(np.int64),
    )


def _sums(keys: I64, values: F64, size: int) -> F64:
    """Per key (0 .. size - 1), the sum of its values."""
    return np.asarray(np.bincount(keys, values, size), dtype=np.float64)


def _ratio(num: F64, den: F64, empty: float) -> F64:
    """num / den, `empty` where den is 0."""
    return np.divide(num, den, out=np.full(num.shape, empty), where=den > 0)
