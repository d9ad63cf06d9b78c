"""The end-to-end bench runs `omnistock plan` in a new process and reads its plan back."""

from __future__ import annotations

from pathlib import Path

from engine.bench.e2e import run_e2e


def test_e2e_times_a_real_plan_run(tmp_path: Path) -> None:
    record = run_e2e(100, tmp_path / "demo")
    assert record.cells > 0 and record.skus == 100
    assert record.process_s >= record.planner_s > 0
    assert (tmp_path / "demo" / "plan.json").stat().st_size > 0
    assert record.peak_mib > 0
