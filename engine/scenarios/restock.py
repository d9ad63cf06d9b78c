"""A snapshot restocked to the learned-demand shape's cover (issue 17): every SKU keeps
its shops, velocities, stock buckets and bundles; its stock is set so that the units
that may sell (the pool derivation's physical stock under the given ruleset,
engine/scenarios/stock.py) last a cover drawn uniformly in [8, 25] days at its velocity,
as engine/scenarios/shape.py draws it, placed over its warehouses the way an agency
replenishes: where the demand that can take it is.

    python -m engine.scenarios.restock scenarios/demo/snapshot.json \
        --ruleset scenarios/demo/rules-everyday.yaml --seed 17 \
        -o scenarios/versus-incumbent/snapshot.json

Only stock changes; the demand (the snapshot's velocity) is the input's, so no planner's
demand is tuned. Per SKU:

- the total: with velocity v > 0, max(round(v x cover), 1) units; with no velocity, 0 (a
  SKU nobody buys has no cover: it is not of the shape, and its units would be unsold
  whatever the plan);
- the placement: each supplying warehouse (sellable kind, not excluded for the SKU) gets
  a share of the total equal to its share of the SKU's demand, where each of the SKU's
  shops (its cells, reach as the ruleset's warehouse scopes leave it) splits its
  velocity evenly over the supplying warehouses it can ship from, and each kit holding
  the SKU adds its cells' velocity x the component quantity the same way (a kit's sale
  takes the component's units). So a warehouse only a restricted shop reaches holds that
  shop's demand plus its share of the others', and the units no shop can reach are none.
  Whole units by largest remainder (ties to the warehouse listed first); a SKU with
  demand that no supplying warehouse serves goes to the supplying warehouse holding most
  of its brand's units;
- the rows: a SKU's row in a supplying warehouse has every bucket (on hand, reserved,
  locked, in transit, ...) scaled alike so the composition keeps its proportions, and
  its on hand set so that its physical units are exactly the warehouse's share (a row
  with nothing physical keeps its other buckets; a warehouse without a row gets one
  with only on hand). Rows in warehouses that do not supply (defects) stay.

`listed` is dropped: nothing is listed yet, as in the shape's snapshots.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.core.columns import BUCKETS  # the stock row's buckets, on_hand first
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot, read_document
from engine.scenarios.shape import COVER_DAYS
from engine.scenarios.stock import Supply, derive_supply
from rules.catalog import Ruleset
from rules.draft import Draft
from rules.load import load_ruleset
from rules.supply import supplying

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
_LARGE = 10**9  # an on hand above any row's other buckets (see _set_on_hand)


def cover_targets(index: SnapshotIndex, seed: int) -> I64:
    """Per SKU, the units its drawn cover asks for (0 for a SKU with no velocity)."""
    rng = np.random.default_rng([seed, index.n_skus])
    cover = rng.uniform(*COVER_DAYS, size=index.n_skus)
    speed = np.bincount(index.cell_sku, weights=index.velocity, minlength=index.n_skus)
    target = np.maximum(np.round(speed * cover), 1).astype(np.int64)
    return np.where(speed > 0, target, 0)


def physical(document: dict[str, Any], ruleset: Ruleset) -> tuple[SnapshotIndex, I64]:
    """The document's index and, per SKU, the units that may sell under the ruleset."""
    index = SnapshotIndex.build(parse_snapshot(document))
    return index, derive_supply(index, ruleset).physical


def restock(document: dict[str, Any], ruleset: Ruleset, seed: int) -> dict[str, Any]:
    """A copy of the snapshot document with its stock set to the drawn cover, placed
    where its demand is (module docstring)."""
    index = SnapshotIndex.build(parse_snapshot(document))
    supply = derive_supply(index, ruleset)
    serves = _supplying(index, ruleset)
    weight = demand_by_warehouse(index, supply, serves)
    total = cover_targets(index, seed)
    _home_where_none_serves(document, index, serves, weight, total)
    want = apportion(total, weight)
    have = supply.sellable_wh + supply.locked_wh
    rows: list[dict[str, Any]] = []
    held: dict[tuple[int, int], dict[str, Any]] = {}
    for row in document["stock"]:
        k, w = index.sku_pos[row["sku"]], index.wh_pos[row["warehouse"]]
        row = dict(row)
        if serves[k, w] and have[k, w] > 0:
            factor = want[k, w] / have[k, w]
            row.update({b: round(row[b] * factor) for b in BUCKETS if b in row})
        rows.append(row)
        held[k, w] = row
    for k, w in zip(*(a.tolist() for a in np.nonzero(want > 0)), strict=True):
        if (k, w) not in held:
            held[k, w] = {"sku": index.sku_ids[k], "warehouse": index.wh_ids[w], "on_hand": 0}
            rows.append(held[k, w])
    out = {key: value for key, value in document.items() if key != "listed"}
    out["stock"] = rows
    _set_on_hand(out, ruleset, want, {kw: r for kw, r in held.items() if want[kw] > 0})
    return out


