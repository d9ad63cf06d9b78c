"""Scenario files: the shipped ones load and build, each override does what it says, bad
files are refused with the variant and override named, and a document round-trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.demo import build_demo
from engine.planning.planner import make_plan
from engine.scenarios.format import (
    Scenario,
    load_base,
    load_scenario,
    parse_scenario,
    scenario_document,
)
from engine.scenarios.overrides import BuiltVariant, build_variants, variant_inputs
from engine.scenarios.spec import Arrival, Uplift
from rules.catalog import MaxCap, Percentage, Ruleset
from rules.load import load_ruleset, parse_ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED_FILES = ("baseline", "double11", "conservative", "shares-over-100", "versus-incumbent")

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def small() -> tuple[Snapshot, Ruleset]:
    """The demo's shops, brands and rules over 200 SKUs (a plan takes a tenth of a second)."""
    snapshot, ruleset = build_demo(5, skus=200)
    return parse_snapshot(snapshot), parse_ruleset(ruleset)


def scenario(*variants: Doc, **top: Any) -> Doc:
    base = {"snapshot": "snapshot.json", "ruleset": "rules.yaml"}
    return {"base": base, **top, "variants": list(variants)}


def variant(name: str, *overrides: Doc, **fields: Any) -> Doc:
    return {"name": name, **fields, "overrides": list(overrides)}


def build(small: tuple[Snapshot, Ruleset], doc: Doc) -> list[BuiltVariant]:
    return build_variants(parse_scenario(doc), *small)


def refused(small: tuple[Snapshot, Ruleset], doc: Doc) -> list[str]:
    """Every issue, from the file's structure or from its ids against the small demo."""
    with pytest.raises(InputError) as caught:
        build(small, doc)
    return [str(issue) for issue in caught.value.issues]


def stock_of(snapshot: Snapshot) -> dict[tuple[str, str], int]:
    return {(row.sku, row.warehouse): row.on_hand for row in snapshot.stock}


# --- the shipped files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, tuple[Scenario, list[BuiltVariant]]]:
    loaded = {}
    for name in SHIPPED_FILES:
        found = load_scenario(SHIPPED / f"{name}.yaml")
        loaded[name] = (found, build_variants(found, *load_base(found)))
    return loaded


def test_shipped_files_say_what_the_planners_know(
    shipped: dict[str, tuple[Scenario, list[BuiltVariant]]],
) -> None:
    """The files whose published numbers rest on the true means say so; versus-incumbent
    plays learned demand, with an oracle and a naive arm beside the estimator's base."""
    for name in ("baseline", "double11", "conservative", "shares-over-100"):
        assert shipped[name][0].simulation.demand_knowledge == "true", name
    found, built = shipped["versus-incumbent"]
    assert found.simulation.demand_knowledge == "history"
    assert found.simulation.replan_every_days == 1 and found.simulation.horizon_days == 30
    velocity = {b.inputs.name: b.inputs.planner_velocity for b in built}
    assert velocity["base"] is None and velocity["true-means"] == "true"
    assert velocity["naive"] == "naive"
    # the tuned arms share one ruleset: learned-demand's split, no safety stock
    tuned = {n: b.inputs.ruleset for b in built if (n := b.inputs.name).startswith("tuned")}
    assert [velocity[n] for n in tuned] == [None, "true", "naive"]
    learned = load_ruleset(SHIPPED / "learned" / "rules.yaml").rules[0]
    for ruleset in tuned.values():
        assert not any(r.type.startswith("safety_stock") for r in ruleset.rules)
        (split,) = [r for r in ruleset.rules if r.id == "r-velocity"]
        assert split.model_dump(exclude={"id"}) == learned.model_dump(exclude={"id"})


