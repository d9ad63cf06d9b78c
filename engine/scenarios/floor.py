"""The units no plan can sell: a floor under `unsold_units_end` for a variant's demand.

Whatever any planner lists, a SKU's units can only go to the demand of the shops that
reach the warehouse holding them, within the horizon. Per SKU this is a flow from its
warehouses (their day-0 physical units) to its consumers - its own open cells (at most
their demand over the horizon) and the open cells of the bundles it is a component of (at
most qty x their demand) - along the shops' warehouse reach. The most that can sell is
the maximum flow, by max-flow/min-cut the least over warehouse sets X of (units outside
X + the consumers' capacity that X reaches); what remains is unsold at the end whatever
the plan. A bundle's own units are a SKU of their own.

It is a floor, not an estimate: everything the simulator adds only lowers what can sell
(the order of days, shared parts, a restricted shop listing a bundle only up to its own
units, locks pinned to a shop are not modelled and each could only leave more unsold);
arrivals are left out, and each arriving unit raises the floor by at most one, so the
floor without them stays below the one with them.

    python -m engine.scenarios.floor scenarios/versus-incumbent.yaml
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from engine.scenarios.demand import demand
from engine.scenarios.format import load_base, load_scenario
from engine.scenarios.overrides import build_variants
from engine.scenarios.prepared import PreparedVariant, prepare

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def unsold_floor(v: PreparedVariant, wanted: I64) -> I64:
    """Per SKU, units unsold at the end under any plan, for [day, cell] demand `wanted`."""
    ix, s = v.index, v.supply0
    per_cell = np.where(v.open_cell, wanted.sum(axis=0), 0).astype(np.float64)
    # consumers: (SKU whose units they take, cell whose reach applies, most they take)
    own = np.arange(ix.n_cells)
    bundle_cells = [np.flatnonzero(ix.cell_sku == b) for b in s.bundle.tolist()]
    comp_sku = np.repeat(s.component, [c.size for c in bundle_cells]).astype(np.int64)
    comp_cell = np.concatenate([own[:0], *bundle_cells]).astype(np.int64)
    comp_qty = np.repeat(s.qty, [c.size for c in bundle_cells])
    sku = np.concatenate([ix.cell_sku, comp_sku])
    cell = np.concatenate([own, comp_cell])
    cap = np.concatenate([per_cell, per_cell[comp_cell] * comp_qty])
    units = (s.sellable_wh + s.locked_wh).astype(np.float64)  # [sku, warehouse]
    n_w, total = units.shape[1], units.sum(axis=1)
    most = total.copy()  # X empty: every unit
    for size in range(1, n_w + 1):
        for x in itertools.combinations(range(n_w), size):
            hit = s.reach[cell][:, list(x)].any(axis=1)
            reached = np.bincount(sku, weights=np.where(hit, cap, 0.0), minlength=ix.n_skus)
            outside = total - units[:, list(x)].sum(axis=1)
            most = np.minimum(most, outside + reached)
    return np.rint(total - most).astype(np.int64)


def file_floors(path: Path, replication: int = 0) -> dict[str, int]:
    """Per variant of a scenario file: the floor under its unsold units at the end, on
    the demand of the file's seed and the given replication."""
    scenario = load_scenario(path)
    settings = scenario.simulation.settings()
    floors = {}
    for built in build_variants(scenario, *load_base(scenario)):
        v = prepare(built.inputs, settings, 60.0)
        wanted = demand(v.rate, v.keys, settings.seed, replication)
        floors[built.inputs.name] = int(unsold_floor(v, wanted).sum())
    return floors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--replication", type=int, default=0)
    args = parser.parse_args(argv)
    for name, units in file_floors(args.scenario, args.replication).items():
        print(f"{name}\t{units}")


if __name__ == "__main__":
    main()
