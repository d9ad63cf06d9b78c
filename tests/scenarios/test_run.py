"""Running whole scenarios: the shipped files on the demo data, the runner's processes,
and `omnistock scenario run|check` as a user types it."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.app import app
from engine.core.errors import ConflictError
from engine.core.index import SnapshotIndex
from engine.core.io import dump_json
from engine.demo import build_demo
from engine.scenarios.bench import time_run
from engine.scenarios.format import load_base, load_scenario, parse_scenario, scenario_document
from engine.scenarios.run import ScenarioRun, _shipped, play, run_scenario, settings_for
from engine.scenarios.simulate import simulate
from engine.scenarios.spec import SimulationSettings, Uplift, VariantInputs
from rules.load import parse_ruleset
from tests.helpers import snapshot

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = ("baseline", "double11", "conservative", "shares-over-100", "versus-incumbent")


def _run_shipped(name: str) -> ScenarioRun:
    """A shipped file on the full demo, re-planning switched off to keep the test short
    (the day-0 plan then stands for 30 days: the harder case for oversell)."""
    path = SCENARIOS / f"{name}.yaml"
    document = scenario_document(load_scenario(path))
    document["simulation"] = {**document.get("simulation", {}), "replan_every_days": None}
    scenario = parse_scenario(document, path)
    snapshot, ruleset = load_base(scenario)
    return run_scenario(scenario, snapshot, ruleset, scenario.simulation.settings())


def _run_short(name: str, days: int) -> ScenarioRun:
    """A shipped file as shipped, over its first `days` days."""
    path = SCENARIOS / f"{name}.yaml"
    document = scenario_document(load_scenario(path))
    document["simulation"] = {**document["simulation"], "horizon_days": days}
    scenario = parse_scenario(document, path)
    return run_scenario(scenario, *load_base(scenario), scenario.simulation.settings())


@pytest.fixture(scope="module")
def shipped() -> dict[str, ScenarioRun]:
    return {name: _run_shipped(name) for name in SHIPPED}


def test_omnistock_never_oversells_in_any_shipped_variant(shipped: dict[str, ScenarioRun]) -> None:
    omnistock = [
        (n, r) for n, run in shipped.items() for r in run.results if r.planner == "omnistock"
    ]
    assert len(omnistock) >= 15
    for name, result in omnistock:
        assert result.kpis["units_oversold"] == 0, (name, result.name)
        assert result.kpis["units_sold"] > 0, (name, result.name)


def test_on_the_demo_omnistock_loses_fewer_avoidable_sales_than_the_incumbents(
    shipped: dict[str, ScenarioRun],
) -> None:
    by_name = {r.name: r for r in shipped["versus-incumbent"].results}
    omnistock = by_name["base"].kpis
    for incumbent in ("incumbent", "incumbent-no-safety"):
        kpis = by_name[incumbent].kpis
        assert omnistock["avoidable_lost_sales"] < kpis["avoidable_lost_sales"], incumbent
        assert omnistock["units_sold"] > kpis["units_sold"], incumbent
    double11 = by_name["omnistock-double11"].kpis["avoidable_lost_sales"]
    assert double11 < by_name["incumbent-double11"].kpis["avoidable_lost_sales"]


def test_shares_over_100_percent_oversell_only_under_the_incumbents(
    shipped: dict[str, ScenarioRun],
) -> None:
    by_name = {r.name: r.kpis for r in shipped["shares-over-100"].results}
    assert (
        by_name["incumbent-150"]["units_oversold"] > 10 * by_name["incumbent-100"]["units_oversold"]
    )
    assert by_name["omnistock-150"]["units_oversold"] == 0 == by_name["base"]["units_oversold"]


def test_learned_demand_runs_small_and_every_omnistock_arm_beats_equal_shares() -> None:
    """learned-demand.yaml over 5 days: no omnistock arm oversells, and each (whatever
    it knows of demand) leaves fewer units unsold and loses fewer sales avoidably than the
    incumbents' equal shares on the same demand."""
    by_name = {r.name: r for r in _run_short("learned-demand", 5).results}
    equal = by_name.pop("incumbent-equal").kpis
    assert len(by_name) == 9
    for name, result in by_name.items():
        assert result.planner == "omnistock" and result.plans_made == 5
        assert result.kpis["units_oversold"] == 0, name
        assert result.kpis["unsold_units_end"] < equal["unsold_units_end"], name
        assert result.kpis["avoidable_lost_sales"] < equal["avoidable_lost_sales"], name