def test_learned_demand_file_plays_every_knowledge_against_equal_shares() -> None:
    found = load_scenario(SHIPPED / "learned-demand.yaml")
    built = build_variants(found, *load_base(found))
    settings_ = found.simulation.settings()
    assert settings_.demand_knowledge == "history" and settings_.replan_every_days == 1
    arms = {b.inputs.name: b.inputs for b in built}
    omnistock = {n: settings_.velocity_of(i) for n, i in arms.items() if i.planner == "omnistock"}
    assert sorted(omnistock.values()) == sorted(["estimated", "true", "naive"] * 3)
    equal = arms["incumbent-equal"].incumbent
    assert equal is not None and equal.default_share_pct == 20 and equal.safety_stock == 0
    assert (
        len(found.simulation.model_dump())
        and (SHIPPED / "learned-demand.yaml").read_text()[0] == "#"
    )


def test_demand_knowledge_defaults_to_history_and_reads_yaml_true(
    small: tuple[Snapshot, Ruleset],
) -> None:
    assert parse_scenario(scenario()).simulation.settings().demand_knowledge == "history"
    written = yaml.safe_load("simulation: {demand_knowledge: true, warmup_days: 28}")
    settings_ = parse_scenario(written).simulation.settings()
    assert settings_.demand_knowledge == "true" and settings_.warmup_days == 28
    doc = scenario(
        variant("oracle", planner_velocity=True), variant("agency", planner_velocity="naive")
    )
    built = build(small, doc)
    assert [b.inputs.planner_velocity for b in built] == [None, "true", "naive"]


def test_planner_velocity_is_checked(small: tuple[Snapshot, Ruleset]) -> None:
    equal = {"planner": "incumbent", "incumbent": {"default_share_pct": 25}}
    (issue,) = refused(small, scenario(variant("inc", planner_velocity="naive", **equal)))
    assert issue.startswith("variants[0] (inc).planner_velocity: the incumbents' formula")
    issues = refused(
        small,
        scenario(
            variant("odd", planner_velocity="psychic"),
            simulation={"demand_knowledge": "rumour", "warmup_days": 400},
        ),
    )
    assert [i.split(":")[0] for i in issues] == [
        "simulation.demand_knowledge",
        "simulation.warmup_days",
        "variants[0] (odd).planner_velocity",
    ]


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_file_builds_base_and_up_to_eleven_variants(
    name: str, shipped: dict[str, tuple[Scenario, list[BuiltVariant]]]
) -> None:
    found, built = shipped[name]
    names = [b.inputs.name for b in built]
    assert names == ["base"] + [v.name for v in found.variants]
    assert 2 <= len(names) <= 12
    assert found.simulation.horizon_days == 30
    assert (SHIPPED / f"{name}.yaml").read_text().startswith("# ")  # the header says what it asks
    base = built[0].inputs
    assert base.snapshot.as_of.date().isoformat() == "2026-11-11" and base.mode == "normal"
    for b in built[1:]:
        i = b.inputs
        changed = (i.snapshot, i.ruleset, i.mode, i.planner, i.planner_velocity)
        was = (base.snapshot, base.ruleset, base.mode, base.planner, base.planner_velocity)
        assert changed != was or i.uplifts


def test_double11_triples_demand_on_the_first_two_days(
    shipped: dict[str, tuple[Scenario, list[BuiltVariant]]],
) -> None:
    by_name = {b.inputs.name: b.inputs for b in shipped["double11"][1]}
    assert by_name["peak-mode"].mode == "peak" and not by_name["peak-mode"].uplifts
    assert by_name["uplift"].mode == "normal"
    assert by_name["uplift"].uplifts == (Uplift(3.0, 0, 1),)
    assert by_name["peak-uplift"].uplifts == (Uplift(3.0, 0, 1),)
    assert by_name["peak-uplift-unplanned"].uplifts == (Uplift(3.0, 0, 1, planned=False),)


