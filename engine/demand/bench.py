"""The estimator's benchmark: time on a simulated history beside the naive average's in
the same run, and accuracy against the simulation's known rates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from engine.demand.estimate import DemandHistory, EstimatorSettings, estimate_demand, naive_rate
from engine.demand.simulate import Market, simulate

F64 = NDArray[np.float64]
T = TypeVar("T")


@dataclass(frozen=True)
class Timed:
    name: str
    wall_s: float
    cpu_s: float


@dataclass(frozen=True)
class Accuracy:
    name: str
    mae: float  # mean absolute error of the rate, units a day, over all cells
    mae_rich: float  # over cells whose true rate is at least 1 a day
    mae_sparse: float  # over cells whose true rate is below 0.2 a day


@dataclass(frozen=True)
class BenchReport:
    cells: int
    days: int
    censored_share: float  # of all cell-days
    prior_days: float
    timings: list[Timed]
    accuracy: dict[str, list[Accuracy]]  # per history (label) the methods' errors


METHODS: dict[str, Callable[[DemandHistory], F64]] = {
    "naive average (14 days)": naive_rate,
    "censored EM, no shrinkage": lambda h: estimate_demand(h, EstimatorSettings(shrink=False)).rate,
    "censored EM + shrinkage (full)": lambda h: estimate_demand(h).rate,
}


def _timed(name: str, run: Callable[[], T]) -> tuple[T, Timed]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, Timed(name, time.perf_counter() - wall, time.process_time() - cpu)


def _accuracy(name: str, rate: F64, truth: F64) -> Accuracy:
    error = np.abs(rate - truth)
    rich, sparse = truth >= 1.0, truth < 0.2
    return Accuracy(
        name,
        float(error.mean()),
        float(error[rich].mean()) if rich.any() else float("nan"),
        float(error[sparse].mean()) if sparse.any() else float("nan"),
    )


def run_bench(cells: int, days: int, seed: int = 0, short_days: int = 14) -> BenchReport:
    """Time every method on `cells` x `days` (the full estimator last, as the headline),
    then their accuracy there and on a short history of `short_days` days (a tenth of
    the cells), where shrinkage has the most to add."""
    sim = simulate(cells, days, seed, Market())
    history = sim.history
    timings, rates = [], {}
    for name, method in METHODS.items():
        rates[name], timed = _timed(name, lambda m=method: m(history))  # type: ignore[misc]
        timings.append(timed)
    full = estimate_demand(history)
    accuracy = {
        f"{days} days": [_accuracy(name, rate, sim.true_rate) for name, rate in rates.items()]
    }
    short = simulate(max(cells // 10, 1000), short_days, seed + 1, Market())
    accuracy[f"{short_days} days"] = [
        _accuracy(name, method(short.history), short.true_rate) for name, method in METHODS.items()
    ]
    return BenchReport(
        cells=history.n_cells,
        days=days,
        censored_share=float(history.censored.mean()),
        prior_days=full.prior_days,
        timings=timings,
        accuracy=accuracy,
    )