def _supplying(index: SnapshotIndex, ruleset: Ruleset) -> Mask:
    """[SKU, warehouse]: the warehouse may supply the SKU (rules/supply.py)."""
    return supplying(Draft.start(index, ruleset, "normal"))


def demand_by_warehouse(index: SnapshotIndex, supply: Supply, serves: Mask) -> F64:
    """[SKU, warehouse]: the demand (units a day) the warehouse takes for the SKU when
    each consumer splits its velocity evenly over the supplying warehouses it reaches:
    the SKU's own cells, and the cells of each kit it is a component of (x the qty)."""
    weight = np.zeros(serves.shape)
    consumers = [(index.cell_sku, np.arange(index.n_cells), np.ones(index.n_cells))]
    for kit, part, qty in zip(supply.bundle, supply.component, supply.qty, strict=True):
        cells = np.flatnonzero(index.cell_sku == kit)
        consumers.append((np.full(cells.size, part), cells, np.full(cells.size, float(qty))))
    for sku, cells, qty in consumers:
        reach = supply.reach[cells] & serves[sku]
        ways = reach.sum(axis=1)
        rate = np.where(ways > 0, index.velocity[cells] * qty / np.maximum(ways, 1), 0.0)
        np.add.at(weight, sku, reach * rate[:, None])
    return weight


def apportion(total: I64, weight: F64) -> I64:
    """[SKU, warehouse]: each SKU's total in whole units in proportion to its row of
    weights (largest remainder, ties to the first warehouse); all 0 where no weight."""
    mass = weight.sum(axis=1, keepdims=True)
    exact = np.where(mass > 0, total[:, None] * weight / np.where(mass > 0, mass, 1.0), 0.0)
    whole = np.floor(exact).astype(np.int64)
    short = np.where(mass[:, 0] > 0, total - whole.sum(axis=1), 0)
    order = np.argsort(whole - exact, axis=1, kind="stable")  # largest remainder first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :], axis=1)
    return whole + (rank < short[:, None])


def _home_where_none_serves(
    document: dict[str, Any], index: SnapshotIndex, serves: Mask, weight: F64, total: I64
) -> None:
    """A SKU with demand no supplying warehouse serves: all its weight on the supplying
    warehouse that holds most of its brand's units on hand."""
    alone = np.flatnonzero((total > 0) & (weight.sum(axis=1) == 0))
    if alone.size == 0:
        return
    held = np.zeros((int(index.sku_brand.max()) + 1, len(index.wh_ids)))
    for row in document["stock"]:
        k, w = index.sku_pos[row["sku"]], index.wh_pos[row["warehouse"]]
        held[index.sku_brand[k], w] += row["on_hand"] * serves[k, w]
    for k in alone.tolist():
        weight[k, int(np.argmax(np.where(serves[k], held[index.sku_brand[k]], -1.0)))] = 1.0


def _set_on_hand(
    document: dict[str, Any],
    ruleset: Ruleset,
    want: I64,
    rows: dict[tuple[int, int], dict[str, Any]],
) -> None:
    """Each row's on hand such that its physical units are `want`: with on hand far
    above the other buckets the composition is linear in it (nothing clipped at zero),
    so one derivation at a large on hand tells what the other buckets take away."""
    for row in rows.values():
        row["on_hand"] = _LARGE
    _, units = _physical_wh(document, ruleset)
    for (k, w), row in rows.items():
        row["on_hand"] = int(want[k, w] + _LARGE - units[k, w])
    index, units = _physical_wh(document, ruleset)
    wrong = [(k, w) for k, w in rows if units[k, w] != want[k, w]]
    if wrong:  # on hand below zero: in-transit units alone hold more than the share
        k, w = wrong[0]
        raise ValueError(
            f"stock of {index.sku_ids[k]} in {index.wh_ids[w]}: {units[k, w]} physical "
            f"units where the placement asks {want[k, w]}"
        )


def _physical_wh(document: dict[str, Any], ruleset: Ruleset) -> tuple[SnapshotIndex, I64]:
    """The document's index and its physical units per [SKU, warehouse]."""
    index = SnapshotIndex.build(parse_snapshot(document))
    supply = derive_supply(index, ruleset)
    return index, supply.sellable_wh + supply.locked_wh


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--ruleset", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    document = restock(read_document(args.snapshot), load_ruleset(args.ruleset), args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
