"""Demand of a scenario variant: per (SKU, shop) cell and day, seeded Poisson draws.

The rate of a cell on a day is the snapshot's velocity of the cell times the factor of
every `Uplift` matching the cell on that day (overlapping uplifts multiply).

The draws are common random numbers: demand = F^-1(u; rate), the Poisson quantile of a
uniform u that depends only on (seed, replication, SKU id, shop id, day). The
replication's key comes from numpy's SeedSequence over (seed, replication); u is a
counter-based hash (splitmix64) of that key, the cell's identity and the day. So

- the same seed gives the same numbers, on every run and machine;
- the draws do not depend on the plan, nor on which other cells exist: two variants with
  the same seed and uplifts face exactly the same demand, and adding a shop, a SKU or a
  rule shifts no other cell's draws;
- a higher rate never gives less demand for the same u: an uplift raises demand only on
  the cells and days it matches, and leaves every other draw as it was.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from engine.core.index import SnapshotIndex
from engine.scenarios.spec import Uplift

I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix(x: U64) -> U64:
    """splitmix64's finaliser (wrapping uint64 arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def cell_keys(index: SnapshotIndex) -> U64:
    """A stable 64-bit key per cell from its SKU and shop ids (not its position): the
    8-byte BLAKE2b digest of "sku\x1fshop", read little-endian."""
    sku_ids, shop_ids = index.sku_ids, index.shop_ids
    digests = b"".join(
        hashlib.blake2b(f"{sku_ids[k]}\x1f{shop_ids[h]}".encode(), digest_size=8).digest()
        for k, h in zip(index.cell_sku.tolist(), index.cell_shop.tolist(), strict=True)
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def replication_key(seed: int, replication: int) -> np.uint64:
    entropy = [seed % 2**64, replication % 2**64]
    return np.uint64(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def uniforms(keys: U64, key: np.uint64, days: int) -> F64:
    """[day, cell] uniforms in (0, 1), each a hash of (key, cell key, day)."""
    base = mix(keys ^ key)
    day = np.arange(days, dtype=np.uint64)[:, None] * _GOLDEN
    bits = mix(base[None, :] + day)
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def poisson_quantile(u: F64, rate: F64) -> I64:
    """The smallest k with P(Poisson(rate) <= k) >= u, elementwise (inverse transform).

    The search starts 8 standard deviations below the mean for large rates (the mass it
    skips is below 1e-14) and stops 12 above it, so it is exact for every rate in use.
    """
    out = np.zeros(u.shape, dtype=np.int64)
    flat_u, flat_rate = u.ravel(), rate.ravel()
    pos = np.flatnonzero(flat_rate > 0)
    if pos.size == 0:
        return out
    lam, uu = flat_rate[pos], flat_u[pos]
    k = np.maximum(0.0, np.floor(lam - 8.0 * np.sqrt(lam)))
    p = np.exp(-lam + k * np.log(lam) - gammaln(k + 1.0))
    cdf = p.copy()
    stop = lam + 12.0 * np.sqrt(lam) + 40.0
    live = np.flatnonzero(uu > cdf)
    while live.size:
        k[live] += 1.0
        p[live] *= lam[live] / k[live]
        cdf[live] += p[live]
        live = live[(uu[live] > cdf[live]) & (k[live] < stop[live])]
    flat = out.reshape(-1)
    flat[pos] = k.astype(np.int64)
    return out


def uplift_mask(index: SnapshotIndex, uplift: Uplift) -> Mask:
    """Cells an uplift's selectors match (None matches everything)."""
    mask = np.ones(index.n_cells, dtype=bool)
    if uplift.shops is not None:
        shops = np.array([s in uplift.shops for s in index.shop_ids], dtype=bool)
        mask &= shops[index.cell_shop]
    if uplift.categories is not None:
        cats = np.array([c in uplift.categories for c in index.categories], dtype=bool)
        mask &= cats[index.sku_category[index.cell_sku]]
    if uplift.skus is not None:
        skus = np.array([s in uplift.skus for s in index.sku_ids], dtype=bool)
        mask &= skus[index.cell_sku]
    return mask


def uplift_factors(
    index: SnapshotIndex, uplifts: tuple[Uplift, ...], days: int, planned_only: bool = False
) -> F64:
    """[day, cell] product of the matching uplifts' factors (1.0 where none matches)."""
    factors = np.ones((days, index.n_cells))
    for uplift in uplifts:
        if planned_only and not uplift.planned:
            continue
        first, last = max(uplift.first_day, 0), min(uplift.last_day, days - 1)
        if first > last:
            continue
        mask = uplift_mask(index, uplift)
        factors[first : last + 1, mask] *= uplift.factor
    return factors


def demand(rate: F64, keys: U64, seed: int, replication: int) -> I64:
    """[day, cell] units demanded, for a [day, cell] rate."""
    u = uniforms(keys, replication_key(seed, replication), rate.shape[0])
    return poisson_quantile(u, rate)