def test_incumbent_shares_exceed_100_for_b1_only_where_the_story_says(
    shipped: dict[str, tuple[Scenario, list[BuiltVariant]]],
) -> None:
    def totals(b: BuiltVariant) -> dict[str, float]:
        policy = b.inputs.incumbent
        assert policy is not None and b.inputs.planner == "incumbent"
        found: dict[str, float] = {}
        for shop in b.inputs.snapshot.shops:
            share = policy.shares.get(shop.id, policy.default_share_pct)
            found[shop.brand] = found.get(shop.brand, 0.0) + share
        return found

    over = {b.inputs.name: b for b in shipped["shares-over-100"][1]}
    for name in ("incumbent-150", "incumbent-150-double11"):
        assert totals(over[name]) == {"b1": 150, "b2": 100, "b3": 100}
        (note,) = over[name].notes
        assert "brand b1's shops add up to 150%" in note
    assert totals(over["incumbent-100"]) == {"b1": 100, "b2": 100, "b3": 100}
    assert not over["incumbent-100"].notes
    incumbents = [b for b in shipped["versus-incumbent"][1] if b.inputs.planner == "incumbent"]
    assert len(incumbents) == 4
    for b in incumbents:  # equal shares of three shops: 33.33% each
        found = totals(b)
        assert found == pytest.approx({"b1": 100, "b2": 100, "b3": 100}, abs=0.011)
        assert not b.notes


def test_conservative_replaces_the_brand_safety_rules_in_place(
    shipped: dict[str, tuple[Scenario, list[BuiltVariant]]],
) -> None:
    base, cover = (b.inputs.ruleset for b in shipped["conservative"][1][:2])
    changed = [(a.id, b) for a, b in zip(base.rules, cover.rules, strict=True) if a != b]
    assert [rule_id for rule_id, _ in changed] == ["r-safety-b1", "r-safety-b2", "r-safety-b3"]
    assert all(getattr(rule, "days", None) == 7 for _, rule in changed)


@pytest.mark.parametrize("name", [*SHIPPED_FILES, "learned-demand"])
def test_shipped_file_round_trips_through_a_yaml_file(name: str, tmp_path: Path) -> None:
    found = load_scenario(SHIPPED / f"{name}.yaml")
    document = scenario_document(found)
    assert parse_scenario(document, found.path) == found
    written = tmp_path / f"{name}.yaml"
    written.write_text(yaml.safe_dump(document, sort_keys=False))
    again = load_scenario(written)
    assert scenario_document(again) == document and again.base == found.base


# --- each override does what it says ---------------------------------------------------


def test_a_variant_without_overrides_plays_the_base_inputs(
    small: tuple[Snapshot, Ruleset],
) -> None:
    base, same = variant_inputs(parse_scenario(scenario(variant("same"))), *small)
    assert (same.snapshot, same.ruleset, same.mode) == (base.snapshot, base.ruleset, base.mode)
    assert same.snapshot is small[0] and same.ruleset is small[1]
    assert (same.planner, same.uplifts, same.arrivals, same.closed_shops) == (
        "omnistock",
        (),
        (),
        frozenset(),
    )


def test_rule_overrides_add_remove_and_replace_in_place(small: tuple[Snapshot, Ruleset]) -> None:
    cap = {"id": "r-new-cap", "type": "max_cap", "scope": {"shop": "jd-b2"}, "quantity": 9}
    split = {"type": "percentage", "scope": {"brand": "b2"}, "shares": {"tm-b2": 1.0}}
    doc = scenario(
        variant(
            "rules",
            {"op": "add_rule", "rule": cap},
            {"op": "remove_rule", "id": "r-sync"},
            {"op": "replace_rule", "id": "r-b2-split", "rule": split},
        )
    )
    before, after = (b.inputs.ruleset.rules for b in build(small, doc))
    ids = [r.id for r in before]
    assert [r.id for r in after] == [i for i in ids if i != "r-sync"] + ["r-new-cap"]
    at = ids.index("r-b2-split")
    assert after[at].id == "r-b2-split"  # the replacement inherits the id it has none of
    replaced = after[at]
    assert isinstance(replaced, Percentage) and replaced.shares == {"tm-b2": 1.0}
    assert isinstance(after[-1], MaxCap) and after[-1].quantity == 9


