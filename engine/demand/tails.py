"""Poisson tails for censored days: a day that sold out at `s` units says demand D was
at least s. For D ~ Poisson(rate), E[D | D >= s] = rate + e_s(rate), where the excess
e_s(rate) = s * P(D = s) / P(D >= s); P(D >= s) is the regularized lower incomplete
gamma function P(s, rate) (scipy.special.gammainc)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# Below this tail probability the ratio P(D = s) / P(D >= s) is summed as a series
# instead: both terms underflow long before their ratio does.
_TINY_TAIL = 1e-200
_SERIES_TERMS = 60


def excess(s: F64, rate: F64) -> tuple[F64, F64]:
    """(e_s(rate), its derivative in rate), entry by entry, for s >= 1 and rate > 0.

    e_s falls from s (rate -> 0: demand was exactly s) to 0 (rate -> inf: the floor
    says nothing), so E[D | D >= s] - rate is decreasing; the derivative follows from
    dP(D = s)/drate = P(D = s) (s / rate - 1) and dP(D >= s)/drate = P(D = s) s / rate:
    e' = e ((s - e) / rate - 1)."""
    # On first use: scipy.special costs 0.2-0.25 s to import, which every `omnistock
    # plan` would pay, with a history section or without.
    from scipy.special import gammainc, gammaln

    tail = gammainc(s, rate)
    pmf = np.exp(s * np.log(rate) - rate - gammaln(s + 1.0))
    deep = tail < _TINY_TAIL
    e = np.empty_like(rate)
    np.divide(s * pmf, tail, out=e, where=~deep)
    if deep.any():
        e[deep] = s[deep] / _tail_over_pmf(s[deep], rate[deep])
    slope = e * ((s - e) / rate - 1.0)
    return e, slope


def _tail_over_pmf(s: F64, rate: F64) -> F64:
    """P(D >= s) / P(D = s) = sum over j >= 0 of rate**j s! / (s + j)!; used where the
    tail is tiny, that is rate far below s, so the terms fall off at least as fast as
    (rate / (s + 1))**j."""
    total = np.ones_like(rate)
    term = np.ones_like(rate)
    for j in range(1, _SERIES_TERMS):
        term = term * rate / (s + j)
        total += term
    return total
