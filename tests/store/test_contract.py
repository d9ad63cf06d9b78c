"""The store contract: every operation and error of `engine.store.base.Store`, run on
the in-memory store (without and with its file) and on Redis."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.core.errors import InputError
from engine.store.base import Consumed, PublishResult, SharedPart, Store
from engine.store.errors import IdempotencyConflict, InsufficientStock, NotFound, StaleVersion
from engine.store.redis_store import RedisStore
from engine.store.switch import ModeSwitch
from tests.store.conftest import StoreFactory

SNAPSHOT: dict[str, Any] = {
    "tenant": "acme",
    "as_of": "2024-11-01T00:00:00+08:00",
    "stock": [
        {"sku": "S1", "warehouse": "W1", "on_hand": 10},
        {"sku": "S2", "warehouse": "W1", "on_hand": 5},
    ],
}


def make_plan(plan_id: str, quantities: dict[tuple[str, str], int]) -> dict[str, Any]:
    allocations = [
        {"sku": sku, "shop": shop, "quantity": q, "shared": 0, "binding": [], "listed": True}
        for (shop, sku), q in quantities.items()
    ]
    return {"plan_id": plan_id, "mode": "normal", "allocations": allocations}


def published_plan(
    store: Store,
    quantities: dict[tuple[str, str], int],
    shared: dict[str, tuple[int, list[str]]] | None = None,
) -> PublishResult:
    """Publish a plan with these exclusive quantities and shared parts (SKU: units and
    the shops listing them), written as a plan's allocations are."""
    plan = make_plan("p1", quantities)
    for sku, (units, shops) in (shared or {}).items():
        for shop in shops:
            cell = next(
                (a for a in plan["allocations"] if (a["shop"], a["sku"]) == (shop, sku)), None
            )
            if cell is None:
                cell = {"sku": sku, "shop": shop, "quantity": 0, "binding": [], "listed": True}
                plan["allocations"].append(cell)
            cell["shared"] = units
    version = store.put_snapshot(SNAPSHOT)
    store.put_plan("p1", plan)
    return store.publish("p1", "key-1", "hash-1", version)


