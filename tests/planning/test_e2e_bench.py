"""The end-to-end bench runs `omnistock plan` in a new process and reads its plan back."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from engine.bench.e2e import (
    EndToEnd,
    byte_compile,
    median_run,
    run_e2e,
    run_stages,
    warm_planner_seconds,
)
from engine.cli.plan_warm import warm_runs


def test_e2e_times_a_real_plan_run(tmp_path: Path) -> None:
    record = run_e2e(100, tmp_path / "demo")
    assert record.cells > 0 and record.skus == 100
    assert record.process_s >= record.planner_s > 0
    assert (tmp_path / "demo" / "plan.json").stat().st_size > 0
    assert record.peak_mib > 0
    assert record.floor_s > 0
    assert record.process_cpu_s > 0
    assert record.warm_planner_s > 0


def test_warm_runs_leave_the_first_plan_out(tmp_path: Path) -> None:
    warm_planner_seconds(100, tmp_path)  # writes the demo's files
    seconds = warm_runs(tmp_path / "snapshot.json", tmp_path / "rules.yaml", 2)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)


def test_byte_compile_writes_the_projects_bytecode() -> None:
    import engine.cli.plan_warm as module

    assert module.__file__ is not None
    cached = Path(importlib.util.cache_from_source(module.__file__))
    cached.unlink(missing_ok=True)
    byte_compile()
    assert cached.is_file()


def test_ratio_above_floor_takes_the_floor_out_of_the_process() -> None:
    record = EndToEnd(1, 1, ".json", process_s=1.5, planner_s=0.25, peak_mib=1, floor_s=0.5)
    assert record.ratio == 6.0
    assert record.ratio_above_floor == 4.0


def test_stages_time_every_stage_of_a_plan_run(tmp_path: Path) -> None:
    times = run_stages(100, tmp_path / "demo")
    assert list(times) == [
        "imports",
        "read+validate",
        "load solvers",
        "index",
        "compile+solve",
        "input hash",  # the wait left for the forked hash once the plan is solved
        "assemble",
        "write",
        "summary",
    ]  # no "free": the command ends its process without freeing what it built
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in times.values())
    assert times["imports"][1] > 0 and times["compile+solve"][1] > 0
    assert (tmp_path / "demo" / "plan-stages.json").stat().st_size > 0


def test_median_run_is_the_middle_ratio() -> None:
    def run(process_s: float) -> EndToEnd:
        return EndToEnd(1, 1, ".json", process_s=process_s, planner_s=1.0, peak_mib=1)

    assert median_run([run(3.0), run(1.0), run(2.0)]).process_s == 2.0
    assert median_run([run(4.0), run(1.0), run(2.0), run(3.0)]).process_s == 2.0
    assert median_run([run(5.0)]).process_s == 5.0
    with pytest.raises(ValueError):
        median_run([])
