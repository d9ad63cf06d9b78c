"""Runs omnistock and the baselines on each instance, side by side in one run.

Each solver runs in a forked child process, so its wall time and peak memory are its
own (peak = the child's high-water resident set, which includes the instance it
inherited), and a baseline that exceeds the time limit is stopped, not waited for.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.bench.baselines import applies, numpy_pass, run_baseline
from engine.bench.instances import Instance, make_instance
from engine.planner import run_planner
from rules.compile import compile_problem
from solvers.problem import Problem, objective

TOLERANCE = 1e-6


@dataclass
class Record:
    family: str
    skus: int
    shops: int
    cells: int
    solver: str
    seconds: float | None
    peak_mib: float | None
    objective: int | None
    ratio: float | None  # solver seconds / omnistock seconds
    status: str = "ok"
    note: str = ""


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


def _child(fn: Callable[[], Any], conn: Any) -> None:
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
        started = time.perf_counter()
        result = fn()
        conn.send(("ok", time.perf_counter() - started, _peak_mib(), result))
    except Exception as error:  # reported to the parent, which records it
        conn.send(("error", 0.0, _peak_mib(), f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def measure(fn: Callable[[], Any], timeout_s: float) -> tuple[str, float, float, Any]:
    """(status, seconds, peak MiB, result or error text) of fn in a forked child."""
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, send), daemon=True)
    child.start()
    send.close()
    if receive.poll(timeout_s):
        try:
            status, seconds, peak, result = receive.recv()
        except EOFError:
            status, seconds, peak, result = "error", 0.0, float("nan"), "the process died"
        child.join()
        return status, seconds, peak, result
    child.kill()
    child.join()
    return "timeout", timeout_s, float("nan"), f"stopped after {timeout_s:g} s"


def best_of(repeat: int, fn: Callable[[], Any], timeout_s: float) -> tuple[str, float, float, Any]:
    runs = [measure(fn, timeout_s) for _ in range(max(repeat, 1))]
    ok = [r for r in runs if r[0] == "ok"]
    return min(ok, key=lambda r: r[1]) if ok else runs[-1]


def bench_instance(
    inst: Instance, baselines: list[str], repeat: int, timeout_s: float
) -> Iterator[Record]:
    """Records for one instance: numpy floor, omnistock, then each baseline."""

    def record(solver: str, seconds: float | None, **rest: Any) -> Record:
        return Record(inst.family, inst.skus, inst.shops, inst.cells, solver, seconds, **rest)

    floor_s = min(_timed(lambda: numpy_pass(inst.index)) for _ in range(max(repeat, 3)))

    def plan() -> tuple[int, str]:
        out = run_planner(inst.index, inst.ruleset, "normal", time_limit_s=timeout_s)
        problem = out.compiled.problem
        parts = ", ".join(f"{p.backend} {p.cells / 1000:,.0f}k" for p in out.solved.parts)
        return objective(problem, out.first_x, out.solved.shared), parts

    status, omni_s, peak, result = best_of(repeat, plan, timeout_s)
    planned = status == "ok"
    omni_obj = result[0] if planned else None
    yield record(
        "numpy pass",
        floor_s,
        peak_mib=None,
        objective=None,
        ratio=floor_s / omni_s if planned else None,
        note="the floor",
    )
    yield record(
        "omnistock",
        omni_s,
        peak_mib=peak,
        objective=omni_obj,
        ratio=1.0 if planned else None,
        status=status,
        note=result[1] if planned else str(result),
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
        status, secs, peak, result = best_of(repeat, _baseline(name, problem, timeout_s), timeout_s)
        entry = record(
            name,
            secs,
            peak_mib=peak,
            objective=result if status == "ok" else None,
            ratio=secs / omni_s if planned else None,
            status=status,
            note="" if status == "ok" else str(result),
        )
        if status == "timeout" and planned:
            entry.note = f"stopped after {timeout_s:g} s: the ratio is at least this"
        if status == "ok" and omni_obj is not None and not agree(omni_obj, result):
            entry.status = "MISMATCH"
            entry.note = f"objective {result} vs omnistock {omni_obj}"
        yield entry


def _baseline(name: str, problem: Problem, timeout_s: float) -> Callable[[], int]:
    return lambda: run_baseline(name, problem, timeout_s)


def agree(a: int, b: int) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1)


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_bench(
    families: list[str],
    sizes: list[int],
    shops: list[int],
    baselines: list[str],
    repeat: int,
    timeout_s: float,
    seed: int = 7,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    records: list[Record] = []
    for family in families:
        for cells in sizes:
            for n_shops in shops:
                inst = make_instance(family, cells, n_shops, seed)
                for record in bench_instance(inst, baselines, repeat, timeout_s):
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
