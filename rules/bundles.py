"""Bundles: combo SKUs made of components (the snapshot's, or a `bundle` rule's).

A bundle's pool is what its components' pools can make; bundle and component listings
share the component stock, so the share base of each is what its demand draws.
"""

from __future__ import annotations

import numpy as np

from rules.catalog import Bundle, Kind
from rules.draft import I64, NONE, Draft, Mask
from solvers.problem import Bundles


def bundles_of(d: Draft) -> Bundles | None:
    """Bundle rows from the snapshot's components, overridden by `bundle` rules."""
    ix = d.ix
    bundle, component, qty = ix.bundle_rows
    rows = {(int(b), int(c)): int(q) for b, c, q in zip(bundle, component, qty, strict=True)}
    for k in d.of_kind(Kind.BUNDLE):
        rule = d.rule(k)
        assert isinstance(rule, Bundle)
        b = ix.sku_pos[rule.sku]
        rows = {key: q for key, q in rows.items() if key[0] != b}
        rows.update({(b, ix.sku_pos[c.sku]): c.qty for c in rule.components})
    if not rows:
        return None
    keys = sorted(rows)
    out = Bundles(
        bundle=np.array([b for b, _ in keys], dtype=np.int64),
        component=np.array([c for _, c in keys], dtype=np.int64),
        qty=np.array([rows[key] for key in keys], dtype=np.int64),
    )
    _split_components(d, out)
    return out


def _split_components(d: Draft, bundles: Bundles) -> None:
    """Component stock feeds the component's own listings and its bundles'. Their
    targets split it by demand: velocity (1 where a SKU has none), a bundle's demand
    counting `qty` times."""
    ix = d.ix
    speed = np.bincount(ix.cell_sku, weights=d.velocity, minlength=ix.n_skus)
    weight = np.where(speed > 0, speed, 1.0)
    draw = np.zeros(ix.n_skus)
    np.add.at(draw, bundles.component, bundles.qty * weight[bundles.bundle])
    total = weight + draw
    row_share = bundles.qty * weight[bundles.bundle] / total[bundles.component]
    for_bundles = np.floor(d.pool * draw / total + 1e-9).astype(np.int64)
    d.share_base_less = np.where(draw > 0, for_bundles, 0)
    per_row = np.floor(d.pool[bundles.component] * row_share / bundles.qty + 1e-9).astype(np.int64)
    can_make = np.full(ix.n_skus, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(can_make, bundles.bundle, per_row)
    d.share_base_extra = np.zeros(ix.n_skus, dtype=np.int64)
    d.share_base_extra[bundles.bundle] = can_make[bundles.bundle]


def is_bundle(n_skus: int, bundles: Bundles | None) -> np.ndarray:
    mask = np.zeros(n_skus, dtype=bool)
    if bundles is not None:
        mask[bundles.bundle] = True
    return mask


def bundle_virtual(d: Draft, bundles: Bundles | None) -> I64:
    """Per SKU: bundles the components' pools could make: per bundle, the fewest its
    components' pools make (floor of pool / qty)."""
    made = np.zeros(d.ix.n_skus, dtype=np.int64)
    if bundles is None:
        return made
    cap = np.full(d.ix.n_skus, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(cap, bundles.bundle, d.pool[bundles.component] // bundles.qty)
    made[bundles.bundle] = cap[bundles.bundle]
    return made


def bound_where_unmade(d: Draft, bundles: Bundles, by_wh: I64) -> None:
    """A shop that some supplying warehouse cannot serve lists a bundle only up to the
    bundle's own stock (groups cover where it sits): components may sit elsewhere."""
    ix = d.ix
    own = by_wh.sum(axis=1)
    d.set_ub(_made_elsewhere(d, bundles), own[ix.cell_sku] + d.pinned_extra, NONE)


def unshare_where_unmade(d: Draft, bundles: Bundles) -> Mask:
    """A bundle's shared part is made from its components wherever they sit: a shop that
    some supplying warehouse cannot serve does not list it (after the targets, which
    name the shared shops), or it would sell bundles its warehouses cannot make. The
    cells it takes out of the shared set."""
    left = d.in_shared & _made_elsewhere(d, bundles)
    d.in_shared &= ~left
    return left


def _made_elsewhere(d: Draft, bundles: Bundles) -> np.ndarray:
    """Cells of a bundle on a shop that misses a supplying warehouse."""
    return np.isin(d.ix.cell_sku, bundles.bundle) & d.restricted
