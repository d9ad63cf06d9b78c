"""The per-process cache of parsed plan inputs (engine/services/plan_inputs_cache.py):
what it hands the planner equals what parsing the stored documents gives (plan and input
hash alike), it is never stale (a new stock version, ruleset, mode or a store reset is
seen by the next read), and it stays bounded per tenant and in total."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot
from engine.core.modes import NORMAL, PEAK, Mode
from engine.planning.planner import input_hash, make_plan
from engine.services import plans
from engine.services.brand_cut import brand_map
from engine.services.plan_inputs_cache import BoundedLru, PlanInputsCache, text_key
from engine.services.plans import (
    PreparedInputs,
    compute_plan,
    compute_prepared,
    plan_cells,
    plan_inputs,
    prepared_inputs,
)
from engine.store.base import Store, dumps
from engine.store.memory import MemoryStore
from engine.store.switch import ModeSwitch
from rules.load import parse_ruleset
from tests.helpers import snapshot_data

RULES: dict[str, Any] = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 1}]}
OTHER_RULES: dict[str, Any] = {"rules": [{"id": "r-safe", "type": "safety_stock", "quantity": 3}]}


def _store(
    tenant: str = "t1",
    pools: dict[str, int] | None = None,
    velocity: dict[tuple[str, str], float] | None = None,
) -> MemoryStore:
    store = MemoryStore(tenant)
    data = snapshot_data(pools=pools or {"S": 10, "T": 4}, velocity=velocity)
    store.put_snapshot({**data, "tenant": tenant})
    store.put_ruleset(RULES)
    return store


def _prepared(store: Store, cache: PlanInputsCache, max_cells: int | None = None) -> PreparedInputs:
    prepared = prepared_inputs(store, None, max_cells, cache)
    assert prepared is not None
    return prepared


def assert_fresh(store: Store, prepared: PreparedInputs) -> None:
    """The prepared inputs are those of the store's documents now, parsed afresh by the
    model (the reference the cache's column reading must match)."""
    expected = plan_inputs(store, None)
    snapshot = parse_snapshot(expected.snapshot, "stored snapshot")
    ruleset = parse_ruleset(expected.ruleset, "stored ruleset")
    assert prepared.stock_version == expected.stock_version
    assert prepared.ruleset_version == expected.ruleset_version
    assert prepared.mode == expected.mode
    assert prepared.ruleset.ruleset == ruleset
    assert prepared.digest == input_hash(snapshot, ruleset, expected.mode)
    assert prepared.snapshot.cells == plan_cells(expected.snapshot)
    assert prepared.snapshot.brands == brand_map(snapshot)
    index, fresh = prepared.snapshot.index, SnapshotIndex.build(snapshot)
    assert (index.sku_ids, index.shop_ids) == (fresh.sku_ids, fresh.shop_ids)
    for bucket, rows in fresh.stock.items():
        assert np.array_equal(index.stock[bucket], rows), bucket
    assert np.array_equal(index.listed, fresh.listed)
    assert np.array_equal(index.velocity, fresh.velocity)


def reference_plan(store: Store, mode: Mode | None) -> dict[str, Any]:
    """The plan of the stored documents as the planner makes it from their models."""
    inputs = plan_inputs(store, mode)
    snapshot = parse_snapshot(inputs.snapshot)
    ruleset = parse_ruleset(inputs.ruleset)
    return make_plan(snapshot, ruleset, inputs.mode, time_limit_s=10).model_dump(mode="json")


def _without_timing(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "timing"}


# --- what it hands the planner -------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pools=st.dictionaries(
        st.sampled_from(["S1", "S2", "S3", "S4"]), st.integers(0, 40), min_size=1, max_size=4
    ),
    # Velocities the fast canonical writer leaves to the standard one (below 1e-4) too.
    velocity=st.dictionaries(
        st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["A", "B", "C"])),
        st.sampled_from([0.0, 0.5, 2.25, 1e-5, 3.0e-7, 17.0]),
        max_size=3,
    ),
    mode=st.sampled_from([None, "normal", "peak"]),
    rules=st.sampled_from([RULES, OTHER_RULES, {"rules": []}]),
)
def test_a_cached_plan_equals_the_plan_of_the_parsed_documents(
    pools: dict[str, int],
    velocity: dict[tuple[str, str], float],
    mode: Any,
    rules: dict[str, Any],
) -> None:
    velocity = {cell: v for cell, v in velocity.items() if cell[0] in pools}
    store = _store(pools=pools, velocity=velocity)
    store.put_ruleset(rules)
    cache = PlanInputsCache()
    expected = _without_timing(reference_plan(store, mode))
    for _ in range(2):  # the miss, then the hit
        prepared = prepared_inputs(store, mode, None, cache)
        assert prepared is not None
        document, meta = compute_prepared(prepared, 10)
        assert _without_timing(document) == expected
        assert meta["brands"] == brand_map(parse_snapshot(store.get_snapshot().body))
        assert (meta["stock_version"], meta["ruleset_version"]) == (1, 2)
    assert len(cache.snapshots) == 1
    # A job plans the same stored documents without the cache: the same plan.
    document, _ = compute_plan(plan_inputs(store, mode), 10)
    assert _without_timing(document) == expected


