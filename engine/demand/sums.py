"""One pass over the [cells, days] history: per cell, the weighted sums the estimator
needs, and the censored days that sold something (the only days that need the
Poisson tails). Cells are read in blocks, so the float copies stay small."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

_BLOCK = 16384  # cells per block: a 90-day block of floats is 12 MB


def sums_by(keys: I64, values: F64, size: int) -> F64:
    """Per key 0 .. size - 1, the sum of its values (np.bincount, typed as floats)."""
    return np.asarray(np.bincount(keys, values, size), dtype=np.float64)


def ratio(num: F64, den: F64, empty: float) -> F64:
    """num / den, `empty` where den is not > 0."""
    return np.divide(num, den, out=np.full(num.shape, empty, dtype=np.float64), where=den > 0)


def day_weights(n_days: int, half_life_days: float) -> F64:
    """Recency weights, oldest day first: 1 for the last day, halving every
    `half_life_days` further back (all 1 for an infinite half-life)."""
    age = np.arange(n_days - 1, -1, -1, dtype=np.float64)
    if not np.isfinite(half_life_days):
        return np.ones(n_days)
    return np.asarray(0.5 ** (age / half_life_days), dtype=np.float64)


@dataclass(frozen=True)
class DaySums:
    """Per cell sums over its uncensored days (weighted by recency, and plain), and the
    censored days with sales as entries (cell, units, weight), in cell order."""

    weight: F64  # sum of weights of uncensored days
    weighted_units: F64  # sum of weight x units over uncensored days
    weight_sq: F64  # sum of squared weights of informative days (uncensored, or sold)
    observed_days: I64  # uncensored days
    censored_days: I64  # censored days (with sales or not)
    units: F64  # plain sum of units over uncensored days
    units_sq: F64  # plain sum of squared units over uncensored days
    entry_cell: I64
    entry_units: F64
    entry_weight: F64

    @property
    def censored_weight(self) -> F64:
        """Per cell, the weight of its censored days with sales."""
        return sums_by(self.entry_cell, self.entry_weight, self.weight.size)


def day_sums(units: I64, censored: Mask, weights: F64) -> DaySums:
    """The sums of every cell. Sums over uncensored days are taken over all days less
    the censored days with sales (a censored day without sales adds nothing to either),
    so the [cells, days] arrays are read without a masked copy of them."""
    n_cells, n_days = units.shape
    w_sq = weights * weights
    parts: dict[str, list[NDArray[np.generic]]] = {}
    for start in range(0, n_cells, _BLOCK):
        block = slice(start, min(start + _BLOCK, n_cells))
        sold, cens = units[block], censored[block]
        seen = ~cens
        at = np.flatnonzero(cens & (sold > 0))
        rows, days = np.divmod(at, n_days)
        found = {
            "weight": np.einsum("ij,j->i", seen, weights),
            "weight_sq": np.einsum("ij,j->i", seen, w_sq),
            "observed_days": np.count_nonzero(seen, axis=1),
            "all_weighted": np.einsum("ij,j->i", sold, weights),
            "all_units": sold.sum(axis=1, dtype=np.float64),
            "all_sq": np.einsum("ij,ij->i", sold, sold, dtype=np.float64, casting="unsafe"),
            "entry_cell": rows + start,
            "entry_units": sold.reshape(-1)[at].astype(np.float64),
            "entry_weight": weights[days],
        }
        for name, value in found.items():
            parts.setdefault(name, []).append(value)

    def joined(name: str) -> NDArray[np.generic]:
        chunks = parts.get(name, [])
        return np.concatenate(chunks) if chunks else np.zeros(0)

    cell = joined("entry_cell").astype(np.int64)
    s, w = joined("entry_units").astype(np.float64), joined("entry_weight").astype(np.float64)

    def less_floors(name: str, values: F64) -> F64:
        # Differences of sums: rounding may leave a hair below zero.
        total = joined(name).astype(np.float64)
        return np.maximum(total - sums_by(cell, values, n_cells), 0.0)

    observed = joined("observed_days").astype(np.int64)
    return DaySums(
        weight=joined("weight").astype(np.float64),
        weighted_units=less_floors("all_weighted", w * s),
        weight_sq=joined("weight_sq").astype(np.float64) + sums_by(cell, w * w, n_cells),
        observed_days=observed,
        censored_days=n_days - observed,
        units=less_floors("all_units", s),
        units_sq=less_floors("all_sq", s * s),
        entry_cell=cell,
        entry_units=s,
        entry_weight=w,
    )
