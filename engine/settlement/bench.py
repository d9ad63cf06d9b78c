"""`omnistock settle bench`: a generated month settled end to end, beside the time to
read its files alone and beside a straightforward pandas implementation of the same
matching, all in one run.

Each phase runs in a fresh child process of its own (multiprocessing, spawn), so its
time and memory are its own. Memory is the child's peak resident set (VmHWM) at the end
of the phase, which includes the interpreter and its libraries (about 100-200 MiB).

1. generate: `benchdata.write_month` writes the month (N orders, N bill rows over the
   two Alipay bills, N warehouse lines); its rows and sizes are shown, its time is
   compared with nothing.
2. read: the files through the real readers (the contract's order map) - the read
   alone; then, in the same process, `match` on those frames - the matching alone;
   then, off the clock, the frames are handed to pandas as CSV (reference.save_frames).
3. settle: `settle.settle` as `omnistock settle` runs it - read, match, re-check,
   bill - end to end; then the outputs written (`write_settlement`), timed on their own.
4. pandas: the hand-off loaded (timed, not compared), then `reference.match`.

The outcome counts per (source, outcome) of the settle phase and of pandas must be
equal (`Result.counts_equal`; the command exits 1 when not), and so must the matching
alone's. The targets of the issue (under 30 s and under 4 GiB) are checked on the
settle phase end to end, the outputs' writing shown beside it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.settlement.contract import load_contract
from engine.settlement.match import match
from engine.settlement.output import write_settlement
from engine.settlement.settle import order_map_of, pool_document, settle, tolerance_of
from engine.settlement.sources import read_settlement_file

__all__ = [
    "PERIOD",
    "TARGET_MIB",
    "TARGET_SECONDS",
    "BenchError",
    "Phase",
    "Result",
    "run_bench",
    "tolerance_of",
]

PERIOD = "2026-11"  # the month benchdata writes
TARGET_SECONDS = 30.0
TARGET_MIB = 4096.0


class BenchError(RuntimeError):
    """A phase failed: its process raised, or died (out of memory, killed)."""


@dataclass
class Phase:
    """One timed step: seconds and the peak resident MiB of its process at its end."""

    name: str
    seconds: float
    peak_mib: float
    note: str = ""


@dataclass
class Result:
    orders: int
    seed: int
    directory: str
    files: dict[str, dict[str, float]]  # per file: rows, mb
    generate_seconds: float
    phases: list[Phase]
    ratios: dict[str, float]
    targets: dict[str, bool]
    counts: dict[str, dict[str, int]]  # per engine: "source/outcome" -> records
    counts_equal: bool
    load_average: dict[str, list[float]] = field(default_factory=dict)  # start, end

    def phase(self, name: str) -> Phase:
        return next(one for one in self.phases if one.name == name)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _peak_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _polars_counts(outcomes: pl.DataFrame) -> dict[str, int]:
    grouped = outcomes.group_by("source", "outcome").len()
    return {f"{s}/{o}": int(n) for s, o, n in grouped.iter_rows()}


def _phase(name: str, measured: tuple[float, float], note: str) -> Phase:
    seconds, peak = measured
    return Phase(name, float(seconds), float(peak), note)


# The phases, each run in a child process: module-level, so spawn can find them.


def _generate(directory: str, orders: int, seed: int) -> dict[str, Any]:
    from engine.settlement.benchdata import write_month

    started = time.perf_counter()
    month = write_month(Path(directory), orders, seed)
    seconds = time.perf_counter() - started
    files = {
        name: {"rows": rows, "mb": (Path(directory) / name).stat().st_size / 1e6}
        for name, rows in month.rows.items()
    }
    return {
        "seconds": seconds,
        "files": files,
        "paths": {kind: [str(p) for p in paths] for kind, paths in month.files.items()},
        "contract": str(month.contract),
    }


def _read(paths: dict[str, list[str]], contract_path: str, handoff: str | None) -> dict[str, Any]:
    contract = load_contract(contract_path)
    order_map = order_map_of(contract)
    started = time.perf_counter()
    frames = {
        kind: pl.concat([read_settlement_file(path, order_map).frame for path in files])
        for kind, files in paths.items()
    }
    read_seconds = time.perf_counter() - started
    read_peak = _peak_mib()
    tol = tolerance_of(contract, PERIOD)
    started = time.perf_counter()
    matching = match(frames["orders"], frames["payments"], frames["movements"], tol)
    match_seconds = time.perf_counter() - started
    match_peak = _peak_mib()
    if handoff is not None:
        from engine.settlement.reference import save_frames

        save_frames(frames, Path(handoff))
    return {
        "read": (read_seconds, read_peak),
        "match": (match_seconds, match_peak),
        "counts": _polars_counts(matching.outcomes),
    }


def _settle(paths: dict[str, list[str]], contract_path: str, out: str) -> dict[str, Any]:
    contract = load_contract(contract_path)
    started = time.perf_counter()
    done = settle(
        [Path(p) for p in paths["orders"]],
        [Path(p) for p in paths["payments"]],
        [Path(p) for p in paths["movements"]],
        contract,
        PERIOD,
    )
    settle_seconds = time.perf_counter() - started
    settle_peak = _peak_mib()
    started = time.perf_counter()
    written = write_settlement(
        done.bill,
        done.outcomes,
        done.control,
        Path(out),
        done.carry,
        pool_document(done),
        done.daily,
    )
    write_seconds = time.perf_counter() - started
    return {
        "settle": (settle_seconds, settle_peak),
        "write": (write_seconds, _peak_mib()),
        "written": [p.name for p in written],
        "counts": _polars_counts(done.outcomes),
        "fee_fen": done.bill.fee_fen,
    }


def _pandas(handoff: str, contract_path: str) -> dict[str, Any]:
    from engine.settlement import reference

    tol = tolerance_of(load_contract(contract_path), PERIOD)
    started = time.perf_counter()
    frames = reference.load_frames(Path(handoff))
    load_seconds = time.perf_counter() - started
    load_peak = _peak_mib()
    started = time.perf_counter()
    outcomes = reference.match(frames["orders"], frames["payments"], frames["movements"], tol)
    match_seconds = time.perf_counter() - started
    return {
        "load": (load_seconds, load_peak),
        "match": (match_seconds, _peak_mib()),
        "counts": {
            f"{source}/{outcome}": int(n)
            for (source, outcome), n in outcomes.groupby(["source", "outcome"]).size().items()
        },
    }


def _child(target: Callable[..., dict[str, Any]], args: tuple[Any, ...], conn: Any) -> None:
    try:
        conn.send(("ok", target(*args)))
    except Exception as error:  # sent to the parent, which names the phase
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def _in_child(name: str, target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """`target(*args)` in a fresh process (spawn: nothing inherited from this one)."""
    context = mp.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, args, send), daemon=True)
    process.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        process.join()
        raise BenchError(f"{name}: the process died (exit code {process.exitcode})") from None
    finally:
        receive.close()
    process.join()
    if status != "ok":
        raise BenchError(f"{name}: {value}")
    return dict(value)


def run_bench(
    orders: int,
    seed: int = 7,
    directory: Path | None = None,
    with_pandas: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> Result:
    """Generate, read, settle and (unless `with_pandas` is False) match with pandas, each
    in its own process. `directory` keeps the files (else a temporary one, removed)."""
    keep = directory is not None
    work = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="settle-"))
    load_start = list(os.getloadavg())
    try:
        progress(f"generating {orders:,} orders (seed {seed}) in {work}")
        made = _in_child("generate", _generate, str(work / "month"), orders, seed)
        paths, contract = made["paths"], made["contract"]
        handoff = str(work / "handoff") if with_pandas else None
        progress("reading the files alone, then matching the frames read")
        read = _in_child("read", _read, paths, contract, handoff)
        progress("settling end to end, then writing the outputs")
        done = _in_child("settle", _settle, paths, contract, str(work / "out"))
        phases = [
            _phase("read", read["read"], "the four files through the real readers"),
            _phase("match", read["match"], "match() on the frames read (peak: read + match)"),
            _phase("settle", done["settle"], "read + match + re-check + bill"),
            _phase("write", done["write"], ", ".join(done["written"])),
        ]
        counts = {"omnistock": done["counts"], "matching alone": read["counts"]}
        if with_pandas and handoff is not None:
            progress("pandas: loading the same frames, then matching them")
            pandas = _in_child("pandas", _pandas, handoff, contract)
            phases += [
                _phase("pandas load", pandas["load"], "the CSV hand-off (not compared)"),
                _phase("pandas match", pandas["match"], "reference.match (peak: load + match)"),
            ]
            counts["pandas"] = pandas["counts"]
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    result = Result(
        orders=orders,
        seed=seed,
        directory=str(work) if keep else "",
        files=made["files"],
        generate_seconds=made["seconds"],
        phases=phases,
        ratios={},
        targets={},
        counts=counts,
        counts_equal=all(one == counts["omnistock"] for one in counts.values()),
        load_average={"start": load_start, "end": list(os.getloadavg())},
    )
    settled = result.phase("settle")
    result.ratios["settle / read"] = settled.seconds / result.phase("read").seconds
    if "pandas" in counts:
        pandas_match = result.phase("pandas match").seconds
        result.ratios["pandas / omnistock (matching)"] = (
            pandas_match / result.phase("match").seconds
        )
        result.ratios["pandas matching / omnistock settle"] = pandas_match / settled.seconds
    result.targets = {
        f"under {TARGET_SECONDS:.0f} s": settled.seconds < TARGET_SECONDS,
        f"under {TARGET_MIB / 1024:.0f} GiB": settled.peak_mib < TARGET_MIB,
    }
    return result
