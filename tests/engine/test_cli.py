"""The command line end to end on real files: exit codes, messages, JSON, explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from tests.helpers import snapshot_data

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(snapshot_data(pools={"S": 100})), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: r1\n    type: percentage\n    shares: {A: 0.7, B: 0.7}\n"
        "  - id: r2\n    type: max_cap\n    quantities: {A: 20}\n",
        encoding="utf-8",
    )
    return snap, rules


def test_plan_table_and_json(files: tuple[Path, Path], tmp_path: Path) -> None:
    snap, rules = files
    out = tmp_path / "plan.json"
    shown = runner.invoke(app, ["plan", str(snap), str(rules), "-o", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "shares_exceed_100" in shown.output and "closed" in shown.output
    as_json = runner.invoke(app, ["plan", str(snap), str(rules), "--json"])
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert {a["shop"]: a["quantity"] for a in data["allocations"]} == {"A": 20, "B": 80, "C": 0}
    written = json.loads(out.read_text(encoding="utf-8"))
    data.pop("timing"), written.pop("timing")
    assert written == data


def test_explain_reads_the_plan_alone(files: tuple[Path, Path], tmp_path: Path) -> None:
    snap, rules = files
    out = tmp_path / "plan.json"
    assert runner.invoke(app, ["plan", str(snap), str(rules), "-o", str(out)]).exit_code == 0
    told = runner.invoke(app, ["explain", str(out), "--sku", "S"])
    assert told.exit_code == 0, told.output
    assert "capped at 20" in told.output and "r2" in told.output
    missing = runner.invoke(app, ["explain", str(out), "--sku", "NOPE"])
    assert missing.exit_code == 2 and "NOPE" in missing.output


def test_invalid_input_exits_2_naming_every_culprit(tmp_path: Path) -> None:
    data = snapshot_data(pools={"S": 5})
    data["stock"][0]["on_hand"] = -3
    data["stock"].append({"sku": "GHOST", "warehouse": "W1", "on_hand": 1})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text('{"rules": [{"type": "equal_split"}]}', encoding="utf-8")
    result = runner.invoke(app, ["plan", str(bad), str(rules)])
    assert result.exit_code == 2
    assert "stock[0].on_hand" in result.output
    validated = runner.invoke(app, ["validate", str(bad), str(rules)])
    assert validated.exit_code == 2 and "stock[0].on_hand" in validated.output


def test_validate_checks_rules_against_the_snapshot(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    snap, _ = files
    rules = tmp_path / "r.json"
    rules.write_text(
        '{"rules": [{"id": "x", "type": "fixed", "quantities": {"Q": 1}}]}', encoding="utf-8"
    )
    result = runner.invoke(app, ["validate", str(snap), str(rules)])
    assert result.exit_code == 2 and "unknown shop 'Q'" in result.output


def test_conflict_exits_3(files: tuple[Path, Path], tmp_path: Path) -> None:
    snap, _ = files
    rules = tmp_path / "fixed.yaml"
    rules.write_text(
        "rules:\n  - {id: f1, type: fixed, quantities: {A: 80, B: 40}}\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["plan", str(snap), str(rules)])
    assert result.exit_code == 3
    assert "f1" in result.output and "SKU S" in result.output


def test_unknown_solver_and_mode(files: tuple[Path, Path]) -> None:
    snap, rules = files
    assert runner.invoke(app, ["plan", str(snap), str(rules), "--solver", "gurobi"]).exit_code == 4
    assert runner.invoke(app, ["plan", str(snap), str(rules), "--mode", "busy"]).exit_code == 2


def test_missing_file(files: tuple[Path, Path]) -> None:
    _, rules = files
    result = runner.invoke(app, ["plan", "no-such.json", str(rules)])
    assert result.exit_code == 2 and "no-such.json" in result.output


def test_demo_writes_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0
    assert (tmp_path / "d" / "snapshot.json").exists() and (tmp_path / "d" / "rules.yaml").exists()


def test_demo_with_history_plans_and_explains_the_demand(tmp_path: Path) -> None:
    """`demo --history N` writes sales history instead of velocity rows; the plan takes
    its velocities from it, and `explain --snapshot` shows each cell's history and the
    estimate the plan used."""
    d = tmp_path / "d"
    made = runner.invoke(app, ["demo", str(d), "--skus", "200", "--history", "30"])
    assert made.exit_code == 0, made.output
    data = json.loads((d / "snapshot.json").read_text(encoding="utf-8"))
    assert data["velocity"] == [] or "velocity" not in data
    assert {len(row["units"]) for row in data["history"]} == {30}
    plan = tmp_path / "plan.json"
    done = runner.invoke(
        app, ["plan", str(d / "snapshot.json"), str(d / "rules.yaml"), "-o", str(plan)]
    )
    assert done.exit_code == 0, done.output
    sku = data["history"][0]["sku"]
    told = runner.invoke(
        app, ["explain", str(plan), "--sku", sku, "--snapshot", str(d / "snapshot.json"), "--json"]
    )
    assert told.exit_code == 0, told.output
    demand = json.loads(told.stdout)["demand"]
    assert {cell["history_days"] for cell in demand} == {30}
    assert all(cell["source"] == "history" and cell["rate"] >= 0 for cell in demand)
    shown = runner.invoke(
        app, ["explain", str(plan), "--sku", sku, "--snapshot", str(d / "snapshot.json")]
    )
    assert shown.exit_code == 0 and "demand in units a day" in shown.output
    refused = runner.invoke(app, ["demo", str(tmp_path / "e"), "--history", "400"])
    assert refused.exit_code == 2 and not (tmp_path / "e").exists()


def test_console_script_runs(files: tuple[Path, Path]) -> None:
    snap, rules = files
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "plan", str(snap), str(rules), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kpis"]["units_allocated"] == 100


def test_ids_with_brackets_print_as_they_are(tmp_path: Path) -> None:
    """Shop ids and messages are data, not terminal markup."""
    shops = (("[b]tm", 1), ("[red]jd", 2))
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(snapshot_data(pools={"S": 10}, shops=shops)), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: '[r1]'\n    type: max_cap\n    quantity: 3\n")
    shown = runner.invoke(app, ["plan", str(snap), str(rules)])
    assert shown.exit_code == 0, shown.output
    assert "[b]tm" in shown.output and "[red]jd" in shown.output
    assert "capped by [r1]" in shown.output
