"""Simulated sales history with a known truth, for the benchmark and the tests.

The shape of the issue's instances: long-tailed SKU rates (lognormal), a shop mix per
category that each SKU varies around, a slow drift per SKU (so old days mislead a
little), and listings that run out: stockout spells (a two-state chain: in stock, out
of stock) and days listed short, on which sales stop at the listing. The truth is each
cell's expected demand on the day of as_of (the day after the last column)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.demand.estimate import DemandHistory

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Simulated:
    history: DemandHistory
    true_rate: F64  # [cells] expected units on the as_of day


@dataclass(frozen=True)
class Market:
    """How the simulated history is drawn (defaults: the benchmark's)."""

    shops: int = 5
    categories: int = 40
    rate_median: float = 0.5  # units a day of a median SKU over all its shops
    rate_spread: float = 1.2  # sd of log SKU rates: a long tail of slow SKUs
    mix_concentration: float = 10.0  # how closely a SKU follows its category's mix
    drift_per_day: float = 0.004  # sd of each SKU's log-rate trend per day
    size: float = np.inf  # negative binomial size of a day's demand (inf: Poisson)
    out_start: float = 0.04  # chance an in-stock cell runs out on a day
    out_end: float = 0.25  # chance an out-of-stock cell is back the next day
    short: float = 0.10  # chance a listed day is listed short (below demand's mean)


UNLIMITED = np.iinfo(np.int64).max  # a listing no day's demand reaches


class StockoutSpells:
    """Which cells are out of stock, day after day: a two-state chain that runs out
    with chance `start` a day and is back with chance `end` (spells of 1 / end days),
    starting from its long-run balance."""

    def __init__(self, rng: np.random.Generator, cells: int, start: float, end: float):
        self.rng, self.start, self.end = rng, start, end
        self.out = rng.random(cells) < start / (start + end)

    def next_day(self) -> NDArray[np.bool_]:
        draw = self.rng.random(self.out.size)
        self.out = np.where(self.out, draw >= self.end, draw < self.start)
        return self.out


def short_listings(
    rng: np.random.Generator, out: NDArray[np.bool_], rate: F64, short: float
) -> NDArray[np.int64]:
    """A day's listed quantity per cell: 0 when out of stock; with chance `short` a
    listing from 0 to the rate (rounded up), which demand often exceeds; else unlimited."""
    listed = np.where(out, 0, UNLIMITED)
    is_short = ~out & (rng.random(out.size) < short)
    return np.where(is_short, rng.integers(0, np.ceil(rate) + 1), listed)


def simulate(cells: int, days: int, seed: int = 0, market: Market | None = None) -> Simulated:
    """About `cells` cells (whole SKUs of `market.shops` shops each) over `days` days."""
    m = market or Market()
    rng = np.random.default_rng(seed)
    n_skus = max(cells // m.shops, 1)
    n = n_skus * m.shops
    sku_category = rng.integers(0, m.categories, n_skus)
    category_mix = rng.dirichlet(np.full(m.shops, 2.0), m.categories)
    # Each SKU's mix: a Dirichlet around its category's (gamma draws, normalised).
    shape = m.mix_concentration * category_mix[sku_category] + 1e-3
    mix = rng.gamma(shape)
    mix /= mix.sum(axis=1, keepdims=True)
    sku_rate = m.rate_median * np.exp(m.rate_spread * rng.standard_normal(n_skus))
    rate_now = (sku_rate[:, None] * mix).reshape(-1)
    trend = np.repeat(m.drift_per_day * rng.standard_normal(n_skus), m.shops)
    units = np.zeros((n, days), dtype=np.int64)
    censored = np.zeros((n, days), dtype=bool)
    spells = StockoutSpells(rng, n, m.out_start, m.out_end)
    for t in range(days):
        rate = rate_now * np.exp(-trend * (days - t))
        if np.isfinite(m.size):
            rate = rng.gamma(m.size, rate / m.size)
        demand = rng.poisson(rate)
        listed = short_listings(rng, spells.next_day(), rate, m.short)
        units[:, t] = np.minimum(demand, listed)
        censored[:, t] = units[:, t] >= listed
    history = DemandHistory(
        units=units,
        censored=censored,
        cell_sku=np.repeat(np.arange(n_skus, dtype=np.int64), m.shops),
        cell_shop=np.tile(np.arange(m.shops, dtype=np.int64), n_skus),
        sku_category=sku_category.astype(np.int64),
        n_shops=m.shops,
    )
    return Simulated(history=history, true_rate=rate_now)
