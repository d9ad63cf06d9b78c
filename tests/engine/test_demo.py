"""The demo data: deterministic, committed as generated, and plannable."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from engine.core.io import load_snapshot
from engine.core.plan import Plan
from engine.core.snapshot import Snapshot
from engine.demo import DEFAULT_SEED, build_demo, write_demo
from engine.planning.planner import make_plan
from engine.settlement.demo import write_settlement_demo
from rules.catalog import Bundle, Fixed, Ruleset, ShopCapacity
from rules.load import load_ruleset

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
FILES = ("snapshot.json", "rules.yaml")


def _bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def demo() -> tuple[Snapshot, Ruleset]:
    return load_snapshot(SCENARIO / "snapshot.json"), load_ruleset(SCENARIO / "rules.yaml")


@pytest.fixture(scope="module")
def demo_plan(demo: tuple[Snapshot, Ruleset]) -> Plan:
    return make_plan(*demo)


def test_two_runs_write_the_same_bytes(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a")
    write_demo(tmp_path / "b")
    assert [p.name for p in first] == list(FILES)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert build_demo(seed=12, skus=300) == build_demo(seed=12, skus=300)
    assert build_demo(seed=12, skus=300) != build_demo(seed=13, skus=300)


def test_committed_files_equal_a_fresh_generation(tmp_path: Path) -> None:
    write_demo(tmp_path)
    assert _bytes(SCENARIO) == _bytes(tmp_path), "regenerate with `omnistock demo`"


def test_committed_settlement_months_equal_a_fresh_generation(tmp_path: Path) -> None:
    """scenarios/demo/settlement/ is what `omnistock demo` writes (its default seed)."""
    written = write_settlement_demo(tmp_path, DEFAULT_SEED)
    assert len(written) >= 12
    for path in written:
        committed = SCENARIO / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed}: run `omnistock demo`"


def test_ruleset_uses_most_of_the_catalog(demo: tuple[Snapshot, Ruleset]) -> None:
    _, ruleset = demo
    ids = [rule.id for rule in ruleset.rules]
    assert all(i is not None and i.startswith("r-") for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({rule.type for rule in ruleset.rules}) >= 20


def test_snapshot_shape(demo: tuple[Snapshot, Ruleset]) -> None:
    snapshot, _ = demo
    assert snapshot.tenant == "demo" and snapshot.mode == "normal"
    assert len(snapshot.brands) == 3
    assert len(snapshot.shops) == 10
    assert {s.platform for s in snapshot.shops} == {"tmall", "jd", "douyin", "pdd"}
    assert sum(s.warehouses is not None for s in snapshot.shops) == 1
    assert len(snapshot.warehouses) == 3
    assert [w.id for w in snapshot.warehouses if w.kind == "defect"] == ["wh-defect"]
    assert len(snapshot.skus) == 5000
    brand = {s.id: s.brand for s in snapshot.skus}
    bundles = [s for s in snapshot.skus if s.is_bundle]
    assert 30 <= len(bundles) <= 50
    plain = {s.id for s in snapshot.skus if not s.is_bundle}
    for kit in bundles:
        assert 2 <= len(kit.components) <= 3
        for part in kit.components:
            assert part.sku in plain and brand[part.sku] == kit.brand and 1 <= part.qty <= 2
    for row in snapshot.stock:
        if row.warehouse == "wh-defect":
            assert row.on_hand == row.defective > 0
    on_hand: dict[str, int] = defaultdict(int)
    for row in snapshot.stock:
        on_hand[row.sku] += row.on_hand if row.warehouse != "wh-defect" else 0
    assert any(row.quantity > on_hand[row.sku] for row in snapshot.listed)
    with_history = {row.sku for row in snapshot.velocity}
    assert any("new" in s.tags and s.id not in with_history for s in snapshot.skus)


def _components(snapshot: Snapshot, ruleset: Ruleset) -> dict[str, dict[str, int]]:
    """Per bundle, its components and quantities, `bundle` rules applied."""
    kits = {s.id: {c.sku: c.qty for c in s.components} for s in snapshot.skus if s.is_bundle}
    for rule in ruleset.rules:
        if isinstance(rule, Bundle) and rule.active_at(snapshot.as_of):
            kits[rule.sku] = {c.sku: c.qty for c in rule.components}
    return kits


def test_plan_never_allocates_above_a_pool(demo: tuple[Snapshot, Ruleset], demo_plan: Plan) -> None:
    snapshot, ruleset = demo
    pool = {p.sku: p.pool for p in demo_plan.skus}
    assert len(pool) == len(snapshot.skus)
    exclusive: dict[str, int] = defaultdict(int)
    shared: dict[str, int] = {}
    for a in demo_plan.allocations:
        exclusive[a.sku] += a.quantity
        if a.shared:
            assert shared.setdefault(a.sku, a.shared) == a.shared, "one shared part per SKU"
    used = {sku: exclusive[sku] + shared.get(sku, 0) for sku in pool}
    kits = _components(snapshot, ruleset)
    consumed: dict[str, int] = defaultdict(int)
    for kit, parts in kits.items():
        can_make = min(pool[c] // q for c, q in parts.items())
        assert used[kit] <= pool[kit] + can_make, kit
        made = max(0, used[kit] - pool[kit])
        for c, q in parts.items():
            consumed[c] += made * q
    for sku, units in used.items():
        if sku not in kits:
            assert units + consumed[sku] <= pool[sku], sku

    kpis = demo_plan.kpis
    assert (kpis.skus, kpis.shops) == (5000, 10)
    assert kpis.units_allocated == sum(exclusive.values()) + sum(shared.values())
    assert kpis.units_shared == sum(shared.values())
    assert 0 < kpis.units_allocated <= kpis.units_pool
    assert demo_plan.solver_parts


def test_plan_keeps_the_fixed_quantities(demo: tuple[Snapshot, Ruleset], demo_plan: Plan) -> None:
    _, ruleset = demo
    cells = {(a.sku, a.shop): a.quantity for a in demo_plan.allocations}
    fixed = [r for r in ruleset.rules if isinstance(r, Fixed)]
    assert fixed
    for rule in fixed:
        assert rule.scope.skus
        for sku in rule.scope.skus:
            for shop, units in rule.quantities.items():
                assert cells[(sku, shop)] == units


def test_plan_keeps_the_shop_capacity(demo: tuple[Snapshot, Ruleset], demo_plan: Plan) -> None:
    """A shared part counts on every shop that lists it."""
    _, ruleset = demo
    limits = [r.quantities for r in ruleset.rules if isinstance(r, ShopCapacity) and r.quantities]
    assert limits
    load: dict[str, int] = defaultdict(int)
    for a in demo_plan.allocations:
        load[a.shop] += a.quantity + a.shared
    for limit in limits:
        for shop, units in limit.items():
            assert load[shop] <= units, shop