def test_versus_incumbent_replans_daily_and_arms_without_safety_beat_equal_shares() -> None:
    """versus-incumbent.yaml over 4 days as shipped (daily re-plans on the restocked demo):
    every omnistock arm plans each day and oversells nothing; the arms without safety
    stock, whatever they know of demand, sell more than the incumbents' equal shares and
    lose fewer avoidable sales (the everyday ruleset without safety stock under half,
    the tuned ruleset under a fifth, and it loses fewer sales than they do on the shop
    served by one warehouse: the 30-day figures are the README's); omnistock loses
    fewer under the Double-11."""
    by_name = {r.name: r for r in _run_short("versus-incumbent", 4).results}
    for result in by_name.values():
        assert result.kpis["units_oversold"] == 0 or result.planner == "incumbent"
        assert result.plans_made == 4, result.name
    equal = by_name["incumbent-equal"].kpis
    no_safety = ("omnistock-no-safety", "tuned", "tuned-true-means", "tuned-naive")
    for name in no_safety:
        kpis = by_name[name].kpis
        assert kpis["units_sold"] > equal["units_sold"], name
        assert kpis["avoidable_lost_sales"] < equal["avoidable_lost_sales"], name
    assert by_name["omnistock-no-safety"].kpis["avoidable_lost_sales"] < (
        equal["avoidable_lost_sales"] / 2
    )
    # The tuned ruleset shares its slow tail. Douyin b2 ships from Guangzhou only, so it
    # leaves the shared set of a SKU with units in Shanghai too: it keeps its velocity
    # share of the SKU instead of nothing (rules/groups.py). Before, the tuned arms (true
    # means, estimator) lost 573-622 sales there in these 4 days against the equal
    # shares' 188, and 584-637 avoidably in all against their 1,015; now 28-87 there and
    # 36-141 avoidably (the naive average the most).
    equal_dy = sum(by_name["incumbent-equal"].lost_by_shop_day["dy-b2"])
    for name in ("tuned", "tuned-true-means", "tuned-naive"):
        assert sum(by_name[name].lost_by_shop_day["dy-b2"]) < equal_dy, name
        assert by_name[name].kpis["avoidable_lost_sales"] < equal["avoidable_lost_sales"] / 5
    double11 = by_name["omnistock-double11"].kpis["avoidable_lost_sales"]
    assert double11 < by_name["incumbent-double11"].kpis["avoidable_lost_sales"]


def test_peak_mode_lists_more_units(shipped: dict[str, ScenarioRun]) -> None:
    by_name = {r.name: r.kpis for r in shipped["double11"].results}
    assert by_name["peak-mode"]["units_listed_day0"] > by_name["base"]["units_listed_day0"]


# --- small scenarios on a small demo, written as files ----------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scenario folder: a 200-SKU demo and a scenario file next to it."""
    folder = tmp_path_factory.mktemp("small")
    snapshot, rules = build_demo(skus=200)
    dump_json(snapshot, folder / "snapshot.json")
    (folder / "rules.yaml").write_text(yaml.safe_dump(rules))
    scenario: dict[str, Any] = {
        "description": "small what-ifs",
        "base": {"snapshot": "snapshot.json", "ruleset": "rules.yaml"},
        "simulation": {"horizon_days": 10, "replan_every_days": 4, "seed": 3},
        "variants": [
            {"name": "same"},
            {"name": "peak", "mode": "peak"},
            {"name": "incumbent", "planner": "incumbent", "incumbent": {"safety_stock": 1}},
        ],
    }
    (folder / "small.yaml").write_text(yaml.safe_dump(scenario))
    return folder