def test_stock_delta_changes_only_the_selected_rows_and_clamps_at_zero(
    small: tuple[Snapshot, Ruleset],
) -> None:
    doc = scenario(
        variant(
            "cut", {"op": "stock_delta", "category": "boots", "warehouse": "wh-sh", "delta": -25}
        ),
        variant("grow", {"op": "stock_delta", "brand": "b2", "percent": 15}),
    )
    base, cut, grow = build(small, doc)
    before = stock_of(base.inputs.snapshot)
    boots = {s.id for s in small[0].skus if s.category == "boots"}
    after = stock_of(cut.inputs.snapshot)
    short_rows, short = 0, 0
    for (sku, wh), units in before.items():
        hit = sku in boots and wh == "wh-sh"
        assert after[sku, wh] == (max(units - 25, 0) if hit else units)
        if hit and units < 25:
            short_rows, short = short_rows + 1, short + 25 - units
    assert short_rows > 0  # the demo has small rows, so the clamp is exercised
    assert cut.notes == (
        f"variants[0] (cut).overrides[0] (stock_delta): {short_rows} stock row(s) held less "
        f"than the cut: clamped at 0 ({short} unit(s) not removed)",
    )
    brand = {s.id: s.brand for s in small[0].skus}
    for (sku, wh), units in stock_of(grow.inputs.snapshot).items():
        # +15%, rounded half up, in exact integer arithmetic
        want = (before[sku, wh] * 115 + 50) // 100 if brand[sku] == "b2" else before[sku, wh]
        assert units == want
    assert base.inputs.snapshot is small[0] and stock_of(small[0]) == before


def test_uplift_days_and_dates_become_day_offsets_from_as_of(
    small: tuple[Snapshot, Ruleset],
) -> None:
    doc = scenario(
        variant(
            "spike",
            {"op": "uplift", "factor": 3, "days": [0, 1]},
            {
                "op": "uplift",
                "factor": 1.5,
                "shops": ["dy-b1"],
                "categories": "running",
                "dates": {"from": "2026-11-13", "to": "2026-11-20"},
                "planned": False,
            },
        )
    )
    uplifts = build(small, doc)[1].inputs.uplifts
    assert uplifts == (
        Uplift(3.0, 0, 1),
        Uplift(1.5, 2, 9, shops=("dy-b1",), categories=("running",), planned=False),
    )


def test_open_shop_copies_the_like_shops_supply_and_velocity(
    small: tuple[Snapshot, Ruleset],
) -> None:
    doc = scenario(
        variant(
            "ks",
            {
                "op": "open_shop",
                "id": "ks-b2",
                "brand": "b2",
                "platform": "kuaishou",
                "like": "dy-b2",
                "velocity_factor": 0.5,
            },
        )
    )
    opened = build(small, doc)[1].inputs.snapshot
    shop = {s.id: s for s in opened.shops}["ks-b2"]
    assert (shop.brand, shop.platform, shop.priority, shop.warehouses) == (
        "b2",
        "kuaishou",
        3,
        ["wh-gz"],
    )
    like = {r.sku: r.units_per_day for r in small[0].velocity if r.shop == "dy-b2"}
    new = {r.sku: r.units_per_day for r in opened.velocity if r.shop == "ks-b2"}
    assert new == {sku: rate * 0.5 for sku, rate in like.items()} and new
    assert len(opened.velocity) == len(small[0].velocity) + len(new)
    assert Snapshot.model_validate(opened.model_dump(mode="json")) == opened


def test_close_shop_holds_the_shop_at_zero_in_the_plan(small: tuple[Snapshot, Ruleset]) -> None:
    doc = scenario(variant("no-pdd", {"op": "close_shop", "shop": "pdd-b1"}))
    base, closed = (b.inputs for b in build(small, doc))
    assert closed.closed_shops == frozenset({"pdd-b1"})
    cap = closed.ruleset.rules[-1]
    assert isinstance(cap, MaxCap) and (cap.id, cap.quantity) == ("close-pdd-b1", 0)
    assert cap.priority > max(rule.priority for rule in base.ruleset.rules)

    def on_shop(inputs: Any) -> int:
        plan = make_plan(inputs.snapshot, inputs.ruleset, mode=inputs.mode)
        return sum(a.quantity + a.shared for a in plan.allocations if a.shop == "pdd-b1")

    assert on_shop(base) > 0 and on_shop(closed) == 0


