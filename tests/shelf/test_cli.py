"""`omnistock rank`, `select` and `check` on the demo data and on small files: tables,
JSON, exit codes and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.app import app
from tests.shelf.demo import SNAPSHOT, demo_plan
from tests.shelf.test_ranking import seed_shelf

runner = CliRunner()


def test_rank_on_the_demo_with_rules_and_input_round_trip(tmp_path: Path) -> None:
    written = tmp_path / "shelf.yaml"
    args = [
        "rank",
        "--snapshot",
        str(SNAPSHOT),
        "--plan",
        str(demo_plan()),
        "--shop",
        "tm-b1",
        "--slots",
        "12",
        "--category-limit",
        "3:10",
        "--min-cover",
        "7:5",
    ]
    shown = runner.invoke(app, [*args, "--write-input", str(written), "--json"])
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.stdout)
    assert result["solver"] == "mip" and result["shop"] == "tm-b1"
    placed = [m for m in result["moves"] if m["slot"] is not None]
    assert [m["slot"] for m in placed] == list(range(1, 13))
    assert all(m["reason"] for m in result["moves"])
    again = runner.invoke(app, ["rank", str(written), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["moves"] == result["moves"]
    table = runner.invoke(app, ["rank", str(written)])
    assert table.exit_code == 0 and "tm-b1" in table.output and "reason" in table.output


def test_select_and_check_on_the_demo() -> None:
    common = ["--snapshot", str(SNAPSHOT), "--plan", str(demo_plan()), "--shop", "jd-b1"]
    picked = runner.invoke(app, ["select", *common, "--max-per-category", "2", "--json"])
    assert picked.exit_code == 0, picked.output
    result = json.loads(picked.stdout)
    assert result["room"] == 10 and len(result["picks"]) == 10
    assert all(p["units_per_day"] > 0 and p["reason"] for p in result["picks"])
    checked = runner.invoke(app, ["check", str(SNAPSHOT), "--plan", str(demo_plan()), "--json"])
    assert checked.exit_code == 0, checked.output
    warnings = json.loads(checked.stdout)
    assert {w["code"] for w in warnings} == {
        "oversell_risk",
        "stranded_stock",
        "drift",
        "dead_listing",
    }
    table = runner.invoke(app, ["check", str(SNAPSHOT), "--fail-on", "high"])
    assert table.exit_code == 1 and "dead_listing" in table.output


def test_errors_exit_2_and_3_naming_the_culprit(tmp_path: Path) -> None:
    bad = seed_shelf()
    bad["products"][0]["velocity"] = -1
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(bad), encoding="utf-8")
    shown = runner.invoke(app, ["rank", str(file)])
    assert shown.exit_code == 2 and "bad.json" in shown.output
    assert "products[0].velocity: Input should be greater than or equal to 0" in shown.output
    file.write_text(json.dumps(seed_shelf(pins={"NOPE": 1})), encoding="utf-8")
    shown = runner.invoke(app, ["rank", str(file)])
    assert shown.exit_code == 2 and "rules.pins.NOPE: unknown product 'NOPE'" in shown.output
    good = tmp_path / "shelf.json"
    good.write_text(json.dumps(seed_shelf()), encoding="utf-8")
    conflict = runner.invoke(app, ["rank", str(good), "--min-cover", "500:1"])
    assert conflict.exit_code == 3 and "min_cover" in conflict.output
    flag = runner.invoke(app, ["rank", str(good), "--category-limit", "three"])
    assert flag.exit_code == 2 and "--category-limit" in flag.output
    neither = runner.invoke(app, ["select"])
    assert neither.exit_code == 2 and "--snapshot" in neither.output
    level = runner.invoke(app, ["check", str(SNAPSHOT), "--fail-on", "urgent"])
    assert level.exit_code == 2 and "--fail-on" in level.output