def test_a_variant_that_changes_nothing_gives_the_base_kpis_exactly(small: Path) -> None:
    scenario = load_scenario(small / "small.yaml")
    run = run_scenario(scenario, *load_base(scenario), settings_for(scenario))
    base, same = run.results[0], run.results[1]
    assert (base.name, same.name) == ("base", "same")
    assert base.kpis == same.kpis
    assert base.lost_by_shop_day == same.lost_by_shop_day


def test_variants_in_processes_give_the_same_numbers_and_report_progress(small: Path) -> None:
    scenario = load_scenario(small / "small.yaml")
    seen: dict[str, int] = {}

    def progress(variant: str, done: int, total: int) -> None:
        assert total == 10
        seen[variant] = max(seen.get(variant, 0), done)

    settings = settings_for(scenario)
    alone = run_scenario(scenario, *load_base(scenario), settings)
    together = run_scenario(scenario, *load_base(scenario), settings, jobs=2, progress=progress)
    assert [r.kpis for r in alone.results] == [r.kpis for r in together.results]
    assert seen == {"base": 10, "same": 10, "peak": 10, "incumbent": 10}


def test_any_number_of_players_gives_the_numbers_of_one_in_the_order_given() -> None:
    snap = snapshot(pools={"S": 30, "T": 12}, velocity={("S", "A"): 2.0, ("T", "B"): 3.0})
    split = parse_ruleset({"rules": [{"id": "vp", "type": "velocity_proportional"}]})
    inputs = [
        VariantInputs(f"v{k}", snap, split, "normal", uplifts=(Uplift(1.0 + k, 0, 2),))
        for k in range(5)
    ]
    settings = SimulationSettings(horizon_days=6, replan_every_days=2, seed=5)
    alone = play(inputs, settings)
    assert len({r.kpis["units_sold"] for r in alone}) > 1  # the variants differ
    for jobs in (2, 3):
        together = play(inputs, settings, jobs=jobs)
        assert [r.name for r in together] == [f"v{k}" for k in range(5)]
        assert [replace(r, seconds=0.0) for r in together] == [
            replace(r, seconds=0.0) for r in alone
        ]


def test_a_variant_sent_to_a_helper_plays_as_it_plays_here() -> None:
    """A helper gets the variant without the snapshot's rows, with the index instead."""
    snap = snapshot(pools={"S": 30, "T": 12}, velocity={("S", "A"): 2.0, ("T", "B"): 3.0})
    split = parse_ruleset({"rules": [{"id": "vp", "type": "velocity_proportional"}]})
    inputs = VariantInputs("v", snap, split, "peak", uplifts=(Uplift(2.0, 1, 2),))
    sent, index = pickle.loads(_shipped(inputs, SnapshotIndex.build(snap)))
    assert sent.snapshot.skus == [] and sent.snapshot.stock == []
    settings = SimulationSettings(horizon_days=5, replan_every_days=2, seed=3)
    here = simulate(inputs, settings)
    there = simulate(sent, settings, index=index)
    assert replace(here, seconds=0.0) == replace(there, seconds=0.0)


@pytest.mark.parametrize("failing", [0, 2])
def test_a_variant_that_fails_in_any_player_fails_the_run(failing: int) -> None:
    snap = snapshot(pools={"S": 20}, shops=(("A", 1), ("B", 2)), velocity={("S", "A"): 1.0})
    fine = parse_ruleset({"rules": []})
    pinned = parse_ruleset({"rules": [{"id": "pin", "type": "fixed", "quantities": {"A": 30}}]})
    inputs = [
        VariantInputs(f"v{k}", snap, pinned if k == failing else fine, "normal") for k in range(3)
    ]
    # The type only: an error from a helper process keeps just its message when pickled.
    with pytest.raises(ConflictError):
        play(inputs, SimulationSettings(horizon_days=2), jobs=2)