def test_the_digest_is_the_input_hash_in_each_mode() -> None:
    store, cache = _store(), PlanInputsCache()
    digests = set()
    for mode in ("normal", "peak"):
        prepared = prepared_inputs(store, mode, None, cache)
        assert prepared is not None
        snapshot = parse_snapshot(store.get_snapshot().body)
        ruleset = parse_ruleset(store.get_ruleset().body)
        assert prepared.digest == input_hash(snapshot, ruleset, mode)
        digests.add(prepared.digest)
    assert len(digests) == 2
    assert len(cache.snapshots) == 1, "one parse serves both modes"


def test_a_document_the_quick_checks_leave_to_the_model_plans_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _store(velocity={("S", "A"): 2e-5})
    expected = _without_timing(reference_plan(store, None))
    monkeypatch.setattr(plans, "columns_of_document", lambda body: None)
    prepared = _prepared(store, PlanInputsCache())
    assert prepared.snapshot.model is not None and prepared.snapshot.canonical is None
    assert_fresh(store, prepared)
    assert _without_timing(compute_prepared(prepared, 10)[0]) == expected


def test_the_shared_index_is_read_only() -> None:
    prepared = _prepared(_store(), PlanInputsCache())
    with pytest.raises(ValueError, match="read-only"):
        prepared.snapshot.index.listed[0] = 99
    for rows in prepared.snapshot.index.stock.values():
        assert not rows.flags.writeable
    # Its cached properties were filled before it was shared, read-only too.
    assert "by_sku" in vars(prepared.snapshot.index)
    assert not prepared.snapshot.index.by_sku.group.flags.writeable
    assert not prepared.snapshot.index.shop_has_cells.flags.writeable


def test_a_snapshot_above_max_cells_is_neither_parsed_nor_kept() -> None:
    store, cache = _store(pools={"S": 1, "T": 1}), PlanInputsCache()  # 2 SKUs x 3 shops
    assert prepared_inputs(store, None, 5, cache) is None
    assert len(cache.snapshots) == 0
    assert _prepared(store, cache, 6).snapshot.cells == 6
    assert prepared_inputs(store, None, 5, cache) is None, "the kept one is still too big"


# --- never stale -------------------------------------------------------------------------


def test_a_new_stock_version_is_seen_at_once() -> None:
    store, cache = _store(), PlanInputsCache()
    before = _prepared(store, cache)
    version = store.patch_stock([{"sku": "S", "warehouse": "W1", "on_hand": 3}], 1)
    after = _prepared(store, cache)
    assert after.stock_version == version
    assert after.digest != before.digest
    assert_fresh(store, after)


def test_a_new_ruleset_is_seen_at_once() -> None:
    store, cache = _store(), PlanInputsCache()
    before = _prepared(store, cache)
    store.put_ruleset(OTHER_RULES)
    after = _prepared(store, cache)
    assert (after.ruleset_version, before.ruleset_version) == (2, 1)
    assert after.digest != before.digest
    assert after.snapshot is before.snapshot, "the snapshot was not parsed again"
    assert_fresh(store, after)


