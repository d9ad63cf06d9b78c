"""The benchmark command on small instances: baselines agree, records are complete,
a disagreement fails the command. (Timings are printed by `omnistock bench`, never
asserted: this machine is shared and noisy.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.bench import run as bench_run
from engine.bench.instances import FAMILIES, make_instance
from engine.bench.run import bench_instance, measure, parse_size
from engine.cli.app import app
from engine.planning.planner import run_planner
from solvers.problem import violations
from tests.invariants import DEFAULT_MINUS

FIELDS = {"family", "skus", "shops", "cells", "solver", "seconds", "peak_mib", "objective", "ratio"}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_baseline_agrees_with_omnistock(family: str) -> None:
    inst = make_instance(family, 600, 10, seed=3)
    records = list(bench_instance(inst, ["pulp", "glop", "highs"], repeat=1, timeout_s=120))
    by_solver = {r.solver: r for r in records}
    omni = by_solver["omnistock"]
    assert omni.status == "ok" and omni.objective is not None
    for name in ("pulp", "highs"):
        assert by_solver[name].status == "ok", by_solver[name].note
        if family == "demo":  # relax and repair: the exact optimum within its proven gap
            assert by_solver[name].objective <= omni.objective
        else:
            assert by_solver[name].objective == omni.objective
    glop = by_solver["glop"]
    assert glop.status == ("n/a" if family in ("side", "demo") else "ok")
    assert set(vars(omni)) >= FIELDS


def test_a_baseline_may_lie_between_a_relaxed_plan_and_its_bound() -> None:
    assert not bench_run._disagree(-1000, -1000)
    assert bench_run._disagree(-1000, -1010)  # exact: a better baseline is a mismatch
    assert not bench_run._disagree(-1000, -1005, bound=-1010)
    assert bench_run._disagree(-1000, -1011, bound=-1010)  # below the proven bound
    assert bench_run._disagree(-1000, -990, bound=-1010)  # worse than omnistock's plan


def test_demo_family_is_the_demo_generators_stack() -> None:
    inst = make_instance("demo", 400, 10, seed=2)
    assert inst.skus == 400 and inst.index.n_skus == 400 and inst.shops == 10
    out = run_planner(inst.index, inst.ruleset, "normal")
    assert violations(out.compiled.problem, out.solved.x, out.solved.shared) == []
    assert out.compiled.problem.bundles is not None


def test_instances_are_seeded_and_plannable() -> None:
    a = make_instance("capacity", 2_000, 10, seed=5)
    b = make_instance("capacity", 2_000, 10, seed=5)
    assert (a.index.velocity == b.index.velocity).all()
    assert a.cells == 2_000 and a.index.stock[DEFAULT_MINUS[1]].shape == (200, 3)
    out = run_planner(a.index, a.ruleset, "normal")
    assert {p.backend for p in out.solved.parts} >= {"flow"}


def test_a_disagreement_fails_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench_run, "plan_objective", lambda name, problem, plan: 12345)
    out = tmp_path / "records.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--sizes",
            "300",
            "--families",
            "separable",
            "--baselines",
            "glop",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 1
    records = json.loads(out.read_text(encoding="utf-8"))
    assert [r["status"] for r in records if r["solver"] == "glop"] == ["MISMATCH"]
    assert all(set(r) >= FIELDS for r in records)
    assert "NaN" not in out.read_text(encoding="utf-8")  # strict JSON: unknowns are null


def test_bad_options_exit_2() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["bench", "--sizes", "ten"]).exit_code == 2
    assert runner.invoke(app, ["bench", "--families", "nope"]).exit_code == 2
    assert runner.invoke(app, ["bench", "--baselines", "gurobi"]).exit_code == 2


def test_parse_size() -> None:
    assert [parse_size(s) for s in ("10k", "1M", "2500", "0.5k")] == [10_000, 1_000_000, 2_500, 500]
    with pytest.raises(ValueError):
        parse_size("0")


def test_a_time_limited_mip_still_gives_a_flagged_feasible_plan() -> None:
    # Capacity + budgets + bundles on 6 shops: SCIP needs about 1 s of CPU to close the
    # last gap (0.6 s on a quiet machine), so a 0.3 s limit stops it with a plan found.
    inst = make_instance("side", 600, 6, seed=3)
    out = run_planner(inst.index, inst.ruleset, "normal", time_limit_s=0.3)
    mip = [p for p in out.solved.parts if p.backend == "mip"]
    assert mip and not mip[0].proven
    assert "time limit: best plan found" in mip[0].notes[-1]
    assert violations(out.compiled.problem, out.solved.x, out.solved.shared) == []


def test_the_best_of_the_runs_in_one_process_counts_and_the_first_is_kept() -> None:
    naps = iter([0.4, 0.05, 0.1])  # consumed in the child, one per run
    m = measure(lambda: time.sleep(next(naps)) or "done", timeout_s=10, runs=3)
    assert (m.status, m.runs, m.result, m.stopped) == ("ok", 3, "done", False)
    assert m.seconds < 0.3 <= m.first_seconds


def test_a_run_past_the_time_limit_keeps_the_runs_before_it() -> None:
    naps = iter([0.01, 30.0])
    m = measure(lambda: time.sleep(next(naps)) or 7, timeout_s=1.0, runs=2)
    assert (m.status, m.runs, m.result, m.stopped) == ("ok", 1, 7, True)


def test_the_check_runs_after_the_clock_stops() -> None:
    m = measure(lambda: 3, timeout_s=10, runs=1, check=lambda v: time.sleep(0.5) or v * 2)
    assert m.result == 6 and m.seconds < 0.25


def test_a_failing_run_is_reported_with_its_error() -> None:
    m = measure(lambda: 1 / 0, timeout_s=10, runs=2)
    assert m.status == "error" and "ZeroDivisionError" in m.result and m.runs == 0
