"""`omnistock plan`'s stages timed one by one in a new process, as the command runs them:
imports, read + validate, loading the solver libraries, index, compile + solve, input
hash (the wait left), assembly, writing the plan JSON and printing its summary (then the
process ends without freeing them, as the command does: `end_process`). Run as
`python -m engine.cli.plan_stages SNAPSHOT RULES PLAN`; prints each stage's wall and CPU
seconds as JSON (`omnistock bench-e2e --stages` shows them)."""

from __future__ import annotations

import sys
import time

started, cpu_started = time.perf_counter(), time.process_time()

import gc  # noqa: E402 - the imports are the first stage timed
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from rich.console import Console  # noqa: E402

import engine.cli.plan  # noqa: E402 - what the command imports
from engine.cli.common import read_settings  # noqa: E402
from engine.cli.digest_aside import digest_aside  # noqa: E402
from engine.cli.plan import _print_plan, end_process  # noqa: E402
from engine.core.index import SnapshotIndex  # noqa: E402
from engine.core.io import load_snapshot_columns  # noqa: E402
from engine.core.plan_files import write_plan_json  # noqa: E402
from engine.planning.planner import _assemble, columns_hash, run_planner  # noqa: E402
from engine.runtime.process import prepare_process  # noqa: E402
from rules.load import load_ruleset  # noqa: E402
from solvers.registry import available_backends  # noqa: E402


def main(snapshot: Path, rules: Path, plan: Path) -> dict[str, list[float]]:
    imports = [time.perf_counter() - started, time.process_time() - cpu_started]
    times = {"imports": [round(seconds, 3) for seconds in imports]}
    mark = [time.perf_counter(), time.process_time()]

    def lap(stage: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        times[stage] = [round(now[0] - mark[0], 3), round(now[1] - mark[1], 3)]
        mark[:] = now

    # The summary the command prints, printed where it costs what a terminal would
    # not: stdout carries this module's JSON.
    engine.cli.plan.out = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    settings = read_settings()
    gc.disable()  # as `omnistock plan` runs (engine/cli/plan.py)
    columns = load_snapshot_columns(snapshot, fork=settings.fork_aside)
    ruleset = load_ruleset(rules)
    lap("read+validate")
    # As the command does: the hash on the other core while the index is built and the
    # plan solved; the "input hash" stage is what is left to wait for once solved.
    aside = digest_aside(
        lambda: columns_hash(columns, ruleset, columns.mode), forked=settings.fork_aside
    )
    prepare_process(settings)
    available_backends()  # as the command does, before the planner's clock
    lap("load solvers")
    index = SnapshotIndex.of_columns(columns)
    lap("index")
    outcome = run_planner(index, ruleset, columns.mode)
    lap("compile+solve")
    digest = aside.result()
    lap("input hash")
    document = _assemble(outcome.compiled, outcome.solved, outcome.second, ruleset, digest, True)
    document["timing"] = {**outcome.timing, "total_s": 0.0}
    lap("assemble")
    write_plan_json(document, plan)
    lap("write")
    _print_plan(document, plan)
    lap("summary")
    return times


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:4]]
    sys.stdout.write(json.dumps(main(*paths)) + "\n")
    end_process()