def test_a_store_reset_at_the_same_version_is_not_served_from_the_cache() -> None:
    # A version number alone would match: both stores are at stock version 1.
    cache = PlanInputsCache()
    first = _prepared(_store(pools={"S": 10}), cache)
    again = _store(pools={"S": 11})
    second = _prepared(again, cache)
    assert first.stock_version == second.stock_version == 1
    assert second.digest != first.digest
    assert_fresh(again, second)


def test_a_stock_version_with_the_same_text_reuses_the_parse() -> None:
    store, cache = _store(), PlanInputsCache()
    before = _prepared(store, cache)
    same = store.get_snapshot().body["stock"][0]
    store.patch_stock([same], 1)  # a new version, the same document
    after = _prepared(store, cache)
    assert after.stock_version == 2
    assert after.snapshot is before.snapshot
    assert after.digest == before.digest


def test_tenants_have_entries_of_their_own() -> None:
    cache = PlanInputsCache()
    one, two = _store("t1"), _store("t2")
    a, b = _prepared(one, cache), _prepared(two, cache)
    assert a.snapshot is not b.snapshot
    assert {tenant for tenant, _ in cache.snapshots.held()} == {"t1", "t2"}
    assert_fresh(one, a)
    assert_fresh(two, b)


TENANTS = st.sampled_from(["t1", "t2"])