def test_mode_and_arrivals(small: tuple[Snapshot, Ruleset]) -> None:
    doc = scenario(
        variant("peak", mode="peak"),
        variant(
            "peak-op",
            {"op": "mode", "mode": "peak"},
            {
                "op": "arrival",
                "sku": "B1-0001",
                "warehouse": "wh-gz",
                "quantity": 40,
                "date": "2026-11-15",
            },
        ),
        arrivals=[{"sku": "B2-0001", "warehouse": "wh-sh", "quantity": 5, "day": 0}],
        simulation={"horizon_days": 10},
    )
    base, peak, peak_op = (b.inputs for b in build(small, doc))
    shared = Arrival("B2-0001", "wh-sh", 5, 0)
    assert (base.mode, base.arrivals) == ("normal", (shared,))
    assert (peak.mode, peak.arrivals) == ("peak", (shared,))
    assert (peak_op.mode, peak_op.arrivals) == (
        "peak",
        (shared, Arrival("B1-0001", "wh-gz", 40, 4)),
    )
    base_peak = dict(scenario(), base={"snapshot": "s", "ruleset": "r", "mode": "peak"})
    assert build(small, base_peak)[0].inputs.mode == "peak"


# --- bad files are refused, the variant and the override named ---------------------------


def test_unknown_rule_id(small: tuple[Snapshot, Ruleset]) -> None:
    doc = scenario(
        variant("keep"),
        variant(
            "double11",
            {"op": "remove_rule", "id": "r-sync"},
            {"op": "remove_rule", "id": "r-x"},
            {"op": "replace_rule", "id": "r-sync", "rule": {"type": "zero_below", "threshold": 1}},
        ),
    )
    assert refused(small, doc) == [
        "variants[1] (double11).overrides[1] (remove_rule).id: no rule 'r-x' in the base ruleset",
        "variants[1] (double11).overrides[2] (replace_rule).id: rule 'r-sync' was already "
        "removed or replaced by an earlier override",
    ]


def test_unknown_ids_in_selectors_are_refused_with_a_suggestion(
    small: tuple[Snapshot, Ruleset],
) -> None:
    doc = scenario(
        variant(
            "typos",
            {"op": "uplift", "factor": 2, "days": [0, 0], "shops": ["tm-b9"]},
            {"op": "stock_delta", "category": "bots", "warehouse": "wh-xx", "delta": 1},
            {"op": "close_shop", "shop": "jd-b1x"},
            {"op": "arrival", "sku": "B1-9999", "warehouse": "wh-sh", "quantity": 1, "day": 1},
            {"op": "open_shop", "id": "tm-b1", "brand": "b1", "platform": "tmall", "like": "tm-b2"},
        ),
        variant("incumbent", planner="incumbent", incumbent={"shares": {"tm-bl": 50}}),
    )
    assert refused(small, doc) == [
        "variants[0] (typos).overrides[0] (uplift).shops: unknown shop 'tm-b9'",
        "variants[0] (typos).overrides[1] (stock_delta).category: unknown category 'bots' "
        "(did you mean 'boots'?)",
        "variants[0] (typos).overrides[1] (stock_delta).warehouse: unknown warehouse 'wh-xx'",
        "variants[0] (typos).overrides[2] (close_shop).shop: unknown shop 'jd-b1x' "
        "(did you mean 'jd-b1'?)",
        "variants[0] (typos).overrides[3] (arrival).sku: unknown SKU 'B1-9999'",
        "variants[0] (typos).overrides[4] (open_shop).id: shop 'tm-b1' already exists",
        "variants[0] (typos).overrides[4] (open_shop).like: shop 'tm-b2' sells brand 'b2', "
        "not 'b1'",
        "variants[1] (incumbent).incumbent.shares: unknown shop 'tm-bl'",
    ]


