"""Runs omnistock and the baselines on each instance, side by side in one run.

Every solver, the numpy floor included, runs in a forked child process of its own, so
its wall time and peak memory are its own (peak = the child's high-water resident set,
which includes the instance it inherited), and a run that exceeds the time limit is
stopped, not waited for. Each child runs its solver `repeat` times in a row and the best
run counts, for every solver alike: the first run of a fresh process also pays for
faulting in its memory and first-use set-up, which a long-lived service pays once; it is
recorded too (`first_seconds`). What a run returns is checked (objective) after its
clock stops.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.bench.baselines import applies, numpy_pass, plan_objective, run_baseline
from engine.bench.instances import Instance, make_instance
from engine.planning.planner import run_planner
from rules.compile import compile_problem
from solvers.problem import Problem, objective

TOLERANCE = 1e-6
FLOOR_RUNS = 3  # the floor is never timed from fewer runs than this


@dataclass
class Record:
    family: str
    skus: int
    shops: int
    cells: int
    solver: str
    seconds: float | None  # the best run
    peak_mib: float | None
    objective: int | None
    ratio: float | None  # solver seconds / omnistock seconds
    status: str = "ok"
    note: str = ""
    first_seconds: float | None = None  # the first run, in a fresh process
    runs: int = 0  # runs completed


@dataclass
class Measured:
    status: str  # ok, error, timeout
    seconds: float  # best run (the time limit for a timeout with no run done)
    first_seconds: float
    peak_mib: float
    result: Any  # what `check` made of the last run's value, or the error text
    runs: int  # runs completed
    stopped: bool = False  # a run after those was stopped at the time limit


def parse_size(text: str) -> int:
    """'10k', '1M', '2500' -> cells."""
    text = text.strip()
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise ValueError(f"size {text!r}: use a number of cells like 10k, 1M or 2500") from None
    if value < 1:
        raise ValueError(f"size {text!r} must be at least 1 cell")
    return value


def _peak_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(
    fn: Callable[[], Any],
    check: Callable[[Any], Any],
    runs: int,
    conn: Any,
    setup: Callable[[], None] | None,
) -> None:
    if setup is not None:
        setup()  # before the clock: the set-up of a process that plans
    # Solvers print banners and logs on the process's stdout; the table owns it.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        # Start the high-water mark at the current size (Linux >= 4.0).
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass
    try:
        for _ in range(runs):
            started = time.perf_counter()
            value = fn()
            elapsed = time.perf_counter() - started
            # One message per run: a later run past the time limit keeps the earlier.
            conn.send(("ok", elapsed, _peak_mib(), check(value)))
    except Exception as error:  # reported to the parent, which records it
        conn.send(("error", 0.0, _peak_mib(), f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def measure(
    fn: Callable[[], Any],
    timeout_s: float,
    runs: int = 1,
    check: Callable[[Any], Any] = lambda value: value,
    setup: Callable[[], None] | None = None,
) -> Measured:
    """`fn` run `runs` times in a forked child, each run within `timeout_s`; `check`
    turns a run's value into the result recorded, after the run's clock stopped; `setup`
    runs first in the child, off the clock."""
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, check, max(runs, 1), send, setup), daemon=True)
    child.start()
    send.close()
    times: list[float] = []
    peak, result, status = float("nan"), None, "ok"
    while len(times) < max(runs, 1):
        if not receive.poll(timeout_s):
            status = "timeout"
            break
        try:
            kind, seconds, peak, result = receive.recv()
        except EOFError:
            status, result = "error", "the process died"
            break
        if kind != "ok":
            status = kind
            break
        times.append(seconds)
    child.kill()
    child.join()
    if times and status in ("ok", "timeout"):
        # A run stopped after good ones: the good ones count, and the stop is noted.
        return Measured("ok", min(times), times[0], peak, result, len(times), status == "timeout")
    if status == "timeout":
        result = f"stopped after {timeout_s:g} s"
    return Measured(status, timeout_s if status == "timeout" else 0.0, 0.0, peak, result, 0)


def bench_instance(
    inst: Instance,
    baselines: list[str],
    repeat: int,
    timeout_s: float,
    planner_setup: Callable[[], None] | None = None,
) -> Iterator[Record]:
    """Records for one instance: numpy floor, omnistock, then each baseline;
    `planner_setup` is the process set-up omnistock's child gets, as a planner process."""

    def record(solver: str, m: Measured | None, **rest: Any) -> Record:
        timed = m is not None and m.status in ("ok", "timeout")
        return Record(
            inst.family,
            inst.skus,
            inst.shops,
            inst.cells,
            solver,
            m.seconds if m is not None and timed else None,
            first_seconds=m.first_seconds if m is not None and m.runs else None,
            runs=m.runs if m is not None else 0,
            **rest,
        )

    floor = measure(lambda: numpy_pass(inst.index), timeout_s, max(repeat, FLOOR_RUNS))

    def plan() -> Any:
        return run_planner(inst.index, inst.ruleset, "normal", time_limit_s=timeout_s)

    def planned_objective(out: Any) -> tuple[int, str, int]:
        """The first pass's objective (the problem the baselines solve), the parts,
        and the lower bound it proves: the objective itself where every part is exact,
        the parts' LP bounds where relax and repair solved some."""
        problem, first = out.compiled.problem, out.first
        parts = ", ".join(f"{p.backend} {p.cells / 1000:,.0f}k" for p in first.parts)
        value = objective(problem, first.x, first.shared)
        bound = value - sum(p.objective - p.bound for p in first.parts if p.bound is not None)
        if bound < value:
            parts += f"; proven gap {(value - bound) / max(abs(bound), 1):.1e}"
        return value, parts, bound

    omni = measure(plan, timeout_s, repeat, planned_objective, planner_setup)
    planned = omni.status == "ok"
    omni_s = omni.seconds
    omni_obj = omni.result[0] if planned else None
    omni_bound = omni.result[2] if planned else None
    yield record(
        "numpy pass",
        floor,
        peak_mib=None,
        objective=None,
        ratio=floor.seconds / omni_s if planned and floor.status == "ok" else None,
        status=floor.status,
        note="the floor" if floor.status == "ok" else str(floor.result),
    )
    yield record(
        "omnistock",
        omni,
        peak_mib=omni.peak_mib,
        objective=omni_obj,
        ratio=1.0 if planned else None,
        status=omni.status,
        note=omni.result[1] if planned else str(omni.result),
    )
    if not baselines:
        return
    problem = compile_problem(inst.index, inst.ruleset, "normal").problem
    for name in baselines:
        why_not = applies(name, problem)
        if why_not:
            yield record(
                name, None, peak_mib=None, objective=None, ratio=None, status="n/a", note=why_not
            )
            continue
        m = measure(_baseline(name, problem, timeout_s), timeout_s, repeat, _checker(name, problem))
        entry = record(
            name,
            m,
            peak_mib=m.peak_mib if m.runs else None,
            objective=m.result if m.status == "ok" else None,
            ratio=m.seconds / omni_s if planned and m.status in ("ok", "timeout") else None,
            status=m.status,
            note="" if m.status == "ok" else str(m.result),
        )
        if m.status == "timeout" and planned:
            entry.note = f"stopped after {timeout_s:g} s: the ratio is at least this"
        if m.stopped:
            entry.note = f"run {m.runs + 1} stopped after {timeout_s:g} s"
        if entry.status == "ok" and _disagree(omni_obj, entry.objective, omni_bound):
            entry.status = "MISMATCH"
            entry.note = f"objective {entry.objective} vs omnistock {omni_obj}"
            if omni_bound != omni_obj:
                entry.note += f" (its proven bound {omni_bound})"
        yield entry


