"""A plan's stock pushed to the shops as a listing job, over the sandbox: only what
changed since it was last sent, a small rise held by the sync threshold, and what the
shops hold read back into the snapshot the two-way check reads."""

from __future__ import annotations

from typing import Any

from engine.checks.two_way import check_stock
from engine.core.io import parse_snapshot
from engine.core.snapshot import Snapshot
from engine.listing.jobstore import ItemState, JobStatus, ListingStore
from engine.listing.listed import drift, with_listed
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.planning.planner import make_plan
from engine.services import listings
from engine.services.catalog import Catalog
from rules.load import parse_ruleset
from tests.helpers import snapshot_data
from tests.listing.conftest import PLATFORMS
from tests.listing.jobs import (
    BRAND,
    FAST,
    TENANT,
    import_products,
    new_job,
    place,
    products,
)
from tests.listing.sandbox import running_sandbox

SHOPS = ("jd-s1", "pdd-s1")
RULES = {
    "rules": [
        {"id": "r-split", "type": "equal_split"},
        {"id": "r-sync", "type": "sync_threshold", "threshold": 5, "bands": [10]},
    ],
}


def _snapshot(on_hand: dict[str, int], listed: dict[tuple[str, str], int]) -> Snapshot:
    data: dict[str, Any] = snapshot_data(pools=on_hand, shops=((SHOPS[0], 1), (SHOPS[1], 2)))
    data["brands"] = [{"id": BRAND, "name": BRAND}]
    for shop in data["shops"]:
        shop["brand"] = BRAND
        shop["platform"] = shop["id"].split("-")[0]
    for sku in data["skus"]:
        sku["brand"] = BRAND
    data["listed"] = [
        {"sku": sku, "shop": shop, "quantity": units} for (sku, shop), units in listed.items()
    ]
    return parse_snapshot(data, "test snapshot")


def test_a_plan_is_pushed_then_only_its_changes_and_the_shops_read_back(
    catalog: Catalog,
) -> None:
    assert set(SHOPS) <= {f"{p}-s1" for p in PLATFORMS}
    import_products(catalog, products(2))  # B000 (B000-40, B000-41), B001 (...)
    codes = ["B000-40", "B000-41", "B001-40", "B001-41"]
    ruleset = parse_ruleset(RULES, "rules")
    config = SandboxConfig(
        limits={p: {"*": Limit(per_second=1000)} for p in PLATFORMS}, review=Review(polls=1)
    )
    with running_sandbox(config) as root:
        listings.run_job(place(catalog, root), TENANT, new_job(catalog, shops=list(SHOPS)), FAST)
        store = ListingStore(catalog.store.engine)

        # The first push sends every cell (nothing was sent before but the listing's 0s).
        first = _snapshot(dict.fromkeys(codes, 40), {})
        plan = make_plan(first, ruleset)
        preview, pushed = listings.preview_stock(catalog, store, TENANT, plan, first, ruleset)
        assert len(preview.items) == 4  # 2 shops x 2 products
        job = listings.create_job(store, TENANT, preview, "test", listings.held_summary(pushed))
        done = listings.run_job(place(catalog, root), TENANT, job.id, FAST)
        assert done.status == JobStatus.FINISHED
        assert {i.state for i in store.items(TENANT, job.id)} == {ItemState.UPDATED}
        sent = store.last_sent(TENANT, SHOPS)
        planned = {(a.shop, a.sku): a.quantity + a.shared for a in plan.allocations}
        assert sent == planned and set(sent.values()) == {20}

        # Read back into the snapshot: the check sees what the shops hold, no drift.
        read = listings.read_listed(place(catalog, root), catalog, TENANT, first)
        assert read.unread == {} and sorted(read.shops) == sorted(SHOPS)
        assert {(r.shop, r.sku): r.quantity for r in read.rows} == planned
        assert drift(sent, read.rows, shops=set(read.shops)) == []
        checked = with_listed(first, read.rows, read.shops)
        assert not [w for w in check_stock(checked, plan) if w.code == "oversell_risk"]

        # Stock moves: B000-40 +6 a shop (sent), B000-41 +2 a shop (held: below 5),
        # B001-40 -4 a shop (a fall: always sent), B001-41 unchanged (nothing to send).
        second = _snapshot(
            {"B000-40": 52, "B000-41": 44, "B001-40": 32, "B001-41": 40}, read_listed_of(read)
        )
        plan2 = make_plan(second, ruleset)
        preview2, pushed2 = listings.preview_stock(catalog, store, TENANT, plan2, second, ruleset)
        sent_cells = {(u.shop, sku) for u in pushed2.updates for sku in u.stock}
        assert sent_cells == {(s, c) for s in SHOPS for c in ("B000-40", "B001-40")}
        reasons = {(h.shop, h.sku): h.reason for h in pushed2.held}
        # The planner held the small rise at what is listed (target 22, listed 20), so
        # the push finds it unchanged, as it does the SKU that did not move.
        held = {(a.shop, a.sku): a for a in plan2.allocations if a.sku == "B000-41"}
        assert all(a.quantity == 20 and a.target == 22 for a in held.values())
        assert all(reasons[s, c] == "unchanged" for s in SHOPS for c in ("B000-41", "B001-41"))
        job2 = listings.create_job(store, TENANT, preview2, "test", {})
        listings.run_job(place(catalog, root), TENANT, job2.id, FAST)
        after = listings.read_listed(place(catalog, root), catalog, TENANT, second)
        listed = {(r.shop, r.sku): r.quantity for r in after.rows}
        assert all(listed[s, "B000-40"] == 26 and listed[s, "B001-40"] == 16 for s in SHOPS)
        assert all(listed[s, "B000-41"] == 20 for s in SHOPS)  # held: still the old 20


def read_listed_of(read: listings.ListedRead) -> dict[tuple[str, str], int]:
    """The snapshot's `listed` as (SKU, shop) -> units."""
    return {(r.sku, r.shop): r.quantity for r in read.rows}