def test_stock_delta_that_selects_nothing_is_refused(small: tuple[Snapshot, Ruleset]) -> None:
    no_rows = next(s.id for s in small[0].skus if s.id not in {r.sku for r in small[0].stock})
    doc = scenario(
        variant(
            "nothing", {"op": "stock_delta", "brand": "b1", "category": "lipstick", "delta": -3}
        ),
        variant("missed", {"op": "stock_delta", "sku": ["B1-0001", no_rows], "delta": 10}),
    )
    assert refused(small, doc) == [
        "variants[0] (nothing).overrides[0] (stock_delta): the selectors match no stock row "
        "to change",
        f"variants[1] (missed).overrides[0] (stock_delta): SKU '{no_rows}' has no stock row "
        "to change",
    ]


def test_field_errors_are_all_reported_at_once() -> None:
    doc = scenario(
        variant("Bad Name"),
        variant(
            "v",
            {"op": "shuffle"},
            {"op": "uplift", "factor": 0, "days": [0, 1]},
            {"op": "uplift", "factor": 2, "days": [3, 1]},
            {"op": "stock_delta", "delta": 1},
        ),
        variant(
            "x",
            {"op": "uplift", "factor": 2, "dates": {"from": "2026-11-12", "to": "2026-11-11"}},
            colour="red",
        ),
    )
    with pytest.raises(InputError) as caught:
        parse_scenario(doc, "what-if.yaml")
    assert caught.value.source == "what-if.yaml"
    found = [str(issue) for issue in caught.value.issues]
    assert found[0].startswith("variants[0] (Bad Name).name: a name is lowercase letters")
    assert found[1].startswith("variants[1] (v).overrides[0] (shuffle): unknown or missing op;")
    assert "open_shop" in found[1]
    assert found[2:] == [
        "variants[1] (v).overrides[1] (uplift).factor: Input should be greater than 0, got 0",
        "variants[1] (v).overrides[2] (uplift): days is [first, last]: last must not be "
        "before first",
        "variants[1] (v).overrides[3] (stock_delta): give at least one of sku, category, "
        "warehouse, brand",
        "variants[2] (x).overrides[0] (uplift).dates: `to` must not be before `from`",
        "variants[2] (x).colour: unknown field",
    ]


def test_variants_are_checked_against_each_other() -> None:
    doc = scenario(
        variant("dup", incumbent={"shares": {"tm-b1": 50}}),
        variant("base"),
        variant("dup", {"op": "mode", "mode": "peak"}, mode="normal"),
        variant("twice", {"op": "mode", "mode": "peak"}, {"op": "mode", "mode": "normal"}),
    )
    with pytest.raises(InputError) as caught:
        parse_scenario(doc)
    assert [str(issue) for issue in caught.value.issues] == [
        "variants[0] (dup).incumbent: an incumbent block needs `planner: incumbent`",
        "variants[1] (base).name: 'base' is the implicit base variant; give this one another name",
        "variants[2] (dup).name: duplicate name (first at variants[0])",
        "variants[2] (dup).overrides[0] (mode): the variant's mode is already set; set it once",
        "variants[3] (twice).overrides[1] (mode): the variant's mode is already set; set it once",
    ]


def test_windows_outside_the_horizon_are_refused(small: tuple[Snapshot, Ruleset]) -> None:
    doc = scenario(
        variant("late", {"op": "uplift", "factor": 2, "days": [5, 12]}),
        variant(
            "early",
            {"op": "uplift", "factor": 2, "dates": {"from": "2026-11-10", "to": "2026-11-12"}},
            {"op": "arrival", "sku": "B1-0001", "warehouse": "wh-sh", "quantity": 3, "day": 10},
        ),
        simulation={"horizon_days": 10},
    )
    assert refused(small, doc) == [
        "variants[0] (late).overrides[0] (uplift).days: day 12 is after the horizon (days 0..9)",
        "variants[1] (early).overrides[0] (uplift).dates: day -1 is before day 0 (the "
        "snapshot's as_of date)",
        "variants[1] (early).overrides[1] (arrival).day: day 10 is after the horizon (days 0..9)",
    ]


