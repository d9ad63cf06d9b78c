"""Expected sales of `expected_sales` plans against proportional splits, on instances
made here, and the CPU time of each rule's plan, side by side in one run:

    python -m tests.rules.bench_expected_sales [--skus N] [--seed S]

Each instance: SKUs of long-tailed velocity, five shops whose sizes (each SKU's shop
mix around them) the instance sets, a pool per SKU of `stock` x the SKU's demand over
the horizon, and (where said) overdispersed demand. Every plan is scored the same way:
the expected units sold over the horizon, sum over cells of E[min(D, x)].
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.modes import NORMAL
from engine.planning.planner import run_planner
from rules.expected import expected_sold, horizon_demand
from rules.load import parse_ruleset
from tests.helpers import snapshot_data

HORIZON = 7.0
SHOPS = tuple((f"P{i}", i + 1) for i in range(5))


@dataclass(frozen=True)
class Instance:
    name: str
    sizes: tuple[float, ...]  # each shop's mean share of a SKU's demand (relative)
    stock: float  # pool / demand over the horizon
    dispersion: float  # per day (np.inf = Poisson)
    mix: float  # how much a SKU's shop mix varies around the sizes (0: not at all)
    dispersed_share: float = 1.0  # the share of cells with that dispersion (else Poisson)


UNEVEN = (8.0, 4.0, 2.0, 1.0, 0.5)
EVEN = (1.0, 1.0, 1.0, 1.0, 1.0)
INSTANCES = (
    Instance("scarce (0.5x), uneven shops", UNEVEN, 0.5, np.inf, 0.5),
    Instance("scarce, uneven, overdispersed", UNEVEN, 0.5, 0.3, 0.5),
    Instance("scarce, uneven, half overdisp.", UNEVEN, 0.5, 0.3, 0.5, 0.5),
    Instance("scarce, even shops", EVEN, 0.5, np.inf, 0.5),
    Instance("scarce, identical shops", EVEN, 0.5, np.inf, 0.0),
    Instance("ample (3x), uneven", UNEVEN, 3.0, np.inf, 0.5),
    Instance("ample (30x), uneven", UNEVEN, 30.0, np.inf, 0.5),
)

RULES: dict[str, list[dict[str, Any]]] = {
    "velocity_proportional": [{"type": "velocity_proportional"}],
    "expected_sales": [{"type": "expected_sales", "horizon_days": HORIZON}],
}


def build(instance: Instance, n_skus: int, seed: int) -> SnapshotIndex:
    rng = np.random.default_rng(seed)
    speed = rng.lognormal(-1.0, 1.2, n_skus)  # units a day over all shops: long-tailed
    sizes = np.array(instance.sizes) / sum(instance.sizes)
    mix = sizes * rng.lognormal(0.0, instance.mix, (n_skus, sizes.size)) if instance.mix else None
    mix = sizes[None, :].repeat(n_skus, 0) if mix is None else mix / mix.sum(1, keepdims=True)
    rate = speed[:, None] * mix
    pools = np.rint(speed * HORIZON * instance.stock).astype(int)
    skus = [f"S{i}" for i in range(n_skus)]
    velocity = {
        (sku, shop): round(float(rate[i, j]), 6)
        for i, sku in enumerate(skus)
        for j, (shop, _) in enumerate(SHOPS)
    }
    data: dict[str, Any] = snapshot_data(
        pools=dict(zip(skus, pools.tolist(), strict=True)), shops=SHOPS, velocity=velocity
    )
    index = SnapshotIndex.build(parse_snapshot(data))
    dispersed = rng.random(index.n_cells) < instance.dispersed_share
    index.dispersion = np.where(dispersed, instance.dispersion, np.inf)
    return index


def score(index: SnapshotIndex, rules: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Expected units sold over the horizon, CPU seconds of the plan, units placed."""
    ruleset = parse_ruleset({"rules": rules})
    start = time.process_time()
    outcome = run_planner(index, ruleset, NORMAL)
    cpu = time.process_time() - start
    x = outcome.solved.x
    mean, size = horizon_demand(index.velocity, index.dispersion, HORIZON)
    return float(expected_sold(x, mean, size).sum()), cpu, int(x.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # The rule loads scipy.stats on its first use in a process (about 0.3 s): loaded
    # here, so that the timings compare the plans alone.
    import scipy.stats  # noqa: F401

    print(f"{args.skus} SKUs x {len(SHOPS)} shops, horizon {HORIZON:g} days, seed {args.seed}")
    head = ("instance", "units", "E[demand]", "E[sold] proportional", "E[sold] expected_sales")
    print(f"{head[0]:31} {head[1]:>7} {head[2]:>9} {head[3]:>20} {head[4]:>22}    gain")
    cpu: dict[str, float] = dict.fromkeys(RULES, 0.0)
    for instance in INSTANCES:
        index = build(instance, args.skus, args.seed)
        sold = {}
        for name, rules in RULES.items():
            sold[name], seconds, units = score(index, rules)
            cpu[name] += seconds
        base, ours = sold["velocity_proportional"], sold["expected_sales"]
        demand = float(index.velocity.sum()) * HORIZON
        print(
            f"{instance.name:31} {units:>7} {demand:>9.1f} {base:>20.1f} {ours:>22.1f} "
            f"{(ours / base - 1) if base else 0.0:>+7.2%}"
        )
    ratio = cpu["expected_sales"] / cpu["velocity_proportional"]
    print(
        f"CPU of the {len(INSTANCES)} plans: velocity_proportional "
        f"{cpu['velocity_proportional']:.2f} s, expected_sales {cpu['expected_sales']:.2f} s "
        f"(x{ratio:.2f})"
    )


if __name__ == "__main__":
    main()
