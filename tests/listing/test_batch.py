"""Batch listing against the sandbox marketplace over real HTTP: every product x shop an
item with its own state, retries on transient faults only, review followed to the end,
nothing listed twice across a resumed run, refusals never sent, and a read-back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.listing.jobstore import ItemState, JobStatus, ListingStore
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.services import listings
from engine.services.catalog import Catalog
from tests.listing.conftest import PLATFORMS, connect_shop, running_shoe
from tests.listing.jobs import (
    BRAND,
    FAST,
    TENANT,
    import_products,
    new_job,
    place,
    products,
    read_all,
)
from tests.listing.sandbox import running_sandbox


def test_a_batch_lists_every_product_on_every_shop_through_faults(catalog: Catalog) -> None:
    import_products(catalog, products(6))
    config = SandboxConfig(
        limits={p: {"*": Limit(per_second=200)} for p in PLATFORMS},
        fail_rate=0.2,
        timeout_share=0.0,  # 5xx only: time-outs are the resume test's
        review=Review(polls=2),
        seed=3,
    )
    with running_sandbox(config) as root:
        job_id = new_job(catalog)
        job = listings.run_job(place(catalog, root), TENANT, job_id, FAST)
        assert job.status == JobStatus.FINISHED
        items = ListingStore(catalog.store.engine).items(TENANT, job_id)
        assert len(items) == 6 * len(PLATFORMS)
        assert {i.state for i in items} == {ItemState.ON_SALE}
        assert job.summary["readback"]["accuracy"] == 1.0
        assert job.summary["readback"]["items"] == len(items)
        # Every product once per shop, though 1 call in 5 failed.
        for platform in PLATFORMS:
            shop = connect_shop(root, platform, f"{platform}-s1")
            outer = [i.outer_id for i in read_all(shop)]
            assert sorted(outer) == sorted(set(outer)) and len(outer) == 6
        assert any(i.attempts > 1 for i in items)  # the faults were met and retried


def test_refused_items_are_never_sent_and_rejections_keep_the_reason(catalog: Catalog) -> None:
    worded = products(2, title="Stridewell 最便宜 跑鞋")  # a banned word: review rejects
    good = running_shoe("B009")
    attributes = {k: v for k, v in good.attributes.items() if k != "材质"}  # refused on most
    broken = good.model_copy(update={"brand": BRAND, "attributes": attributes})
    import_products(catalog, [*worded, broken])
    config = SandboxConfig(
        limits={p: {"*": Limit(per_second=200)} for p in PLATFORMS},
        banned_words=["最便宜"],
        review=Review(polls=1),
    )
    with running_sandbox(config) as root:
        job_id = new_job(catalog)
        listings.run_job(place(catalog, root), TENANT, job_id, FAST)
        stored = ListingStore(catalog.store.engine).items(TENANT, job_id)
        items = {(i.shop, i.outer_id): i for i in stored}
        refused = [i for i in items.values() if i.outer_id == "B009"]
        assert {i.state for i in refused} <= {ItemState.REFUSED, ItemState.ON_SALE}
        assert any(i.state == ItemState.REFUSED and i.field for i in refused)
        for item in refused:
            if item.state == ItemState.REFUSED:
                assert item.attempts == 0
                shop = connect_shop(root, item.platform, item.shop)
                assert shop.get("B009") is None  # never sent
        rejected = [i for i in items.values() if i.outer_id == "B000"]
        assert {i.state for i in rejected} == {ItemState.REJECTED}
        assert all("最便宜" in (i.reason or "") for i in rejected)


def test_a_price_below_its_floor_is_refused_before_any_call(catalog: Catalog) -> None:
    product = products(1)[0]
    skus = [s.model_copy(update={"floor_price": Decimal("300")}) for s in product.skus]
    import_products(catalog, [product.model_copy(update={"skus": skus})])
    code = skus[0].sku_code
    with running_sandbox() as root:
        preview = listings.preview_prices(
            catalog, TENANT, BRAND, {("jd-s1", code): Decimal("299.99")}
        )
        assert preview.refused == 1
        assert "below its floor 300" in (preview.items[0].refused_reason or "")
        store = ListingStore(catalog.store.engine)
        job = listings.create_job(store, TENANT, preview, "test", {})
        done = listings.run_job(place(catalog, root), TENANT, job.id, FAST)
        assert done.calls == 0


def test_a_payload_over_the_size_limit_is_refused_naming_its_size(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_products(catalog, products(1))
    monkeypatch.setattr(listings, "MAX_PAYLOAD_BYTES", 200)  # a listing is a few KB
    preview = listings.preview_publish(catalog, TENANT, BRAND, shops=["jd-s1"])
    (item,) = preview.items
    assert item.refused_field == "payload"
    assert "the limit is 200" in (item.refused_reason or "")
