"""Shelf-ranking timings on seeded random shops (not a timed test):

    python3 -m engine.shelf.bench                   # 2,000 products x 200 slots
    python3 -m engine.shelf.bench --products 500 --slots 50 --seed 7

Each case ranks the same shop under other rules; the solver is the one `rank` picks.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from engine.shelf.inputs import ShelfInput
from engine.shelf.rank import rank

CATEGORIES = 14


def random_shop(products: int, slots: int, seed: int) -> dict[str, Any]:
    """A shop whose sales follow a long tail, a few products short of stock, some not
    restockable and some new."""
    rng = np.random.default_rng(seed)
    velocity = np.round(rng.lognormal(0.0, 1.0, products), 2)
    cover = rng.lognormal(3.0, 1.0, products)
    rows = []
    for i in range(products):
        row: dict[str, Any] = {
            "id": f"P{i:05d}",
            "velocity": float(velocity[i]),
            "price": f"{rng.uniform(20, 900):.2f}",
            "stock": int(velocity[i] * cover[i]),
            "category": f"c{rng.integers(CATEGORIES):02d}",
            "new": bool(rng.random() < 0.05),
            "position": i + 1 if i < slots else None,
        }
        if rng.random() < 0.2:
            row["restockable"] = False
        rows.append(row)
    return {"shop": "bench", "slots": slots, "products": rows}


CASES: dict[str, dict[str, Any]] = {
    "no rules (sort or assignment)": {},
    "pins + min cover (assignment)": {
        "pins": {"P00010": 30},
        "min_cover": {"days": 5, "top": 20},
    },
    "at most 3 per category in the top 20": {
        "category_limits": [{"max": 3, "top": 20}],
        "new_boost": 1.3,
    },
    "2 in the top 10, 5 in the top 40, min cover": {
        "category_limits": [{"max": 2, "top": 10}, {"max": 5, "top": 40}],
        "min_cover": {"days": 5, "top": 20},
    },
    "3 in the top 20 and 25 per category on the whole shelf": {
        "category_limits": [{"max": 3, "top": 20}, {"max": 25, "top": 200}],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    shop = random_shop(args.products, args.slots, args.seed)
    print(f"{args.products:,} products x {args.slots} slots, seed {args.seed}")
    for name, rules in CASES.items():
        started = time.perf_counter()
        shelf = ShelfInput.model_validate({**shop, "rules": rules})
        result = rank(shelf)
        total = time.perf_counter() - started
        notes = "; ".join(result.notes)
        print(
            f"  {name:<56} {result.solver:<10} solve {result.timing['solve_s']:7.3f}s"
            f"  total {total:6.3f}s  {notes}"
        )


if __name__ == "__main__":
    main()
