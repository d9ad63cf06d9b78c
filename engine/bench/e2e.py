"""`omnistock plan` end to end: process start to plan file written, beside the planner's
own time (compile + solve, the plan's `timing`; the command loads the solver libraries
before that clock starts) and, for comparison, a warm planner's (`engine/cli/plan_warm.py`:
the same plan again in a process that has planned it once), on the demo at given sizes.

Each size runs `omnistock plan` as a new process, as a user would, so imports, reading,
loading the solver libraries, assembly and writing all count; its peak memory is the
child's maximum resident set. The project's modules are byte-compiled first, as a pip
install does (a machine that sets PYTHONDONTWRITEBYTECODE would otherwise compile them
from source in every process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.core.plan_files import plan_head
from engine.demo import DEFAULT_SEED

# What `omnistock plan` cannot run without: the interpreter and the libraries of its
# work, reading (orjson, PyYAML, pydantic) and solving (numpy, scipy.sparse, OR-Tools'
# min cost flow and model builder). A process that imports them and exits is the floor
# under any plan's time, however small the plan. Not scipy's csgraph: connected
# components are found in numpy (solvers/linked.py), so no plan imports it.
FLOOR_IMPORTS = (
    "orjson",
    "yaml",
    "pydantic",
    "numpy",
    "scipy.sparse",
    "ortools.graph.python.min_cost_flow",
    "ortools.linear_solver.python.model_builder_helper",
)


@dataclass(frozen=True)
class EndToEnd:
    skus: int
    cells: int
    output: str  # the plan file's suffix
    process_s: float  # process start to plan file written (the process's exit)
    planner_s: float  # compile + solve, from the plan's timing
    peak_mib: float
    floor_s: float = 0.0  # a process importing FLOOR_IMPORTS, start to exit
    process_cpu_s: float = 0.0  # the process's CPU time, user + system, all threads
    # compile + solve of a warm planner (median of its runs): what the service's planner
    # takes once its memory and caches are warm; shown beside, not divided by
    warm_planner_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.process_s / self.planner_s if self.planner_s else float("inf")

    @property
    def ratio_above_floor(self) -> float:
        """The ratio with the floor taken out of the process: what the command adds to
        the planner beyond starting Python with its libraries."""
        above = self.process_s - self.floor_s
        return above / self.planner_s if self.planner_s else float("inf")


def floor_seconds() -> float:
    """Wall seconds of a new process that imports FLOOR_IMPORTS and exits."""
    command = [sys.executable, "-c", "import " + ", ".join(FLOOR_IMPORTS)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return round(time.perf_counter() - started, 3)


def _omnistock() -> list[str]:
    """The installed command beside this interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("omnistock")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def run_stages(skus: int, directory: Path, seed: int = DEFAULT_SEED) -> dict[str, list[float]]:
    """Each stage of `omnistock plan` on the demo at `skus`, in a new process
    (`engine.cli.plan_stages`, an entry point of its own): stage -> [wall s, CPU s]."""
    snapshot, rules = _demo(skus, directory, seed)
    command = [sys.executable, "-m", "engine.cli.plan_stages", str(snapshot), str(rules)]
    done = subprocess.run(
        [*command, str(directory / "plan-stages.json")], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"stages failed ({done.returncode}): {done.stderr.decode()}")
    times: dict[str, list[float]] = json.loads(done.stdout)
    return times


def _demo(skus: int, directory: Path, seed: int) -> tuple[Path, Path]:
    """The demo's files at `skus` in `directory`, written once, by a process of its own:
    a child started later would inherit the peak memory of building it here (Linux keeps
    the largest resident set across exec), and report it as the plan's."""
    snapshot, rules = directory / "snapshot.json", directory / "rules.yaml"
    if not snapshot.exists():
        code = (
            "import sys; from pathlib import Path; from engine.demo import write_demo; "
            "write_demo(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))"
        )
        command = [sys.executable, "-c", code, str(directory), str(seed), str(skus)]
        subprocess.run(command, check=True)
    return snapshot, rules


def warm_planner_seconds(
    skus: int, directory: Path, runs: int = 3, seed: int = DEFAULT_SEED
) -> float:
    """Median compile + solve seconds of `runs` warm plans of the demo at `skus`, in a
    new process (`engine.cli.plan_warm`)."""
    snapshot, rules = _demo(skus, directory, seed)
    command = [sys.executable, "-m", "engine.cli.plan_warm", str(snapshot), str(rules), str(runs)]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"warm planner failed ({done.returncode}): {done.stderr.decode()}")
    seconds = sorted(json.loads(done.stdout))
    return float(seconds[(len(seconds) - 1) // 2])


def byte_compile() -> None:
    """Write the bytecode of the project's packages, as installing them with pip does, so
    no timed process compiles them from source (`compileall` writes it even where
    PYTHONDONTWRITEBYTECODE is set)."""
    import compileall

    import engine
    import rules
    import solvers

    for package in (engine, rules, solvers):
        for folder in package.__path__:
            compileall.compile_dir(folder, quiet=1)


def run_e2e(
    skus: int,
    directory: Path,
    suffix: str = ".json",
    seed: int = DEFAULT_SEED,
    warm_planner_s: float | None = None,
) -> EndToEnd:
    """Write the demo at `skus` into `directory` (once), plan it in a new process;
    `warm_planner_s` is shown beside (by default measured here)."""
    snapshot, rules = _demo(skus, directory, seed)
    if warm_planner_s is None:
        warm_planner_s = warm_planner_seconds(skus, directory, seed=seed)
    plan = directory / f"plan{suffix}"
    command = [*_omnistock(), "plan", str(snapshot), str(rules), "-o", str(plan)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        message = child.stderr.read().decode() if child.stderr else ""
        raise RuntimeError(f"omnistock plan failed ({child.returncode}): {message}")
    head = plan_head(plan)
    timing, kpis = head["timing"], head["kpis"]
    # ru_maxrss is in KiB on Linux.
    return EndToEnd(
        skus=skus,
        cells=int(kpis["cells"]),
        output=suffix,
        process_s=round(elapsed, 3),
        planner_s=round(timing["compile_s"] + timing["solve_s"], 3),
        peak_mib=round(usage.ru_maxrss / 1024, 1),
        floor_s=floor_seconds(),
        process_cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        warm_planner_s=round(warm_planner_s, 3),
    )


def median_run(runs: list[EndToEnd]) -> EndToEnd:
    """The run of median ratio (the lower middle one of an even count): on a shared
    machine one run's wall time may be doubled by others; the median of a few is the
    figure to compare."""
    if not runs:
        raise ValueError("no runs")
    return sorted(runs, key=lambda run: run.ratio)[(len(runs) - 1) // 2]