def test_a_replacing_rule_is_checked_like_a_ruleset_file(small: tuple[Snapshot, Ruleset]) -> None:
    bad_share = {"type": "percentage", "scope": {"brand": "b2"}, "shares": {"tm-b2": 1.5}}
    with pytest.raises(InputError) as caught:
        parse_scenario(
            scenario(variant("v", {"op": "replace_rule", "id": "r-b2-split", "rule": bad_share}))
        )
    assert [str(i) for i in caught.value.issues] == [
        "variants[0] (v).overrides[0] (replace_rule).rule.shares.tm-b2: Input should be less "
        "than or equal to 1, got 1.5"
    ]
    unknown_shop = dict(bad_share, shares={"tm-b9": 0.5})
    unknown_type = {"id": "r-y", "type": "percent", "shares": {"tm-b2": 0.5}}
    doc = scenario(
        variant("v", {"op": "replace_rule", "id": "r-b2-split", "rule": unknown_shop}),
        variant("w", {"op": "add_rule", "rule": unknown_type}),
    )
    with pytest.raises(InputError) as caught:
        build(small, doc)
    assert str(caught.value.issues[0]).startswith(
        "variants[1] (w).overrides[0] (add_rule).rule (id r-y): unknown or missing rule type;"
    )
    del doc["variants"][1]
    assert refused(small, doc) == [
        "variants[0] (v).overrides[0] (replace_rule).rule (id r-b2-split).shares: "
        "unknown shop 'tm-b9'"
    ]


def test_final_ruleset_must_hold_together(small: tuple[Snapshot, Ruleset]) -> None:
    doc = scenario(
        variant("windowless", {"op": "remove_rule", "id": "r-uplift-dy-b1"}),
        variant(
            "twice",
            {"op": "add_rule", "rule": {"id": "r-sync", "type": "pack_size", "quantity": 2}},
        ),
        variant("pinned", {"op": "close_shop", "shop": "tm-b2"}),
    )
    rules = [r.id for r in small[1].rules]
    window = rules.index("r-double11")
    assert refused(small, doc) == [
        f"variants[0] (windowless).ruleset.rules[{window - 1}] (id r-double11).rules: "
        "unknown rule id 'r-uplift-dy-b1'",
        f"variants[1] (twice).overrides[0] (add_rule).rule (id r-sync).id: duplicate rule id "
        f"(first at rules[{rules.index('r-sync')}])",
        "variants[2] (pinned).overrides[0] (close_shop).shop: rule 'r-hold-tm-b2-hero' still "
        "puts units on 'tm-b2'; remove or replace it",
        "variants[2] (pinned).overrides[0] (close_shop).shop: rule 'r-lock-tm-b2' still puts "
        "units on 'tm-b2'; remove or replace it",
    ]


def test_base_files_are_checked_and_named(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules:\n- {id: r1, type: max_cap, quantity: -1}\n")
    path = tmp_path / "what-if.yaml"
    path.write_text(yaml.safe_dump(scenario(variant("v"))))
    with pytest.raises(InputError) as caught:
        load_base(load_scenario(path))
    assert caught.value.source == str(path)
    assert [str(i) for i in caught.value.issues] == [
        "base.snapshot (snapshot.json): file not found",
        "base.ruleset (rules.yaml) rules[0] (id r1).quantity: Input should be greater than or "
        "equal to 0, got -1",
    ]


# --- round trip ---------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True).filter(lambda n: n != "base")
IDS = st.sampled_from(["tm-b1", "B1-0001", "wh-sh", "running", "r-sync"])
ONE_OR_MANY = st.one_of(IDS, st.lists(IDS, min_size=1, max_size=3))
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12
)
DATES = st.dates().map(lambda d: d.isoformat())
WHEN = st.one_of(
    st.fixed_dictionaries({"day": st.integers(0, 400)}), st.fixed_dictionaries({"date": DATES})
)


def _maybe(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Doc]:
    return st.fixed_dictionaries({}, optional=fields)


