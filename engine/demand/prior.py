"""Shrinkage: where a cell's own history is thin, its estimate leans on a prior.

The prior mean of a cell is its SKU's rate on its other shops, spread by the shop mix
of its category (each shop's share of the category's sales rate); a cell whose SKU has
no other history gets its category's mean rate on that shop. The cell's own days are
left out of its prior (the SKU's other cells only), so the data are not counted twice.

The prior's strength k (in pseudo-days) is fitted across cells by the method of
moments of the Poisson-gamma model: a cell's weighted demand Y over N weighted days
has mean N m and variance m sum(w**2) + N**2 m / k, so
    1 / k = sum[(Y - N m)**2 - m sum(w**2)] / sum[N**2 m]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.demand.sums import ratio, sums_by

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

MIN_PRIOR_DAYS = 0.5  # the data never let one day of a cell outweigh its prior more
MAX_PRIOR_DAYS = 366.0  # no spread beyond chance: the prior weighs as a year of days


@dataclass(frozen=True)
class Prior:
    mean: F64  # [cells] prior mean rate
    days: float  # strength, pseudo-days
    category_shop_mean: F64  # [cells] the category's mean rate on the cell's shop


def category_shop_means(
    demand: F64, days: F64, category: I64, shop: I64, n_shops: int
) -> tuple[F64, F64]:
    """Per cell, its category's pooled rate on its shop (sum of demand over sum of days;
    the category's over all shops where that shop has no days, then everyone's), and
    its shop's share of the category's rate summed over shops (the shop mix)."""
    n_cat = int(category.max(initial=-1)) + 1
    group = category * n_shops + shop
    size = n_cat * n_shops
    by_group = ratio(sums_by(group, demand, size), sums_by(group, days, size), np.nan)
    by_category = ratio(sums_by(category, demand, n_cat), sums_by(category, days, n_cat), np.nan)
    overall = float(demand.sum() / days.sum()) if days.sum() > 0 else 0.0
    mean = by_group[group]
    mean = np.where(np.isnan(mean), by_category[category], mean)
    mean = np.where(np.isnan(mean), overall, mean)
    rates = np.nan_to_num(by_group).reshape(n_cat, n_shops) if n_cat else np.zeros((0, n_shops))
    total = rates.sum(axis=1)
    mix = ratio(rates, np.repeat(total[:, None], n_shops, axis=1), 0.0).reshape(-1)
    return mean, mix[group]


def shrinkage_prior(
    demand: F64,
    days: F64,
    days_sq: F64,
    cell_sku: I64,
    category: I64,
    shop: I64,
    n_shops: int,
) -> Prior:
    """The prior of every cell from each cell's own estimate: `demand` (weighted demand,
    censored days completed) over `days` (weighted informative days), `days_sq` the sum
    of squared day weights."""
    mean_here, mix = category_shop_means(demand, days, category, shop, n_shops)
    n_skus = int(cell_sku.max(initial=-1)) + 1
    exposure = mix * days
    sku_demand = sums_by(cell_sku, demand, n_skus)[cell_sku]
    sku_exposure = sums_by(cell_sku, exposure, n_skus)[cell_sku]
    other_demand = sku_demand - demand
    other_exposure = sku_exposure - exposure
    # Differences of sums: anything at rounding level of the SKU's total is no exposure.
    elsewhere = other_exposure > 1e-9 * sku_exposure
    from_sku = ratio(np.maximum(other_demand, 0.0), np.where(elsewhere, other_exposure, 0), 0)
    mean = np.where(elsewhere, from_sku * mix, mean_here)
    return Prior(
        mean=mean,
        days=prior_days(demand, days, days_sq, mean),
        category_shop_mean=mean_here,
    )


def prior_days(demand: F64, days: F64, days_sq: F64, mean: F64) -> float:
    """The method-of-moments strength (module docstring), within its bounds."""
    use = (days > 0) & (mean > 0)
    d, m = days[use], mean[use]
    spread = float(np.sum((demand[use] - d * m) ** 2 - m * days_sq[use]))
    scale = float(np.sum(d * d * m))
    if spread <= 0 or scale <= 0:
        return MAX_PRIOR_DAYS
    return float(np.clip(scale / spread, MIN_PRIOR_DAYS, MAX_PRIOR_DAYS))
