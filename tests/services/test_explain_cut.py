"""The service's explain parses only the SKU's rows of a stored plan: for every SKU of
a demo plan (bundles, shared parts, unallocated units and all), its story equals the
story told from the whole plan parsed."""

from __future__ import annotations

from dataclasses import asdict

from engine.core.io import parse_plan, parse_snapshot
from engine.demo import build_demo
from engine.planning.explain import explain_sku
from engine.planning.planner import make_plan
from engine.services import plans
from engine.store.memory import MemoryStore
from rules.load import parse_ruleset


def test_the_story_of_every_sku_is_the_whole_plans() -> None:
    snapshot, ruleset = build_demo(seed=5, skus=150)
    plan = make_plan(parse_snapshot(snapshot), parse_ruleset(ruleset), time_limit_s=30)
    document = plan.model_dump(mode="json")
    store = MemoryStore("demo")
    skus = sorted({a.sku for a in plan.allocations} | {p.sku for p in plan.skus})
    brands = {"skus": {s: "b" for s in skus}, "shops": {}}
    store.put_plan(plan.plan_id, {**document, plans.META: {"brands": brands}})
    whole = parse_plan(document, "plan")
    assert any(u.quantity for u in plan.unallocated) or plan.unallocated == []
    for sku in skus:
        told = plans.explain(store, plan.plan_id, sku, None)
        assert told == asdict(explain_sku(whole, sku)), sku
