"""A snapshot restocked to the learned-demand shape's cover (issue 17): every SKU keeps
its shops, velocities, warehouses, stock buckets and bundles, and its stock is scaled so
that the units that may sell (the pool derivation's physical stock under the given
ruleset, engine/scenarios/stock.py) last a cover drawn uniformly in [8, 25] days at its
velocity, as engine/scenarios/shape.py draws it.

    python -m engine.scenarios.restock scenarios/demo/snapshot.json \
        --ruleset scenarios/demo/rules-everyday.yaml --seed 17 \
        -o scenarios/versus-incumbent/snapshot.json

Only stock changes; the demand (the snapshot's velocity) is the input's, so no planner's
demand is tuned. Per SKU:

- with velocity v > 0, a target of max(round(v x cover), 1) units;
- with no velocity, 0 (a SKU nobody buys has no cover: it is not of the shape, and its
  units would be unsold whatever the plan);
- the SKU's stock rows in warehouses that supply are scaled, every bucket alike (on
  hand, reserved, locked, in transit, ...), so the composition's arithmetic keeps its
  proportions; rounding is made up on the row with most units. A SKU with demand and
  nothing that may sell gets the units on hand (added to what its row holds) in the
  supplying warehouse that holds most of its brand's stock. Rows in warehouses that do
  not supply (defects) stay.

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
from engine.scenarios.stock import derive_supply
from rules.catalog import Ruleset
from rules.load import load_ruleset

I64 = NDArray[np.int64]


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
    """A copy of the snapshot document with its stock scaled to the drawn cover."""
    index, units = physical(document, ruleset)
    target = cover_targets(index, seed)
    supplying = _supplying_warehouses(document, index, ruleset)
    rows: list[dict[str, Any]] = []
    for row in document["stock"]:
        k = index.sku_pos[row["sku"]]
        if row["warehouse"] not in supplying or units[k] == 0:
            rows.append(dict(row))
            continue
        factor = target[k] / units[k]
        rows.append({**row, **{b: round(row[b] * factor) for b in BUCKETS if b in row}})
    out = {key: value for key, value in document.items() if key != "listed"}
    out["stock"] = rows
    _add_where_nothing_sells(out, index, units, target, supplying)
    _make_up_rounding(out, ruleset, target, supplying)
    return out


def _supplying_warehouses(
    document: dict[str, Any], index: SnapshotIndex, ruleset: Ruleset
) -> list[str]:
    """Warehouses whose units may sell (sellable kind, not excluded by the ruleset)."""
    supply = derive_supply(index, ruleset)
    held = supply.sellable_wh.sum(axis=0) + supply.locked_wh.sum(axis=0)
    return [w["id"] for w in document["warehouses"] if held[index.wh_pos[w["id"]]] > 0]


def _add_where_nothing_sells(
    document: dict[str, Any],
    index: SnapshotIndex,
    units: I64,
    target: I64,
    supplying: list[str],
) -> None:
    brand_of = {s["id"]: s["brand"] for s in document["skus"]}
    held: dict[tuple[str, str], int] = {}
    rows = {(row["sku"], row["warehouse"]): row for row in document["stock"]}
    for row in document["stock"]:
        if row["warehouse"] in supplying:
            key = (brand_of[row["sku"]], row["warehouse"])
            held[key] = held.get(key, 0) + row["on_hand"]
    for k in np.flatnonzero((units == 0) & (target > 0)).tolist():
        sku = index.sku_ids[k]
        home = max(supplying, key=lambda w: held.get((brand_of[sku], w), 0))
        row = rows.get((sku, home))
        if row is None:
            row = {"sku": sku, "warehouse": home, "on_hand": 0}
            document["stock"].append(row)
        row["on_hand"] += int(target[k])


def _make_up_rounding(
    document: dict[str, Any], ruleset: Ruleset, target: I64, supplying: list[str]
) -> None:
    """On each SKU's largest supplying row, on hand moved by what rounding missed."""
    index, units = physical(document, ruleset)
    largest: dict[str, dict[str, Any]] = {}
    for row in document["stock"]:
        best = largest.get(row["sku"])
        if row["warehouse"] in supplying and (best is None or row["on_hand"] > best["on_hand"]):
            largest[row["sku"]] = row
    for k in np.flatnonzero(units != target).tolist():
        row = largest[index.sku_ids[k]]
        row["on_hand"] = max(0, row["on_hand"] + int(target[k] - units[k]))


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
