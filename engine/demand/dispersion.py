"""Overdispersion: a negative binomial size per category, by the method of moments.

A day's demand of a cell with mean mu has variance mu + mu**2 / r. Over a cell's n
uncensored days with mean x and unbiased variance v, E[v - x] = mu**2 / r and
E[x**2 - v / n] = mu**2, so pooled over a category's cells (weighted by days)
    1 / r = sum n (v - x) / sum n (x**2 - v / n);
no excess variance is Poisson: r = inf. Excess variance counts only where it stands out
of chance: for Poisson days, n (v - x) has mean 0 and variance about 2 n mu**2, so a
category is overdispersed only where its sum passes 3 standard deviations of that (else
Poisson data would show sizes of a few dozen half the time). Pooling by category steadies
what one cell's 90 days cannot say. Uncensored days alone are used: they are the days with
demand below the listing, so the spread is somewhat understated where stockouts are
frequent."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.demand.sums import DaySums, sums_by

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def category_sizes(sums: DaySums, category: I64) -> F64:
    """Per cell, the negative binomial size of its category (the pooled size of every
    cell where the category's cells show nothing)."""
    n = sums.observed_days.astype(np.float64)
    use = n >= 2
    safe_n = np.where(use, n, 2.0)
    mean = sums.units / safe_n
    var = (sums.units_sq - safe_n * mean * mean) / (safe_n - 1.0)
    excess = np.where(use, n * (var - mean), 0.0)
    square = np.where(use, n * (mean * mean - var / safe_n), 0.0)
    chance = np.where(use, 2.0 * n * mean * mean, 0.0)  # variance of `excess` if Poisson
    n_cat = int(category.max(initial=-1)) + 1
    num = sums_by(category, excess, n_cat)
    den = sums_by(category, square, n_cat)
    noise = sums_by(category, chance, n_cat)
    overall = _size(np.array([num.sum()]), np.array([den.sum()]), np.array([noise.sum()]))[0]
    sizes = _size(num, den, noise)
    shown = den > 0
    return np.where(shown, sizes, overall)[category]


# A size this large is Poisson to every digit a plan uses (the variance differs from the
# mean by a billionth of its square); it also sits where 1 / r is a difference of sums
# at rounding level, whose value would depend on the order of the cells.
POISSON_SIZE = 1e9


SIGNIFICANT = 3.0  # standard deviations of chance that excess variance must pass


def _size(num: F64, den: F64, noise: F64) -> F64:
    ok = (num > SIGNIFICANT * np.sqrt(noise)) & (den > 0) & (num * POISSON_SIZE > den)
    return np.divide(den, num, out=np.full(num.shape, np.inf), where=ok)