class StoreAndCache(RuleBasedStateMachine):
    """Any sequence of writes to two tenants' stores, a reset store included: every read
    through a small cache gives the inputs parsing the stored documents gives."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = PlanInputsCache(max_text_bytes=3_000, per_tenant=2)
        self.stores = {tenant: _store(tenant) for tenant in ("t1", "t2")}

    @rule(
        tenant=TENANTS,
        sku=st.sampled_from(["S", "T"]),
        units=st.integers(0, 9),
    )
    def patch(self, tenant: str, sku: str, units: int) -> None:
        store = self.stores[tenant]
        row = {"sku": sku, "warehouse": "W1", "on_hand": units}
        store.patch_stock([row], store.stock_version())

    @rule(tenant=TENANTS, units=st.integers(0, 9))
    def put_snapshot(self, tenant: str, units: int) -> None:
        data = snapshot_data(pools={"S": units, "T": 4, "U": 1})
        self.stores[tenant].put_snapshot({**data, "tenant": tenant})

    @rule(tenant=TENANTS, rules=st.sampled_from([RULES, OTHER_RULES]))
    def put_ruleset(self, tenant: str, rules: dict[str, Any]) -> None:
        self.stores[tenant].put_ruleset(rules)

    @rule(tenant=TENANTS, mode=st.sampled_from([NORMAL, PEAK]))
    def switch_mode(self, tenant: str, mode: Mode) -> None:
        store = self.stores[tenant]
        store.put_mode(ModeSwitch(mode))

    @rule(tenant=TENANTS)
    def reset(self, tenant: str) -> None:
        self.stores[tenant] = _store(tenant, pools={"S": 10, "T": 5})

    @rule(tenant=TENANTS)
    def read(self, tenant: str) -> None:
        store = self.stores[tenant]
        assert_fresh(store, _prepared(store, self.cache))

    @invariant()
    def bounded(self) -> None:
        assert self.cache.snapshots.weight <= 3_000
        for tenant in ("t1", "t2"):
            kept = [k for k in self.cache.snapshots.held() if k[0] == tenant]
            assert len(kept) <= 2


StoreAndCache.TestCase.settings = settings(max_examples=30, stateful_step_count=15, deadline=None)
test_store_and_cache = StoreAndCache.TestCase


# --- bounds ------------------------------------------------------------------------------


def test_the_lru_drops_the_least_recently_used_past_its_weight() -> None:
    lru: BoundedLru[str] = BoundedLru(max_weight=10, per_group=5)
    for name in "abc":
        lru.get_or_make("t", name, 4, lambda name=name: name.upper())  # type: ignore[misc]
    assert [k for _, k in lru.held()] == ["b", "c"]
    assert lru.get("t", "b") == "B"  # b is now the most recent
    lru.get_or_make("t", "d", 4, lambda: "D")
    assert [k for _, k in lru.held()] == ["b", "d"]
    assert lru.weight == 8


def test_the_lru_keeps_at_most_per_group_values_of_a_group() -> None:
    lru: BoundedLru[int] = BoundedLru(max_weight=100, per_group=2)
    for i in range(4):
        lru.get_or_make("t1", i, 1, lambda i=i: i)  # type: ignore[misc]
    lru.get_or_make("t2", 0, 1, lambda: 0)
    assert lru.held() == [("t1", 2), ("t1", 3), ("t2", 0)]


def test_a_value_heavier_than_the_bound_is_made_but_not_kept() -> None:
    lru: BoundedLru[str] = BoundedLru(max_weight=10, per_group=5)
    assert lru.get_or_make("t", "big", 11, lambda: "made") == "made"
    assert len(lru) == 0


def test_a_weight_may_be_a_function_of_the_value_made() -> None:
    lru: BoundedLru[str] = BoundedLru(max_weight=10, per_group=5)
    lru.get_or_make("t", "a", len, lambda: "abcd")
    assert lru.weight == 4
    assert lru.get_or_make("t", "b", len, lambda: "x" * 11) == "x" * 11  # made, not kept
    assert [k for _, k in lru.held()] == ["a"] and lru.weight == 4


def test_threads_asking_for_one_missing_value_make_it_once() -> None:
    lru: BoundedLru[int] = BoundedLru(max_weight=100, per_group=5)
    made: list[int] = []
    start = threading.Barrier(8)

    def make() -> int:
        made.append(1)
        time.sleep(0.05)  # long enough for every other thread to ask meanwhile
        return 7

    def ask() -> None:
        start.wait()
        assert lru.get_or_make("t", "k", 1, make) == 7

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [1]


def test_a_failed_make_leaves_nothing_behind() -> None:
    lru: BoundedLru[int] = BoundedLru(max_weight=100, per_group=5)

    def fail() -> int:
        raise RuntimeError("bad text")

    with pytest.raises(RuntimeError):
        lru.get_or_make("t", "k", 1, fail)
    assert len(lru) == 0
    assert lru.get_or_make("t", "k", 1, lambda: 3) == 3


def test_the_text_key_is_the_sha256_of_the_stored_text() -> None:
    text = dumps({"a": "caf\u00e9"})
    assert text_key(text) == text_key(dumps({"a": "caf\u00e9"}))
    assert text_key(text) != text_key(dumps({"a": "cafe"}))
    assert text_key(text) == hashlib.sha256(text.encode()).hexdigest()


def test_a_history_snapshot_is_estimated_once_and_plans_as_the_model_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.demand import cells

    data = snapshot_data(pools={"S": 60, "T": 30}, velocity={("S", "A"): 1.0})
    data["history"] = [
        {"sku": "S", "shop": "B", "start": "2026-10-12", "units": [3, 1] * 15},
        {"sku": "T", "shop": "C", "start": "2026-10-12", "units": [2] * 30},
    ]
    store = MemoryStore("t1")
    store.put_snapshot({**data, "tenant": "t1"})
    store.put_ruleset({"rules": [{"id": "r-v", "type": "velocity_proportional"}]})
    estimates = []
    real = cells.estimate_of
    monkeypatch.setattr(cells, "estimate_of", lambda *a: estimates.append(1) or real(*a))
    expected = _without_timing(reference_plan(store, None))
    assert len(estimates) == 1  # the model's plan estimated once
    cache = PlanInputsCache()
    for _ in range(3):
        document, _ = compute_prepared(_prepared(store, cache), 10)
        assert _without_timing(document) == expected
    assert len(estimates) == 2  # and the cache once for its three plans
    assert _prepared(store, cache).snapshot.index.demand_estimated