def run_together(count: int, work: Any) -> list[Any]:
    """`work(i)` on `count` threads released at the same moment; results in order."""
    barrier = threading.Barrier(count)

    def start(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


# --- snapshot and stock -----------------------------------------------------------------


def test_snapshot_put_get_and_versions(store: Store) -> None:
    with pytest.raises(NotFound) as missing:
        store.get_snapshot()
    assert missing.value.what == "snapshot"
    assert store.stock_version() == 0
    assert store.put_snapshot(SNAPSHOT) == 1
    assert store.put_snapshot({**SNAPSHOT, "as_of": "2024-11-02T00:00:00+08:00"}) == 2
    got = store.get_snapshot()
    assert got.version == 2 == store.stock_version()
    assert got.body["as_of"] == "2024-11-02T00:00:00+08:00"
    got.body["stock"].clear()
    assert len(store.get_snapshot().body["stock"]) == 2, "readers get their own copy"


def test_patch_stock_replaces_and_adds_rows(store: Store) -> None:
    version = store.put_snapshot(SNAPSHOT)
    rows = [
        {"sku": "S2", "warehouse": "W1", "on_hand": 0},
        {"sku": "S3", "warehouse": "W2", "on_hand": 7},
    ]
    assert store.patch_stock(rows, version) == version + 1
    got = store.get_snapshot()
    assert got.version == version + 1
    assert got.body["stock"] == [SNAPSHOT["stock"][0], *rows]
    assert got.body["tenant"] == "acme"


@pytest.mark.parametrize("given", [1, 3])
def test_patch_stock_on_another_version_is_stale(store: Store, given: int) -> None:
    store.put_snapshot(SNAPSHOT)
    store.put_snapshot(SNAPSHOT)
    with pytest.raises(StaleVersion) as stale:
        store.patch_stock([{"sku": "S1", "warehouse": "W1", "on_hand": 1}], given)
    assert (stale.value.given, stale.value.current) == (given, 2)
    assert "current version is 2" in str(stale.value)
    assert store.get_snapshot().body["stock"] == SNAPSHOT["stock"]


def test_patch_stock_errors(store: Store) -> None:
    with pytest.raises(NotFound):
        store.patch_stock([{"sku": "S1", "warehouse": "W1", "on_hand": 1}], 0)
    version = store.put_snapshot(SNAPSHOT)
    with pytest.raises(InputError) as bad:
        store.patch_stock([{"sku": "S1", "on_hand": 1}], version)
    assert [issue.path for issue in bad.value.issues] == ["rows[0].warehouse"]
    assert store.stock_version() == version


# --- rulesets and plans -------------------------------------------------------------------


def test_rulesets_are_versioned(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_ruleset()
    assert store.put_ruleset({"rules": [{"id": "r1"}]}) == 1
    assert store.put_ruleset({"rules": [{"id": "r2"}]}) == 2
    latest = store.get_ruleset()
    assert (latest.version, latest.body) == (2, {"rules": [{"id": "r2"}]})
    first = store.get_ruleset(1)
    assert (first.version, first.body) == (1, {"rules": [{"id": "r1"}]})
    with pytest.raises(NotFound) as missing:
        store.get_ruleset(9)
    assert missing.value.key == "9"


def test_plans_by_id(store: Store) -> None:
    plan = make_plan("p1", {("A", "S1"): 3})
    store.put_plan("p1", plan)
    assert store.get_plan("p1") == plan
    with pytest.raises(NotFound) as missing:
        store.get_plan("nope")
    assert (missing.value.what, missing.value.key) == ("plan", "nope")


def test_scenario_runs_by_id(store: Store) -> None:
    run = {"comparison": {"variants": [{"name": "base"}]}, "charts": {"kpis.png": "iVBO"}}
    store.put_scenario_run("r1", run)
    assert store.get_scenario_run("r1") == run
    with pytest.raises(NotFound) as missing:
        store.get_scenario_run("r2")
    assert (missing.value.what, missing.value.key) == ("scenario run", "r2")


# --- publishing ---------------------------------------------------------------------------


def test_publish_sets_the_published_quantities(store: Store) -> None:
    result = published_plan(store, {("A", "S1"): 4, ("B", "S1"): 6, ("A", "S2"): 0})
    assert result == PublishResult("p1", "key-1", 1, cells=3, units=10)
    assert store.published() == {("A", "S1"): 4, ("B", "S1"): 6, ("A", "S2"): 0}

    store.put_plan("p2", make_plan("p2", {("B", "S2"): 2}))
    second = store.publish("p2", "key-2", "hash-2", 1)
    assert (second.plan_id, second.units) == ("p2", 2)
    assert store.published() == {("B", "S2"): 2}, "a new plan replaces the old quantities"


def test_publish_is_idempotent(store: Store) -> None:
    first = published_plan(store, {("A", "S1"): 4})
    store.consume("A", "S1", 3)
    store.put_snapshot(SNAPSHOT)  # the replay is answered even though stock moved on
    assert store.publish("p1", "key-1", "hash-1", 1) == first
    assert store.published() == {("A", "S1"): 1}, "a replay publishes nothing again"


def test_publish_same_key_other_body_conflicts(store: Store) -> None:
    published_plan(store, {("A", "S1"): 4})
    with pytest.raises(IdempotencyConflict) as conflict:
        store.publish("p1", "key-1", "hash-other", 1)
    error = conflict.value
    assert (error.key, error.plan_id, error.body_hash, error.stored_hash) == (
        "key-1",
        "p1",
        "hash-other",
        "hash-1",
    )


def test_publish_on_older_stock_version_is_stale(store: Store) -> None:
    store.put_snapshot(SNAPSHOT)
    store.put_plan("p1", make_plan("p1", {("A", "S1"): 4}))
    store.patch_stock([{"sku": "S1", "warehouse": "W1", "on_hand": 2}], 1)
    with pytest.raises(StaleVersion) as stale:
        store.publish("p1", "key-1", "hash-1", 1)
    assert (stale.value.given, stale.value.current) == (1, 2)
    assert "plan 'p1'" in str(stale.value)
    assert store.published() == {}
    # A refused publish does not keep its key: the same key works on a fresh plan.
    assert store.publish("p1", "key-1", "hash-1", 2).stock_version == 2


def test_publish_unknown_plan(store: Store) -> None:
    store.put_snapshot(SNAPSHOT)
    with pytest.raises(NotFound) as missing:
        store.publish("nope", "key-1", "hash-1", 1)
    assert missing.value.key == "nope"


def test_concurrent_replays_return_one_result(store: Store) -> None:
    version = store.put_snapshot(SNAPSHOT)
    store.put_plan("p1", make_plan("p1", {("A", "S1"): 4}))

    def publish(i: int) -> Any:
        try:
            return store.publish("p1", "key-1", "hash-1" if i % 2 else "hash-2", version)
        except IdempotencyConflict as error:
            return error.stored_hash

    outcomes = run_together(20, publish)
    results = {o for o in outcomes if isinstance(o, PublishResult)}
    conflicts = {o for o in outcomes if isinstance(o, str)}
    assert len(results) == 1, "every winner of the key sees one stored result"
    # Whichever body came first owns the key; the other body always conflicts with it.
    owner = "hash-1" if sum(isinstance(o, PublishResult) for o in outcomes[1::2]) else "hash-2"
    assert conflicts == {owner}
    assert len([o for o in outcomes if isinstance(o, PublishResult)]) == 10


# --- orders -------------------------------------------------------------------------------


def test_consume_decrements_and_refuses_past_zero(store: Store) -> None:
    published_plan(store, {("A", "S1"): 5})
    assert store.consume("A", "S1", 2) == Consumed(left=3, from_shared=0)
    with pytest.raises(InsufficientStock) as short:
        store.consume("A", "S1", 4)
    error = short.value
    assert (error.shop, error.sku, error.requested, error.available) == ("A", "S1", 4, 3)
    assert store.published() == {("A", "S1"): 3}, "a refused order takes nothing"
    assert store.consume("A", "S1", 3).left == 0
    with pytest.raises(InsufficientStock) as empty:
        store.consume("A", "S1", 1)
    assert empty.value.available == 0
    assert store.published() == {("A", "S1"): 0}


def test_consume_errors(store: Store) -> None:
    published_plan(store, {("A", "S1"): 5})
    with pytest.raises(NotFound) as missing:
        store.consume("B", "S1", 1)
    assert missing.value.key == "B/S1"
    for quantity in (0, -1, 1.5, True):
        with pytest.raises(InputError):
            store.consume("A", "S1", quantity)  # type: ignore[arg-type]
    assert store.published() == {("A", "S1"): 5}


def test_orders_take_own_units_first_then_the_shared_part_the_shop_lists(store: Store) -> None:
    result = published_plan(store, {("A", "S1"): 2, ("B", "S1"): 1}, {"S1": (5, ["A", "B"])})
    assert (result.units, result.shared_units) == (3, 5)
    assert store.published_shared() == {"S1": SharedPart(5, ("A", "B"))}
    assert store.consume("A", "S1", 4) == Consumed(left=3, from_shared=2)
    assert store.published() == {("A", "S1"): 0, ("B", "S1"): 1}
    assert store.published_shared() == {"S1": SharedPart(3, ("A", "B"))}
    # B sees the same shared part, less what A's order took.
    with pytest.raises(InsufficientStock) as short:
        store.consume("B", "S1", 5)
    assert short.value.available == 4
    assert store.consume("B", "S1", 4) == Consumed(left=0, from_shared=3)
    assert store.published_shared() == {"S1": SharedPart(0, ("A", "B"))}


def test_a_shop_listing_only_the_shared_part_can_sell_it_others_cannot(
    store: Store,
) -> None:
    published_plan(store, {("A", "S1"): 1}, {"S2": (4, ["B"])})
    assert store.consume("B", "S2", 4) == Consumed(left=0, from_shared=4)
    with pytest.raises(NotFound):
        store.consume("A", "S2", 1)  # A does not list S2's shared part
    with pytest.raises(InsufficientStock):
        store.consume("A", "S1", 2)  # A's own unit only: S1 has no shared part
    assert store.published_shared() == {"S2": SharedPart(0, ("B",))}


def test_a_new_plan_replaces_the_shared_parts(store: Store) -> None:
    published_plan(store, {("A", "S1"): 1}, {"S1": (5, ["A", "B"])})
    version = store.put_snapshot(SNAPSHOT)
    store.put_plan("p2", make_plan("p2", {("A", "S1"): 2}))
    store.publish("p2", "key-2", "hash-2", version)
    assert store.published_shared() == {}
    with pytest.raises(NotFound):
        store.consume("B", "S1", 1)


def test_concurrent_orders_on_two_shops_never_oversell_the_shared_part(store: Store) -> None:
    published_plan(store, {("A", "S1"): 10, ("B", "S1"): 10}, {"S1": (30, ["A", "B"])})

    def order(i: int) -> int:
        shop = "AB"[i % 2]
        taken = 0
        for _attempt in range(5):
            try:
                store.consume(shop, "S1", 1)
            except InsufficientStock:
                continue
            taken += 1
        return taken

    assert sum(run_together(20, order)) == 50  # 20 x 5 asked, 10 + 10 + 30 there
    assert store.published() == {("A", "S1"): 0, ("B", "S1"): 0}
    assert store.published_shared() == {"S1": SharedPart(0, ("A", "B"))}


def test_50_concurrent_orders_take_exactly_the_published_quantity(store: Store) -> None:
    published = 120
    published_plan(store, {("A", "S1"): published})

    def order(_: int) -> tuple[int, int]:
        accepted = refused = 0
        for _attempt in range(5):
            try:
                left = store.consume("A", "S1", 1).left
            except InsufficientStock as error:
                assert error.available >= 0
                refused += 1
            else:
                assert left >= 0
                accepted += 1
        return accepted, refused

    outcomes = run_together(50, order)
    assert sum(a for a, _ in outcomes) == published
    assert sum(r for _, r in outcomes) == 50 * 5 - published
    assert store.published() == {("A", "S1"): 0}


def test_an_order_with_a_key_is_taken_once(store: Store) -> None:
    published_plan(store, {("A", "S1"): 5})
    first = store.consume("A", "S1", 2, "order-1", "hash-a")
    assert first == Consumed(left=3, from_shared=0)
    # The same key and body: the first answer again, nothing taken twice.
    assert store.consume("A", "S1", 2, "order-1", "hash-a") == first
    assert store.published() == {("A", "S1"): 3}
    with pytest.raises(IdempotencyConflict) as conflict:
        store.consume("A", "S1", 1, "order-1", "hash-b")
    error = conflict.value
    assert (error.key, error.plan_id, error.body_hash, error.stored_hash) == (
        "order-1",
        None,
        "hash-b",
        "hash-a",
    )
    assert "order" in str(error)
    assert store.published() == {("A", "S1"): 3}
    # Without a key every order is its own; another key is another order.
    assert store.consume("A", "S1", 1).left == 2
    assert store.consume("A", "S1", 1, "order-2", "hash-a").left == 1


def test_a_refused_order_keeps_no_key(store: Store) -> None:
    published_plan(store, {("A", "S1"): 1})
    with pytest.raises(InsufficientStock):
        store.consume("A", "S1", 2, "order-1", "hash-a")
    with pytest.raises(NotFound):
        store.consume("B", "S1", 1, "order-2", "hash-b")
    assert store.consume("A", "S1", 1, "order-1", "hash-c") == Consumed(left=0, from_shared=0)


def test_order_keys_are_not_publish_keys(store: Store) -> None:
    published_plan(store, {("A", "S1"): 5})  # published under "key-1"
    assert store.consume("A", "S1", 1, "key-1", "order-hash").left == 4
    assert store.publish("p1", "key-1", "hash-1", 1).plan_id == "p1"  # its replay


def test_concurrent_retries_of_one_order_take_it_once(store: Store) -> None:
    published_plan(store, {("A", "S1"): 100}, {"S1": (10, ["A"])})
    answers = run_together(20, lambda i: store.consume("A", "S1", 105, "order-x", "hash-x"))
    assert set(answers) == {Consumed(left=5, from_shared=5)}
    assert store.published() == {("A", "S1"): 0}
    assert store.published_shared() == {"S1": SharedPart(5, ("A",))}


# --- audit log --------------------------------------------------------------------------


def test_the_audit_log_is_newest_first(store: Store) -> None:
    assert store.audit_entries(10) == []
    for i in range(5):
        store.append_audit({"seq": i, "route": "/v1/orders"})
    assert [e["seq"] for e in store.audit_entries(3)] == [4, 3, 2]
    assert [e["seq"] for e in store.audit_entries(100)] == [4, 3, 2, 1, 0]
    assert store.audit_entries(0) == []


def test_the_audit_log_keeps_the_newest_entries_only(make_store: StoreFactory) -> None:
    keep = 20  # AUDIT_KEEP (10,000) by default; the same code path either way
    store = make_store()
    store.audit_keep = keep
    for i in range(keep + 25):
        store.append_audit({"seq": i})
    newest = store.audit_entries(keep + 100)
    assert len(newest) == keep
    assert newest[0]["seq"] == keep + 24 and newest[-1]["seq"] == 25
    assert make_store().audit_entries(keep) == newest, "kept across instances"


# --- concurrent writers -------------------------------------------------------------------


def test_concurrent_patches_on_one_version_have_one_winner(store: Store) -> None:
    version = store.put_snapshot(SNAPSHOT)

    def patch(i: int) -> int | StaleVersion:
        try:
            return store.patch_stock([{"sku": "S1", "warehouse": "W1", "on_hand": i}], version)
        except StaleVersion as error:
            return error

    outcomes = run_together(20, patch)
    wins = [o for o in outcomes if isinstance(o, int)]
    assert wins == [version + 1]
    assert all(o.current == version + 1 for o in outcomes if isinstance(o, StaleVersion))
    winner = outcomes.index(version + 1)
    assert store.get_snapshot().body["stock"][0]["on_hand"] == winner


def test_concurrent_patches_with_retries_lose_no_update(store: Store) -> None:
    start = store.put_snapshot(SNAPSHOT)

    def patch(i: int) -> int:
        while True:
            try:
                row = {"sku": f"N{i}", "warehouse": "W1", "on_hand": i}
                return store.patch_stock([row], store.stock_version())
            except StaleVersion:
                continue

    versions = run_together(20, patch)
    assert sorted(versions) == list(range(start + 1, start + 21))
    got = store.get_snapshot()
    assert got.version == start + 20
    assert {row["sku"] for row in got.body["stock"]} >= {f"N{i}" for i in range(20)}


# --- restart ------------------------------------------------------------------------------


def test_a_new_instance_sees_the_same_state(make_store: StoreFactory) -> None:
    store = make_store()
    published_plan(store, {("A", "S1"): 5})
    store.consume("A", "S1", 2)
    store.put_ruleset({"rules": []})
    peak = ModeSwitch(
        "peak", datetime(2024, 11, 10, 20, tzinfo=UTC), datetime(2024, 11, 12, tzinfo=UTC)
    )
    store.put_mode(peak)

    again = make_store()
    assert again.get_snapshot().version == 1
    assert again.get_ruleset().version == 1
    assert again.get_plan("p1")["plan_id"] == "p1"
    assert again.published() == {("A", "S1"): 3}
    assert again.get_mode() == peak
    with pytest.raises(IdempotencyConflict):
        again.publish("p1", "key-1", "hash-2", 1)


# --- mode -----------------------------------------------------------------------------------


def test_mode_defaults_to_normal_and_is_stored(store: Store) -> None:
    assert store.get_mode() == ModeSwitch()
    peak = ModeSwitch("peak", start=datetime(2024, 11, 10, 20, tzinfo=UTC))
    assert store.put_mode(peak) == peak
    assert store.get_mode() == peak
    store.put_mode(ModeSwitch("normal"))
    assert store.get_mode() == ModeSwitch()


def test_mode_is_validated() -> None:
    with pytest.raises(InputError) as bad:
        ModeSwitch("busy")  # type: ignore[arg-type]
    assert bad.value.issues[0].path == "mode"
    start = datetime(2024, 11, 12, tzinfo=UTC)
    with pytest.raises(InputError) as backwards:
        ModeSwitch("peak", start=start, end=start)
    assert backwards.value.issues[0].path == "end"
    with pytest.raises(InputError):
        ModeSwitch("peak", start=datetime(2024, 11, 12))
    assert ModeSwitch.from_json(ModeSwitch("peak", start=start).to_json()) == ModeSwitch(
        "peak", start=start
    )


def test_mode_change_reaches_a_subscriber(make_store: StoreFactory) -> None:
    store = make_store()
    # On Redis the subscriber is another connection, as another API worker would be.
    listener = make_store() if isinstance(store, RedisStore) else store
    received: list[ModeSwitch] = []
    arrived = threading.Event()

    def on_change(mode: ModeSwitch) -> None:
        received.append(mode)
        arrived.set()

    subscription = listener.subscribe(on_change)
    peak = ModeSwitch("peak", end=datetime(2024, 11, 12, tzinfo=UTC))
    began = time.monotonic()
    store.put_mode(peak)
    assert arrived.wait(1.0), "no broadcast within a second"
    assert time.monotonic() - began < 1.0
    assert received == [peak]

    subscription.close()
    arrived.clear()
    store.put_mode(ModeSwitch())
    assert not arrived.wait(0.2), "a closed subscription receives nothing"


def test_ping(store: Store) -> None:
    assert store.ping()


def test_a_watched_mode_follows_the_broadcast_of_another_connection(
    make_store: StoreFactory,
) -> None:
    writer = make_store()
    watcher = make_store() if isinstance(writer, RedisStore) else writer
    watcher.watch_mode(max_age_s=600)  # only the broadcast can tell it within the test
    assert watcher.mode_now() == ModeSwitch()
    writer.put_mode(ModeSwitch("peak"))
    deadline = time.monotonic() + 5
    while watcher.mode_now() != ModeSwitch("peak"):
        assert time.monotonic() < deadline, "the switch was not heard"
        time.sleep(0.01)


def test_a_watched_mode_is_read_again_once_it_is_too_old(make_store: StoreFactory) -> None:
    store = make_store()
    store.watch_mode(max_age_s=0.05)
    assert store.mode_now() == ModeSwitch()
    lost: list[Any] = []
    store.subscribe = lambda callback: lost.append(callback)  # type: ignore[method-assign]
    assert store._watch is not None
    store._watch.close()  # a dropped pub/sub connection: later broadcasts are lost
    store.put_mode(ModeSwitch("peak"))
    time.sleep(0.1)
    assert store.mode_now() == ModeSwitch("peak")
