"""A snapshot with sales history plans end to end: the estimate fills the cells without
a velocity row, velocity rows win for theirs; `omnistock forecast` prints and writes
the estimates."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.plan import Plan
from engine.demand import velocity_for, with_history
from engine.planning.explain import explain_demand
from engine.planning.planner import input_hash, plan_document
from rules.load import parse_ruleset
from tests.helpers import snapshot_data
from tests.invariants import assert_plan_invariants

# S: a velocity row on A (1 a day); history on A (10 a day: the row wins) and on B
# (3 a day, but sold out every other day); C has no history of its own. T: no velocity.
DATA = snapshot_data(pools={"S": 60, "T": 30}, velocity={("S", "A"): 1.0})
DATA["history"] = [
    {"sku": "S", "shop": "A", "start": "2026-10-12", "units": [10] * 30},
    {
        "sku": "S",
        "shop": "B",
        "start": "2026-10-12",
        "units": [3, 1] * 15,
        "listed": [9, 1] * 15,
    },
    {"sku": "T", "shop": "C", "start": "2026-10-12", "units": [2] * 30},
]


def _cell(index: SnapshotIndex, sku: str, shop: str) -> int:
    cells = index.cells_of(np.array([index.sku_pos[sku]]), np.array([index.shop_pos[shop]]))
    return int(cells[0])


def test_velocity_rows_win_and_history_fills_the_rest() -> None:
    index = SnapshotIndex.build(parse_snapshot(DATA))
    velocity, dispersion = velocity_for(index)
    assert velocity[_cell(index, "S", "A")] == 1.0
    # B's uncensored days all sold 3; its sold-out days (1 of 1) only say "at least 1".
    assert velocity[_cell(index, "S", "B")] == pytest.approx(3.0, rel=0.05)
    assert velocity[_cell(index, "T", "C")] == pytest.approx(2.0, rel=0.05)
    assert (velocity > 0).all() and (dispersion > 0).all()
    assert with_history(index).velocity.tolist() == velocity.tolist()


def test_a_snapshot_with_history_plans() -> None:
    snap = parse_snapshot(DATA)
    ruleset = parse_ruleset({"rules": []})
    index = with_history(SnapshotIndex.build(snap))
    document = plan_document(index, ruleset, "normal", input_hash(snap, ruleset, "normal"))
    plan = Plan.model_validate(document)
    assert_plan_invariants(snap, [], plan)
    got = {(a.sku, a.shop): a.quantity for a in plan.allocations}
    # The default split follows velocity: B (3 a day) gets more of S than A (1 a day).
    assert got["S", "B"] > got["S", "A"] > 0
    assert got["T", "C"] > 0


def test_explain_shows_history_and_estimate() -> None:
    index = SnapshotIndex.build(parse_snapshot(DATA))
    story = {c.shop: c for c in explain_demand(index, "S")}
    assert story["A"].source == "velocity" and story["A"].rate == 1.0
    assert story["A"].units_sold == 300 and story["A"].history_days == 30
    assert story["B"].source == "history" and story["B"].censored_days == 15
    assert story["B"].naive_rate == pytest.approx(2.0)  # 14 days of 3, 1, 3, 1 ...
    assert story["C"].source == "category" and story["C"].history_days == 0


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["forecast", *args])


def test_forecast_command_writes_json_and_csv(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    snapshot.write_text(json.dumps(DATA))
    result = _run(str(snapshot), "-o", str(tmp_path / "out.json"), "--sku", "S")
    assert result.exit_code == 0, result.output
    assert "top" in result.output and "velocity" in result.output
    rows = json.loads((tmp_path / "out.json").read_text())["cells"]
    assert len(rows) == 6
    by_cell = {(r["sku"], r["shop"]): r for r in rows}
    assert by_cell["S", "A"]["source"] == "velocity" and by_cell["S", "A"]["rate"] == 1.0
    assert by_cell["S", "B"]["censored_days"] == 15
    assert _run(str(snapshot), "-o", str(tmp_path / "out.csv")).exit_code == 0
    with (tmp_path / "out.csv").open() as file:
        table = list(csv.DictReader(file))
    assert [(r["sku"], r["shop"], r["source"]) for r in table] == [
        (r["sku"], r["shop"], r["source"]) for r in rows
    ]


def test_forecast_command_names_bad_input(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(DATA))
    bad["history"][1]["units"][4] = -1
    snapshot = tmp_path / "bad.json"
    snapshot.write_text(json.dumps(bad))
    result = _run(str(snapshot), "-o", str(tmp_path / "out.json"))
    assert result.exit_code == 2
    assert "history[1].units[4]" in result.output
    assert not (tmp_path / "out.json").exists()
    assert _run(str(snapshot), "-o", str(tmp_path / "out.txt")).exit_code == 2


def test_the_demo_with_history_plans() -> None:
    from engine.demo import build_demo

    data, rules = build_demo(skus=300, history_days=30)
    assert data["velocity"] == [] and len(data["history"]) > 300
    snap = parse_snapshot(data)
    ruleset = parse_ruleset(rules)
    index = with_history(SnapshotIndex.build(snap))
    assert index.velocity.sum() > 0
    document = plan_document(index, ruleset, snap.mode, input_hash(snap, ruleset, snap.mode))
    plan = Plan.model_validate(document)
    assert plan.kpis.units_allocated > 0
    # The demo's rules go beyond tests/invariants.py (bundles made by rules, presale):
    # the pool bound is checked for the plain SKUs (tests/engine/test_demo.py: all).
    kits = {s.id for s in snap.skus if s.is_bundle} | {
        r["sku"] for r in rules["rules"] if r["type"] == "bundle"
    }
    pool = {p.sku: p.pool for p in plan.skus}
    used: dict[str, int] = {}
    for a in plan.allocations:
        used[a.sku] = used.get(a.sku, 0) + a.quantity
        assert a.quantity >= 0 and a.shared >= 0
    shared = {a.sku: a.shared for a in plan.allocations}
    for sku, units in used.items():
        if sku not in kits:
            assert units + shared[sku] <= pool[sku], sku
