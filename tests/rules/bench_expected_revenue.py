"""`expected_sales` by units against by revenue where shop capacities are scarce: the
expected revenue and units sold of each plan and the CPU time of each, in one run:

    python -m tests.rules.bench_expected_revenue [--skus N] [--seed S]

The SKUs, shops and pools are bench_expected_sales.py's (long-tailed velocity, five
uneven shops, each SKU's shop mix around them, stock 1.5x the horizon's demand); each
SKU has a price (lognormal around 100.00, from 5.00, independent of velocity, or all
alike), and each shop a `shop_capacity` of a share of the demand it expects over the
horizon. Every plan is scored the same way: sum over cells of price x E[min(D, x)],
and of E[min(D, x)].
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.index import SnapshotIndex
from engine.core.modes import NORMAL
from engine.planning.planner import run_planner
from rules.expected import expected_sold, horizon_demand
from rules.load import parse_ruleset
from tests.rules.bench_expected_sales import HORIZON, SHOPS, UNEVEN, Instance, build


@dataclass(frozen=True)
class Case:
    name: str
    capacity: float  # each capped shop's capacity / the demand it expects
    capped: int  # the first (largest) shops capped
    priced: bool  # prices vary (else all alike: revenue is units x one price)


CASES = (
    Case("every shop at 0.3x its demand", 0.3, 5, True),
    Case("every shop at 0.6x", 0.6, 5, True),
    Case("the 2 largest shops at 0.3x", 0.3, 2, True),
    Case("every shop at 0.3x, one price", 0.3, 5, False),
    Case("every shop at 1.5x (its share of the pool)", 1.5, 5, True),
)
STOCK = Instance("uneven, 1.5x stock", UNEVEN, 1.5, np.inf, 0.5)


def rules(case: Case, index: SnapshotIndex, objective: str) -> list[dict[str, Any]]:
    demand = np.bincount(index.cell_shop, weights=index.velocity * HORIZON)
    caps = {
        shop: int(demand[j] * case.capacity) for j, (shop, _) in enumerate(SHOPS[: case.capped])
    }
    return [
        {"type": "expected_sales", "horizon_days": HORIZON, "objective": objective},
        {"type": "shop_capacity", "quantities": caps},
    ]


def score(index: SnapshotIndex, ruleset: list[dict[str, Any]]) -> tuple[float, float, float, str]:
    """Expected revenue (yuan) and units sold, CPU seconds of the plan, the backends."""
    parsed = parse_ruleset({"rules": ruleset})
    start = time.process_time()
    outcome = run_planner(index, parsed, NORMAL)
    cpu = time.process_time() - start
    mean, size = horizon_demand(index.velocity, index.dispersion, HORIZON)
    sold = expected_sold(outcome.solved.x, mean, size)
    revenue = float(np.dot(sold, index.price_cents[index.cell_sku])) / 100
    backends = sorted({p.backend for p in outcome.solved.parts if p.cells})
    return revenue, float(sold.sum()), cpu, "+".join(backends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import scipy.stats  # noqa: F401  (loaded once, outside the timings)

    print(f"{args.skus} SKUs x {len(SHOPS)} shops, horizon {HORIZON:g} days, seed {args.seed}")
    print(
        f"{'case':42} {'revenue: units':>15} {'by revenue':>12} {'gain':>7}"
        f" {'sold: units':>12} {'by revenue':>11} {'CPU s units':>12} {'revenue':>8}  solver"
    )
    index = build(STOCK, args.skus, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    varied = np.maximum(np.rint(rng.lognormal(np.log(10_000), 1.0, index.n_skus)), 500)
    score(index, rules(CASES[0], index, "revenue"))  # first plan of the process: not timed
    for case in CASES:
        index.price_cents = (varied if case.priced else np.full(index.n_skus, 10_000)).astype(
            np.int64
        )
        r_units, s_units, cpu_units, _ = score(index, rules(case, index, "units"))
        r_rev, s_rev, cpu_rev, solver = score(index, rules(case, index, "revenue"))
        print(
            f"{case.name:42} {r_units:>15,.0f} {r_rev:>12,.0f} {r_rev / r_units - 1:>+7.2%}"
            f" {s_units:>12,.1f} {s_rev:>11,.1f} {cpu_units:>12.2f} {cpu_rev:>8.2f}  {solver}"
        )


if __name__ == "__main__":
    main()