def _op(op: str, required: Doc, **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[Doc]:
    return st.fixed_dictionaries({"op": st.just(op), **required}, optional=optional)


ARRIVAL = st.tuples(
    st.fixed_dictionaries({"sku": IDS, "warehouse": IDS, "quantity": st.integers(1, 10**6)}),
    WHEN,
).map(lambda parts: {**parts[0], **parts[1]})
RULES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("max_cap"), "quantity": st.integers(0, 99)},
        optional={"id": IDS, "scope": st.fixed_dictionaries({"shop": ONE_OR_MANY})},
    ),
    st.fixed_dictionaries(
        {"type": st.just("percentage"), "shares": st.dictionaries(IDS, st.floats(0, 1), min_size=1)}
    ),
)
OVERRIDES = st.one_of(
    _op("add_rule", {"rule": RULES}),
    _op("remove_rule", {"id": IDS}),
    _op("replace_rule", {"id": IDS, "rule": RULES}),
    st.tuples(
        _op("stock_delta", {"sku": ONE_OR_MANY}, category=ONE_OR_MANY, warehouse=IDS),
        st.one_of(
            st.fixed_dictionaries({"delta": st.integers(-(10**6), 10**6)}),
            st.fixed_dictionaries({"percent": st.floats(-100, 10_000)}),
        ),
    ).map(lambda parts: {**parts[0], **parts[1]}),
    st.tuples(
        _op(
            "uplift",
            {"factor": st.floats(0.01, 100)},
            shops=ONE_OR_MANY,
            skus=ONE_OR_MANY,
            categories=ONE_OR_MANY,
            planned=st.booleans(),
        ),
        st.one_of(
            st.tuples(st.integers(0, 30), st.integers(0, 30)).map(
                lambda d: {"days": [min(d), max(d)]}
            ),
            st.tuples(st.dates(), st.dates()).map(
                lambda d: {"dates": {"from": min(d).isoformat(), "to": max(d).isoformat()}}
            ),
        ),
    ).map(lambda parts: {**parts[0], **parts[1]}),
    _op(
        "open_shop",
        {"id": IDS, "brand": IDS, "platform": st.sampled_from(["tmall", "ks"]), "like": IDS},
        velocity_factor=st.floats(0.1, 5),
        priority=st.integers(0, 9),
    ),
    _op("close_shop", {"shop": IDS}),
    ARRIVAL.map(lambda arrival: {"op": "arrival", **arrival}),
)


@st.composite
def variants(draw: st.DrawFn, name: str) -> Doc:
    found = {
        "name": name,
        **draw(_maybe(description=TEXT, overrides=st.lists(OVERRIDES, max_size=4))),
    }
    mode = draw(st.sampled_from([None, "variant", "override"]))
    if mode == "variant":
        found["mode"] = draw(st.sampled_from(["normal", "peak"]))
    elif mode == "override":
        found.setdefault("overrides", []).append({"op": "mode", "mode": "peak"})
    if draw(st.booleans()):
        found["planner"] = "incumbent"
        found.update(
            draw(
                _maybe(
                    incumbent=_maybe(
                        shares=st.dictionaries(IDS, st.floats(0, 100)),
                        default_share_pct=st.floats(0, 100),
                        safety_stock=st.integers(0, 50),
                    )
                )
            )
        )
    elif draw(st.booleans()):
        found["planner"] = "omnistock"
    return found


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    doc: Doc = {
        "base": {
            "snapshot": "a/s.json",
            "ruleset": "r.yaml",
            **draw(_maybe(mode=st.sampled_from(["normal", "peak"]))),
        },
        "variants": [draw(variants(name)) for name in names],
    }
    doc.update(draw(_maybe(description=TEXT, arrivals=st.lists(ARRIVAL, max_size=2))))
    doc.update(
        draw(
            _maybe(
                simulation=_maybe(
                    horizon_days=st.integers(1, 366),
                    seed=st.integers(-(2**40), 2**40),
                    replan_every_days=st.one_of(st.none(), st.integers(1, 30)),
                    replications=st.integers(1, 5),
                )
            )
        )
    )
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_documents_round_trip(doc: Doc) -> None:
    found = parse_scenario(doc, "x/what-if.yaml")
    document = scenario_document(found)
    assert parse_scenario(document, "x/what-if.yaml") == found
    assert parse_scenario(yaml.safe_load(yaml.safe_dump(document)), "x/what-if.yaml") == found
    assert scenario_document(parse_scenario(document)) == document