def _baseline(name: str, problem: Problem, timeout_s: float) -> Callable[[], Any]:
    return lambda: run_baseline(name, problem, timeout_s)


def _checker(name: str, problem: Problem) -> Callable[[Any], int]:
    return lambda plan: plan_objective(name, problem, plan)


def agree(a: int, b: int) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1)


def _disagree(ours: int | None, theirs: int | None, bound: int | None = None) -> bool:
    """Both objectives known, and the baseline's outside [omnistock's proven bound,
    omnistock's objective] by more than the tolerance (an exact plan's bound is its
    objective: then they must agree)."""
    if ours is None or theirs is None:
        return False
    low = ours if bound is None else bound
    return not (agree(low, theirs) or agree(ours, theirs) or low <= theirs <= ours)


def run_bench(
    families: list[str],
    sizes: list[int],
    shops: list[int],
    baselines: list[str],
    repeat: int,
    timeout_s: float,
    seed: int = 7,
    on_record: Callable[[Record], None] | None = None,
    planner_setup: Callable[[], None] | None = None,
) -> list[Record]:
    records: list[Record] = []
    for family in families:
        for cells in sizes:
            # The demo generator has its own shops: one instance per size.
            for n_shops in shops if family != "demo" else shops[:1]:
                inst = make_instance(family, cells, n_shops, seed)
                for record in bench_instance(inst, baselines, repeat, timeout_s, planner_setup):
                    records.append(record)
                    if on_record is not None:
                        on_record(record)
    return records


def as_json(records: list[Record]) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in asdict(r).items()} for r in records]


def _clean(value: Any) -> Any:
    """JSON has no NaN: unknown numbers become null; others keep 6 decimals."""
    if isinstance(value, float):
        return round(value, 6) if np.isfinite(value) else None
    return value
