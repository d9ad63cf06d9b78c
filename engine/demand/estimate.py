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

from engine.core.limits import MAX_VELOCITY
from engine.demand.censored import censored_rates
from engine.demand.dispersion import category_sizes
from engine.demand.prior import category_shop_means, shrinkage_prior
from engine.demand.sums import day_sums, day_weights, ratio, sums_by

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
    prior_days: float = 0.0  # the prior's strength used (pseudo-days; 0: no shrinkage)


@dataclass(frozen=True)
class EstimatorSettings:
    """The estimator's knobs. `prior_days` None: the prior's strength (in pseudo-days)
    is fitted from the data (engine.demand.prior); a number fixes it. `shrink` False:
    every cell on its own (censored EM without a prior; cells without history get their
    category's per-shop mean) - the benchmark's middle line."""

    half_life_days: float = 28.0
    prior_days: float | None = None
    shrink: bool = True

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError("half_life_days must be > 0 (inf: no recency weighting)")
        if self.prior_days is not None and not 0 <= self.prior_days < np.inf:
            raise ValueError("prior_days must be a finite number >= 0")


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
    """Censored Poisson rates with empirical Bayes shrinkage (each step is a module of
    engine/demand/): every cell on its own first (censored EM, recency-weighted),
    from which the prior (SKU's other shops x category shop mix) and its strength are
    fitted; then every cell again with that prior. Deterministic; cells are independent
    given the pooled sums, so their order does not matter."""
    settings = settings or EstimatorSettings()
    weights = day_weights(history.n_days, settings.half_life_days)
    sums = day_sums(history.units, history.censored, weights)
    category = history.sku_category[history.cell_sku]
    none = np.zeros(history.n_cells)
    own = censored_rates(none, none, sums)
    floor_weight = sums.censored_weight
    days = sums.weight + floor_weight
    # A cell that sold out on every day it sold shows only a floor: its floor (sales
    # over days) stands in for it where a rate is needed without a prior.
    floor_units = sums_by(sums.entry_cell, sums.entry_weight * sums.entry_units, history.n_cells)
    floor = ratio(floor_units, floor_weight, 0.0)
    own = np.where(np.isinf(own), floor, own)
    demand = own * days
    if settings.shrink:
        prior = shrinkage_prior(
            demand,
            days,
            sums.weight_sq,
            history.cell_sku,
            category,
            history.cell_shop,
            history.n_shops,
        )
        k = prior.days if settings.prior_days is None else settings.prior_days
        rate = censored_rates(np.full(history.n_cells, k), k * prior.mean, sums)
        rate = np.where(np.isinf(rate), floor, rate)  # only where k = 0 was asked for
    else:
        k = 0.0
        mean_here, _ = category_shop_means(
            demand, days, category, history.cell_shop, history.n_shops
        )
        rate = np.where(days > 0, own, mean_here)
    rate = np.minimum(rate, MAX_VELOCITY)
    info = k + days
    return DemandEstimate(
        rate=rate,
        dispersion=category_sizes(sums, category),
        rate_sd=np.sqrt(np.where(info > 0, ratio(rate, info, 0.0), rate)),
        observed_days=sums.observed_days,
        censored_days=sums.censored_days,
        prior_days=k,
    )
