"""Running a scenario: build every variant's inputs, play each over the horizon
(one process per variant with `jobs` > 1) and report progress per variant.

The same entry serves `omnistock scenario run` (a file whose base is files) and the
service's scenario jobs (whose base is the tenant's stored snapshot and ruleset).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from engine.core.snapshot import Snapshot
from engine.scenarios.format import Scenario
from engine.scenarios.overrides import build_variants
from engine.scenarios.simulate import simulate
from engine.scenarios.spec import SimulationSettings, VariantInputs, VariantResult
from rules.catalog import Ruleset

# variant name, steps done, steps in all (a step is one simulated day of one replication)
VariantProgress = Callable[[str, int, int], None]


@dataclass
class ScenarioRun:
    results: list[VariantResult]  # base first, then the file's variants in order
    notes: list[str]  # what building the variants adjusted (e.g. stock clamped at 0)
    settings: SimulationSettings


def settings_for(
    scenario: Scenario, replications: int | None = None, seed: int | None = None
) -> SimulationSettings:
    """The file's simulation settings, with the command line's overrides."""
    settings = scenario.simulation.settings()
    if replications is not None:
        settings = replace(settings, replications=replications)
    if seed is not None:
        settings = replace(settings, seed=seed)
    return settings


def run_scenario(
    scenario: Scenario,
    snapshot: Snapshot,
    ruleset: Ruleset,
    settings: SimulationSettings,
    jobs: int = 1,
    progress: VariantProgress | None = None,
    time_limit_s: float = 60.0,
) -> ScenarioRun:
    """Every variant played against the same demand draws (same seed); InputError naming
    the variant and override before anything runs if one does not hold."""
    built = build_variants(scenario, snapshot, ruleset)
    notes = [note for variant in built for note in variant.notes]
    inputs = [variant.inputs for variant in built]
    if jobs <= 1 or len(inputs) == 1:
        results = [_play(v, settings, progress, time_limit_s) for v in inputs]
    else:
        results = _play_in_processes(inputs, settings, jobs, progress, time_limit_s)
    return ScenarioRun(results, notes, settings)


def _play(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: VariantProgress | None,
    time_limit_s: float,
) -> VariantResult:
    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(inputs.name, done, total)

    return simulate(inputs, settings, step, time_limit_s)


_reports: Any = None  # a pool process's end of the progress queue


def _start_process(reports: Any) -> None:
    global _reports
    _reports = reports


def _report(variant: str, done: int, total: int) -> None:
    _reports.put((variant, done, total))


def _play_reporting(
    inputs: VariantInputs, settings: SimulationSettings, time_limit_s: float
) -> VariantResult:
    return _play(inputs, settings, _report, time_limit_s)


def _play_in_processes(
    inputs: list[VariantInputs],
    settings: SimulationSettings,
    jobs: int,
    progress: VariantProgress | None,
    time_limit_s: float,
) -> list[VariantResult]:
    # spawn: the caller may be a server with threads, which a fork would copy mid-state
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    relay = threading.Thread(target=_relay, args=(reports, progress), daemon=True)
    relay.start()
    workers = min(jobs, len(inputs))
    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_process, initargs=(reports,)
        ) as pool:
            futures: list[Future[VariantResult]] = [
                pool.submit(_play_reporting, v, settings, time_limit_s) for v in inputs
            ]
            return [future.result() for future in futures]
    finally:
        reports.put(None)
        relay.join(timeout=5)


def _relay(reports: Any, progress: VariantProgress | None) -> None:
    while True:
        report = reports.get()
        if report is None:
            return
        if progress is not None:
            progress(*report)
