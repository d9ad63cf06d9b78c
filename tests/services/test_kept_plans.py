"""Stored plans kept parsed per process: read once, shared, grouped by SKU, bounded per
tenant, and a SKU's story from the kept plan equal to one from the plan read whole."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Any

from engine.core.io import parse_plan
from engine.demo import build_demo
from engine.planning.explain import explain_sku
from engine.services import kept_plans, plans
from engine.services.kept_plans import KEPT, kept_plan
from engine.services.plan_jobs import compute_prepared, save_plan
from engine.store.memory import MemoryStore


def _planned(store: MemoryStore, skus: int, seed: int = 0) -> str:
    snapshot, rules = build_demo(skus=skus, seed=seed)
    store.put_snapshot({**snapshot, "tenant": store.tenant})
    store.put_ruleset(rules)
    inputs = plans.prepared_inputs(store, None)
    assert inputs is not None
    document, meta = compute_prepared(inputs, 10.0)
    return str(save_plan(store, document, meta)["plan_id"])


def test_a_plan_is_read_once_and_shared() -> None:
    store = MemoryStore("kept-once")
    plan_id = _planned(store, 100)
    reads = 0
    get_plan = store.get_plan

    def counted(plan_id: str) -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return get_plan(plan_id)

    store.get_plan = counted  # type: ignore[method-assign]
    first = kept_plan(store, plan_id)
    assert kept_plan(store, plan_id) is first and reads == 1
    whole, meta = plans.stored_plan(store, plan_id)
    assert first.document == whole and first.meta == meta
    rows = sum(len(r["allocations"]) for r in first.by_sku.values())
    assert rows == len(whole["allocations"])


def test_first_readers_at_the_same_moment_read_the_plan_once() -> None:
    store = MemoryStore("kept-together")
    plan_id = _planned(store, 100)
    reads = 0
    get_plan = store.get_plan
    start = threading.Barrier(6)

    def slow(plan_id: str) -> dict[str, Any]:
        nonlocal reads
        reads += 1
        time.sleep(0.05)  # every other reader asks meanwhile
        return get_plan(plan_id)

    store.get_plan = slow  # type: ignore[method-assign]
    seen: list[object] = []

    def read() -> None:
        start.wait()
        seen.append(kept_plan(store, plan_id))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert reads == 1 and len(seen) == 6 and all(plan is seen[0] for plan in seen)


def test_a_skus_story_from_the_kept_plan_is_the_whole_plans() -> None:
    store = MemoryStore("kept-story")
    plan_id = _planned(store, 100)
    whole, _ = plans.stored_plan(store, plan_id)
    model = parse_plan(whole, "whole")
    for sku in sorted({a["sku"] for a in whole["allocations"]})[:10]:
        story = plans.explain(store, plan_id, sku, None)
        assert story == asdict(explain_sku(model, sku))


def test_each_tenant_keeps_its_few_newest() -> None:
    store = MemoryStore("kept-few")
    ids = [_planned(store, 100, seed) for seed in range(kept_plans.PER_TENANT + 2)]
    for plan_id in ids:
        kept_plan(store, plan_id)
    held = [key for tenant, key in KEPT.held() if tenant == "kept-few"]
    assert held == ids[-kept_plans.PER_TENANT :]
