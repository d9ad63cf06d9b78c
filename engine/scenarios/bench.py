"""`omnistock scenario bench`: scenario files run as a user runs them, timed side by side.

Each (file, --jobs) pair runs `omnistock scenario run FILE --jobs N` as a new process,
so start-up, loading, the helpers' start and the table printed all count. Its peak
memory is the largest resident set of the run and its helper processes (what wait4
reports for a child, as /usr/bin/time does); its CPU time adds up theirs. The machine's
load average as the run started goes beside it: on a shared machine the wall time
depends on it, the CPU time much less.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.scenarios.format import load_base, load_scenario
from engine.scenarios.run import settings_for


@dataclass(frozen=True)
class ScenarioTiming:
    scenario: str  # the file's name without .yaml
    variants: int  # the base included
    skus: int
    shops: int
    days: int
    jobs: int
    seconds: float  # process start to exit
    cpu_s: float  # user + system, the helpers included
    peak_mib: float
    load: float  # the 1-minute load average when the run started


def time_run(path: Path, jobs: int) -> ScenarioTiming:
    """One run of the file with `jobs`, in a new process; RuntimeError if it fails."""
    scenario = load_scenario(path)
    snapshot, _ = load_base(scenario)
    command = [sys.executable, "-m", "engine.cli", "scenario", "run", str(path)]
    load = os.getloadavg()[0]
    # stderr to a file, not a pipe: the progress bars could fill a pipe nobody reads yet
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            [*command, "--jobs", str(jobs)], stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        if code != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")
            raise RuntimeError(f"scenario run {path} failed ({code}): {message}")
    return ScenarioTiming(
        scenario=path.stem,
        variants=len(scenario.variants) + 1,
        skus=len(snapshot.skus),
        shops=len(snapshot.shops),
        days=settings_for(scenario).horizon_days,
        jobs=jobs,
        seconds=round(elapsed, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        peak_mib=round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        load=round(load, 2),
    )
