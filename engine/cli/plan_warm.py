"""The planner's own time on a snapshot and ruleset file: compile + solve, warm.

A plan's `timing` in `omnistock plan` is that of the process's first plan, which also
loads the solver libraries it needs on first use (OR-Tools' model builder, scipy.sparse:
about a quarter of a second) - start-up, not planning. This entry point plans the same
inputs once to load them, then `runs` more times, as the service does for every plan
after its first, and prints those runs' compile + solve seconds as JSON:
`python -m engine.cli.plan_warm SNAPSHOT RULES RUNS`. `omnistock bench-e2e` divides the
command's time by their median.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from engine.core.index import SnapshotIndex
from engine.core.io import load_snapshot_columns
from engine.core.settings import Settings
from engine.planning.planner import run_planner
from engine.runtime.process import prepare_process
from rules.load import load_ruleset


def warm_runs(snapshot: Path, rules: Path, runs: int) -> list[float]:
    """Compile + solve seconds of `runs` plans after a first one that is not counted."""
    columns = load_snapshot_columns(snapshot, fork=False)
    ruleset = load_ruleset(rules)
    prepare_process(Settings())  # the allocator as `omnistock plan` sets it
    index = SnapshotIndex.of_columns(columns)
    seconds: list[float] = []
    gc.disable()  # as `omnistock plan` runs
    for _ in range(runs + 1):
        timing = run_planner(index, ruleset, columns.mode).timing
        seconds.append(round(timing["compile_s"] + timing["solve_s"], 4))
        gc.collect()  # the last plan's arrays freed before the next is timed
    return seconds[1:]


if __name__ == "__main__":
    snapshot_path, rules_path, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    sys.stdout.write(json.dumps(warm_runs(snapshot_path, rules_path, count)) + "\n")