def test_replications_and_seed_from_the_command_line(small: Path) -> None:
    scenario = load_scenario(small / "small.yaml")
    settings = settings_for(scenario, replications=3, seed=9)
    assert (settings.replications, settings.seed, settings.horizon_days) == (3, 9, 10)


def test_cli_run_prints_the_comparison_and_writes_json_csv_and_charts(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["scenario", "run", str(small / "small.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("base", "same", "peak", "incumbent", "avoidable_lost_sales", "units_oversold"):
        assert name in result.stdout
    document = json.loads((out / "comparison.json").read_text())
    assert [v["name"] for v in document["variants"]] == ["base", "same", "peak", "incumbent"]
    rows = (out / "comparison.csv").read_text().splitlines()
    assert rows[0].startswith("variant,") and len(rows) == 1 + 4 * len(document["kpis"])
    for chart in ("kpis.png", "lost_sales_by_shop.png"):
        assert (out / chart).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_cli_refuses_a_bad_file_naming_the_variant_and_override(small: Path) -> None:
    bad = small / "bad.yaml"
    document = yaml.safe_load((small / "small.yaml").read_text())
    document["variants"].append(
        {"name": "typo", "overrides": [{"op": "remove_rule", "id": "r-no-such-rule"}]}
    )
    bad.write_text(yaml.safe_dump(document))
    for command in ("run", "check"):
        result = CliRunner().invoke(app, ["scenario", command, str(bad)])
        assert result.exit_code == 2, result.output
        assert "variants[3] (typo).overrides[0] (remove_rule).id" in result.output
        assert "Traceback" not in result.output


def test_cli_errors_keep_their_brackets(small: Path) -> None:
    """Messages quote the expected shape ("days is [first, last]"); the terminal's
    markup must not eat it."""
    bad = small / "bad-days.yaml"
    document = yaml.safe_load((small / "small.yaml").read_text())
    document["variants"].append(
        {"name": "late", "overrides": [{"op": "uplift", "factor": 2, "days": [3, 1]}]}
    )
    bad.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(app, ["scenario", "check", str(bad)])
    assert result.exit_code == 2, result.output
    assert "days is [first, last]: last must not be before first" in result.output


def test_bench_times_each_file_and_jobs_in_a_new_process(small: Path) -> None:
    result = CliRunner().invoke(
        app, ["scenario", "bench", str(small / "small.yaml"), "--jobs", "1", "--jobs", "2"]
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "│ small" in line]
    assert len(rows) == 2
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    assert [c[:4] for c in cells] == [["small", "4", "200 x 10 x 10", str(j)] for j in (1, 2)]
    for c in cells:
        assert float(c[4]) > 0 and float(c[5]) > 0 and float(c[6].replace(",", "")) > 0


def test_bench_names_a_run_that_fails(small: Path) -> None:
    document = yaml.safe_load((small / "small.yaml").read_text())
    pin = {"id": "r-pin-all", "type": "fixed", "quantities": {"tm-b1": 1_000_000}}
    document["variants"] = [{"name": "pinned", "overrides": [{"op": "add_rule", "rule": pin}]}]
    bad = small / "conflict.yaml"
    bad.write_text(yaml.safe_dump(document))
    with pytest.raises(RuntimeError, match=r"(?s)conflict.yaml failed \(3\).*r-pin-all"):
        time_run(bad, 1)


def test_cli_check_lists_the_variants(small: Path) -> None:
    result = CliRunner().invoke(app, ["scenario", "check", str(small / "small.yaml")])
    assert result.exit_code == 0, result.output
    assert "incumbent: incumbent, normal mode" in result.stdout
