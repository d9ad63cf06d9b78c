"""Running a scenario: build every variant's inputs, play each over the horizon (with
`jobs` > 1, in this process and `jobs` - 1 helper processes at once) and report progress
per variant.

The same entry serves `omnistock scenario run` (a file whose base is files) and the
service's scenario jobs (whose base is the tenant's stored snapshot and ruleset).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from engine.core.index import SnapshotIndex
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
    results = play([variant.inputs for variant in built], settings, jobs, progress, time_limit_s)
    return ScenarioRun(results, notes, settings)


def play(
    inputs: list[VariantInputs],
    settings: SimulationSettings,
    jobs: int = 1,
    progress: VariantProgress | None = None,
    time_limit_s: float = 60.0,
) -> list[VariantResult]:
    """Every variant played (`jobs` at once), results in the order given; the first
    error a variant raises, after the variants already started have finished."""
    # One index per snapshot: variants that change no stock or shop share the base's
    # Snapshot object (overrides.py), and the simulator only reads the index.
    by_snapshot: dict[int, SnapshotIndex] = {}
    for v in inputs:
        if id(v.snapshot) not in by_snapshot:
            by_snapshot[id(v.snapshot)] = SnapshotIndex.build(v.snapshot)
    indexes = [by_snapshot[id(v.snapshot)] for v in inputs]
    if jobs <= 1 or len(inputs) == 1:
        return [
            _play(v, settings, progress, time_limit_s, ix)
            for v, ix in zip(inputs, indexes, strict=True)
        ]
    return _play_in_processes(inputs, indexes, settings, jobs, progress, time_limit_s)


def _play(
    inputs: VariantInputs,
    settings: SimulationSettings,
    progress: VariantProgress | None,
    time_limit_s: float,
    index: SnapshotIndex | None = None,
) -> VariantResult:
    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(inputs.name, done, total)

    return simulate(inputs, settings, step, time_limit_s, index)


_reports: Any = None  # a helper process's end of the progress queue


def _start_process(reports: Any) -> None:
    global _reports
    _reports = reports


def _report(variant: str, done: int, total: int) -> None:
    _reports.put((variant, done, total))


def _ready() -> None:
    """Nothing: a helper runs it first, having imported what playing needs."""


def _play_reporting(
    variant: bytes, settings: SimulationSettings, time_limit_s: float
) -> VariantResult:
    inputs, index = pickle.loads(variant)
    return _play(inputs, settings, _report, time_limit_s, index)


def _shipped(inputs: VariantInputs, index: SnapshotIndex) -> bytes:
    """The variant as sent to a helper, pickled: the simulator reads only the snapshot's
    index, so the index goes (arrays pickle in milliseconds) and the snapshot's rows stay
    here (a model per row: about 0.3 s to pickle and 0.5 s to unpickle at 5,000 SKUs)."""
    rows: dict[str, list[Any]] = {"skus": [], "stock": [], "velocity": [], "listed": []}
    header = inputs.snapshot.model_copy(update=rows)
    return pickle.dumps((replace(inputs, snapshot=header), index))


class _Queue:
    """The variants not yet started, taken one at a time by whichever player is free."""

    def __init__(self, count: int) -> None:
        self._next = 0
        self._count = count
        self._lock = threading.Lock()
        self.stopped = False  # a player failed: the others start nothing more

    def take(self) -> int | None:
        with self._lock:
            if self.stopped or self._next >= self._count:
                return None
            self._next += 1
            return self._next - 1


def _play_in_processes(
    inputs: list[VariantInputs],
    indexes: list[SnapshotIndex],
    settings: SimulationSettings,
    jobs: int,
    progress: VariantProgress | None,
    time_limit_s: float,
) -> list[VariantResult]:
    """`jobs` players: this process and `jobs` - 1 helper processes, each taking the
    next variant when it is free (so no variant waits behind a busy player while another
    idles, and this process, which has everything loaded already, plays from the start
    while the helpers are still starting)."""
    # spawn: the caller may be a server with threads, which a fork would copy mid-state
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    relay = threading.Thread(target=_relay, args=(reports, progress), daemon=True)
    relay.start()
    queue = _Queue(len(inputs))
    results: dict[int, VariantResult] = {}
    failures: list[BaseException] = []
    helpers = min(jobs, len(inputs)) - 1
    # Pickled here, before this thread plays: the pool would pickle in a thread of its
    # own, while an index this thread reads gains cached attributes.
    sent = [_shipped(v, index) for v, index in zip(inputs, indexes, strict=True)]

    def feed(pool: ProcessPoolExecutor) -> None:
        # A thread per helper: it hands the helper one variant at a time and waits. The
        # first only once the helper has started (a second or two of imports): a cheap
        # scenario is then all played here rather than waiting on a helper's first one.
        try:
            pool.submit(_ready).result()
            while (i := queue.take()) is not None:
                future = pool.submit(_play_reporting, sent[i], settings, time_limit_s)
                results[i] = future.result()
        except BaseException as error:
            queue.stopped = True
            failures.append(error)

    try:
        with ProcessPoolExecutor(
            helpers, mp_context=context, initializer=_start_process, initargs=(reports,)
        ) as pool:
            feeders = [threading.Thread(target=feed, args=(pool,)) for _ in range(helpers)]
            for feeder in feeders:
                feeder.start()
            try:
                while (i := queue.take()) is not None:
                    results[i] = _play(inputs[i], settings, progress, time_limit_s, indexes[i])
            except BaseException:
                queue.stopped = True
                raise
            finally:
                for feeder in feeders:
                    feeder.join()
        if failures:
            raise failures[0]
        return [results[i] for i in range(len(inputs))]
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
