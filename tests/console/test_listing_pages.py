"""Listing jobs from the console in a real browser, on a SQLite catalog database and a
sandbox marketplace on loopback (the one tests/listing runs): a listing previewed (what
would be listed, what our checks block, nothing sent), started once, followed to its
end and read item by item, then seen on the platform; a job cancelled and resumed after
confirmations; jobs and items paged and filtered; a brand viewer's cut; bad input as
pages naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from engine.catalog.model import Product
from engine.listing.jobstore import ItemState, JobStatus, ListingStore, NewItem
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.services import listings as service
from engine.services.catalog import Catalog, CatalogHandle, put_shops
from tests.console.conftest import sign_in
from tests.console.served import TENANT, Served, serve_console
from tests.listing.conftest import SHOP_SETTINGS, connect_shop, running_shoe
from tests.listing.sandbox import running_sandbox

SHOPS = [
    {"id": "tm-b1", "brand": "b1", "platform": "tmall", "settings": SHOP_SETTINGS},
    {"id": "jd-b1", "brand": "b1", "platform": "jd", "settings": SHOP_SETTINGS},
    {"id": "tm-b2", "brand": "b2", "platform": "tmall", "settings": SHOP_SETTINGS},
]
ENDED = re.compile("finished|cancelled|interrupted")
# A word the sandbox refuses at submission, as a platform refuses a banned word: our own
# checks do not know it, so only the platform's answer tells.
BANNED = "国家级"


def _products() -> list[Product]:
    """b1: P1, ready everywhere, and P2, without the material the schemas require;
    b2: Q1, ready, and Q2, whose title holds a word the platform refuses."""
    broken = running_shoe("P2")
    attributes = {k: v for k, v in broken.attributes.items() if k != "材质"}
    return [
        running_shoe("P1"),
        broken.model_copy(update={"attributes": attributes}),
        running_shoe("Q1").model_copy(update={"brand": "b2"}),
        running_shoe("Q2", f"Stridewell {BANNED}跑鞋").model_copy(update={"brand": "b2"}),
    ]


@dataclass
class World:
    served: Served
    catalog: Catalog
    listings: ListingStore
    root: str  # the sandbox marketplace


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The console with a catalog database holding b1's and b2's shops and products,
    and a sandbox marketplace (reviews end at once) as every shop's account, in the
    settings the listing job reads (its process's environment, as a worker's)."""
    folder = tmp_path_factory.mktemp("listings")
    handle = CatalogHandle(f"sqlite:///{folder / 'omnistock.db'}", migrate_now=True)
    catalog = handle.open()
    put_shops(catalog, TENANT, {"shops": SHOPS}, "test", "test")
    catalog.store.import_products(TENANT, _products(), "test", "test", None)
    roomy = {p: {"*": Limit(per_second=1000)} for p in ("tmall", "jd")}
    sandbox = SandboxConfig(review=Review(polls=0), limits=roomy, refused_words=[BANNED])
    with ExitStack() as stack:
        stack.callback(handle.close)
        root = stack.enter_context(running_sandbox(sandbox))
        env = stack.enter_context(pytest.MonkeyPatch.context())
        account = {"app_key": "sandbox-app", "app_secret": "sandbox-secret"}
        accounts = {
            "accounts": {"sandbox": {"base_url": f"{root}/{{platform}}", **account}},
            "default_account": "sandbox",
        }
        file = folder / "marketplaces.yaml"
        file.write_text(yaml.safe_dump(accounts))
        env.setenv("OMNISTOCK_MARKETPLACES_FILE", str(file))
        # A resumed run waits for the calls of the run before to land: the sandbox's.
        env.setenv("OMNISTOCK_LISTING_SETTLE_S", "0.5")
        with serve_console(100, catalog=handle) as served:
            yield World(served, catalog, ListingStore(catalog.store.engine), root)


def _preview(page: Page, world: World, brand: str, shops: str = "", skus: str = "") -> None:
    page.goto(world.served.url("/listings"))
    page.select_option("#brand", brand)
    page.fill("#shops", shops)
    page.fill("#skus", skus)
    page.click("form.start button[type=submit]")


def _posted(page: Page, world: World, selector: str) -> tuple[str, dict[str, str | float | bool]]:
    """A form's action and hidden fields, to post it again by hand."""
    form = page.locator(selector)
    fields: dict[str, str | float | bool] = {
        str(f.get_attribute("name")): str(f.get_attribute("value"))
        for f in form.locator("input[type=hidden]").all()
    }
    return world.served.base + (form.get_attribute("action") or ""), fields


def _queued_job(world: World, brand: str, items: int) -> str:
    """A job stored as POST /v1/listings stores it but never handed to the queue (a
    queue that refused it): queued until a resume runs it."""
    made = [NewItem(f"x-{brand}", f"X{n:04d}", "tmall", {}) for n in range(items)]
    record = world.listings.create_job(
        TENANT,
        f"job-{brand}-{items}",
        kind="publish",
        brand=brand,
        created_by="test",
        options={},
        items=made,
    )
    return record.id


@pytest.fixture(scope="module")
def listed(world: World, browser: Browser) -> str:
    """b1's products previewed, then listed on its shops by the confirmed job, followed
    to its end in the page: the job's id."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, world.served, world.served.operator)
    before = world.listings.jobs(TENANT, "b1")
    _preview(page, world, "b1")
    expect(page.locator("h1")).to_have_text("Preview: listing b1's products")
    expect(page.locator("[data-count=ready]")).to_have_text("2 items would be listed")
    expect(page.locator("[data-count=blocked]")).to_have_text("2 items are blocked by our checks")
    blocked = page.locator("table.blocked tr[data-item='tm-b1/P2']")
    expect(blocked).to_contain_text("props.材质")
    expect(blocked).to_contain_text("required field is missing")
    expect(page.locator("table.ready tr[data-item='jd-b1/P1']")).to_have_count(1)
    # The preview stored nothing and sent nothing.
    assert world.listings.jobs(TENANT, "b1") == before
    assert connect_shop(world.root, "tmall", "tm-b1").get("P1") is None
    action, fields = _posted(page, world, "form.confirm")
    page.click("form.confirm button[type=submit]")
    # The job's page, following the queue's job that runs it.
    page.wait_for_url(re.compile(r".*/console/listings/[0-9a-f]{32}\?run=[0-9a-f]+$"))
    listing_id = page.url.rsplit("/", 1)[1].split("?")[0]
    # The page follows the job (its script polls the progress) and shows its end.
    expect(page.locator("[data-status-now]")).to_have_attribute(
        "data-status-now", "finished", timeout=60_000
    )
    # The confirmation sent again is refused and makes no second job.
    again = page.request.post(action, form=fields)
    assert again.status == 409 and "already sent" in again.text()
    assert len(world.listings.jobs(TENANT, "b1")) == len(before) + 1
    context.close()
    return listing_id


def test_a_listing_is_previewed_started_and_followed_to_its_end(
    page: Page, world: World, listed: str
) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/listings/{listed}"))
    expect(page.locator("h1")).to_have_text("listing · b1")
    expect(page.locator("tr[data-shop=tm-b1]")).to_contain_text("2 / 2")
    on_sale = page.locator("table.items tr[data-item='tm-b1/P1']")
    expect(on_sale).to_have_attribute("data-state", "on_sale")
    expect(on_sale).to_contain_text("on sale")
    refused = page.locator("table.items tr[data-item='jd-b1/P2']")
    expect(refused).to_contain_text("Blocked by our checks")
    expect(refused).to_contain_text("field props.材质")
    expect(page.locator(".readback")).to_contain_text("100.0%")
    # A finished job is neither cancelled nor resumed.
    assert page.locator("form.cancel, form.resume").count() == 0
    job = world.listings.job(TENANT, listed)
    assert job.status is JobStatus.FINISHED and job.created_by != "test"
    # On the platform: P1 is listed on both shops, P2 never sent.
    for platform, shop in (("tmall", "tm-b1"), ("jd", "jd-b1")):
        market = connect_shop(world.root, platform, shop)
        assert market.get("P1") is not None and market.get("P2") is None
    # The list: the job's shops and its items counted.
    page.goto(world.served.url("/listings"))
    row = page.locator(f"table.listings tr[data-id='{listed}']")
    expect(row).to_contain_text("jd-b1, tm-b1")
    expect(row).to_contain_text("finished")
    counts = {
        name: row.locator(f"td[data-count={name}]").inner_text()
        for name in ("done", "failed", "held", "total")
    }
    assert counts == {"done": "2", "failed": "0", "held": "2", "total": "4"}


def test_the_platforms_refusal_is_shown_in_words(page: Page, world: World) -> None:
    sign_in(page, world.served, world.served.operator)
    _preview(page, world, "b2")
    expect(page.locator("[data-count=blocked]")).to_have_text("0 items are blocked by our checks")
    page.click("form.confirm button[type=submit]")
    expect(page.locator("[data-status-now]")).to_have_attribute(
        "data-status-now", "finished", timeout=60_000
    )
    listing_id = page.url.rsplit("/", 1)[1].split("?")[0]
    refused = page.locator("table.items tr[data-item='tm-b2/Q2']")
    expect(refused).to_have_attribute("data-state", "rejected")
    expect(refused.locator(".outcome strong")).to_have_text("A word the platform bans")
    expect(refused.locator(".reason")).to_contain_text(BANNED)
    [item] = world.listings.items(TENANT, listing_id, states=[ItemState.REJECTED])
    assert item.error == "banned_word" and item.platform_code
    expect(refused.locator(".outcome code")).to_have_text(item.platform_code)
    page.goto(world.served.url("/listings"))
    row = page.locator(f"table.listings tr[data-id='{listing_id}']")
    expect(row.locator("td[data-count=done]")).to_have_text("1")
    expect(row.locator("td[data-count=failed]")).to_have_text("1")
    expect(row.locator("td[data-count=held]")).to_have_text("0")


def test_items_are_filtered_by_state_and_shop(page: Page, world: World, listed: str) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/listings/{listed}"))
    page.select_option("#state", "refused")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table.items tbody tr")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.state)")) == {"refused"}
    page.select_option("#shop", "tm-b1")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-item", "tm-b1/P2")
    expect(page.locator(".page-of").first).to_contain_text("(1 rows)")


def test_a_job_is_cancelled_and_resumed_after_confirmations(
    page: Page, world: World, listed: str
) -> None:
    """A job of P1 on tm-b1 whose queue never took it (queued): cancelled at once after
    a confirmation, then resumed and run to its end on the sandbox."""
    preview = service.preview_publish(world.catalog, TENANT, "b1", shops=["tm-b1"], skus=["P1-40"])
    listing_id = service.create_job(world.listings, TENANT, preview, "test", {}).id
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/listings/{listing_id}"))
    page.click("form.cancel button")
    expect(page.locator(".confirm-what")).to_contain_text("Its 1 open items stay open")
    assert world.listings.job(TENANT, listing_id).status is JobStatus.QUEUED  # not yet
    action, fields = _posted(page, world, "main form")
    page.click("text=Cancel it now")
    expect(page.locator("[data-status-now]")).to_have_attribute("data-status-now", "cancelled")
    assert world.listings.job(TENANT, listing_id).status is JobStatus.CANCELLED
    assert page.request.post(action, form=fields).status == 409  # done once
    expect(page.locator(".notice")).to_contain_text("1 items are still open")
    page.click("form.resume button")
    expect(page.locator(".confirm-what")).to_contain_text("its 1 open items are sent")
    assert page.locator("[role=alert]").count() == 0  # no force for a cancelled job
    page.click("text=Resume it now")
    expect(page.locator("[data-status-now]")).to_have_attribute(
        "data-status-now", "finished", timeout=60_000
    )
    job = world.listings.job(TENANT, listing_id)
    assert job.status is JobStatus.FINISHED and not job.cancel_requested and job.runs == 1
    # P1 was already on the shop (the first job listed it): updated, not listed twice.
    [item] = world.listings.items(TENANT, listing_id)
    [first] = world.listings.items(TENANT, listed, shop="tm-b1", states=[ItemState.ON_SALE])
    assert item.state is ItemState.ON_SALE and item.item_id == first.item_id
    assert [i.outer_id for i in connect_shop(world.root, "tmall", "tm-b1").items()] == ["P1"]


def test_a_job_said_to_run_is_resumed_by_force_and_an_ended_one_not_cancelled(
    page: Page, world: World
) -> None:
    listing_id = _queued_job(world, "b2", 1)
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/listings/{listing_id}"))
    page.click("form.cancel button")  # the review of a cancel, confirmed below
    cancel_action, cancel_fields = _posted(page, world, "main form")
    page.goto(world.served.url(f"/listings/{listing_id}"))
    page.click("form.resume button")
    expect(page.locator("[role=alert]")).to_contain_text("still says queued")
    page.click("text=Resume it now")
    expect(page.locator("[data-status-now]")).to_have_attribute(
        "data-status-now", ENDED, timeout=60_000
    )
    assert world.listings.job(TENANT, listing_id).runs == 1
    # The job has ended since the cancel was reviewed: its confirmation is refused.
    world.listings.set_job(TENANT, listing_id, status="finished")
    refused = page.request.post(cancel_action, form=cancel_fields)
    assert refused.status == 409 and "already ended" in refused.text()


def test_jobs_and_items_are_paged(page: Page, world: World) -> None:
    big = _queued_job(world, "b3", 120)
    for n in range(50):
        _queued_job(world, "b4", n + 1)
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/listings/{big}"))
    expect(page.locator("table.items tbody tr")).to_have_count(50)
    page.locator("a[rel=next]").first.click()
    page.locator("a[rel=next]").first.click()
    expect(page.locator("table.items tbody tr")).to_have_count(20)
    expect(page.locator("table.items tbody tr").last).to_have_attribute("data-item", "x-b3/X0119")
    page.goto(world.served.url("/listings"))
    expect(page.locator("table.listings tbody tr")).to_have_count(50)
    total = len(world.listings.jobs(TENANT, None, 1000))
    expect(page.locator(".page-of").first).to_contain_text(f"({total} rows)")
    page.locator("a[rel=next]").first.click()
    expect(page.locator("table.listings tbody tr")).to_have_count(total - 50)
    expect(page.locator(f"tr[data-id='{big}']")).to_have_count(1)  # the oldest of b3/b4


def test_a_brand_viewer_reads_its_brands_jobs_only(page: Page, world: World, listed: str) -> None:
    served = world.served
    viewer_b2, _ = served.keys.create(TENANT, "brand_viewer", "b2")
    sign_in(page, served, viewer_b2)
    page.goto(served.url("/listings"))
    assert page.locator("main form").count() == 0  # no form for a reader
    brands = page.locator("table.listings tbody tr td:nth-child(2)").all_inner_texts()
    assert set(brands) <= {"b2"} and page.locator(f"tr[data-id='{listed}']").count() == 0
    answer = page.goto(served.url(f"/listings/{listed}"))
    assert answer is not None and answer.status == 404
    assert page.request.get(served.url(f"/listings/{listed}/progress")).status == 404
    assert page.request.post(served.url("/listings/preview"), form={"brand": "b2"}).status == 403
    assert page.request.post(served.url(f"/listings/{listed}/cancel/confirm")).status == 403
    assert page.request.post(served.url(f"/listings/{listed}/resume/confirm")).status == 403
    # b1's viewer reads it, with no cancel or resume and no form to start one.
    page.context.clear_cookies()
    sign_in(page, served, served.viewer_b1)
    page.goto(served.url(f"/listings/{listed}"))
    expect(page.locator("table.items tbody tr")).to_have_count(4)
    assert page.locator("main form[method=post]").count() == 0
    page.goto(served.url("/listings"))
    expect(page.locator(f"tr[data-id='{listed}']")).to_have_count(1)


@pytest.mark.parametrize(
    ("brand", "shops", "skus", "field"),
    [
        ("b2", "tm-b1", "", "shops[0]"),
        ("b1", "tm-b1 nope", "", "shops[1]"),
        ("b1", "", "NOPE-1", "skus[0]"),
        ("b1", "", "X" * 65, "skus[0]"),
    ],
)
def test_a_bad_form_is_a_page_naming_the_field(
    page: Page, world: World, brand: str, shops: str, skus: str, field: str
) -> None:
    sign_in(page, world.served, world.served.operator)
    before = len(world.listings.jobs(TENANT, None, 1000))
    _preview(page, world, brand, shops, skus)
    expect(page.locator("h1")).to_have_text("Invalid input")
    expect(page.locator("main")).to_contain_text(field)
    assert "Traceback" not in page.content()
    assert len(world.listings.jobs(TENANT, None, 1000)) == before


def test_bad_addresses_are_pages(page: Page, world: World, listed: str) -> None:
    served = world.served
    sign_in(page, served, served.operator)
    answer = page.goto(served.url("/listings/no-such-job"))
    assert answer is not None and answer.status == 404
    expect(page.locator("main")).to_contain_text("no-such-job")
    answer = page.goto(served.url(f"/listings/{listed}?state=sold"))
    assert answer is not None and answer.status == 422
    expect(page.locator("main")).to_contain_text("state")
    answer = page.goto(served.url("/listings?page=0"))
    assert answer is not None and answer.status == 422
    expect(page.locator("main")).to_contain_text("page")
    # A brand the catalog has no shops for, posted by hand past the form's choices.
    page.goto(served.url("/listings"))
    action, fields = _posted(page, world, "form.start")
    posted = page.request.post(action, form={**fields, "brand": "b9"})
    assert posted.status == 422 and "brand" in posted.text() and "b9" in posted.text()


def test_the_pages_in_chinese(page: Page, world: World, listed: str) -> None:
    sign_in(page, world.served, world.served.operator)
    page.goto(world.served.url(f"/lang/zh?back=/console/listings/{listed}"))
    expect(page.locator("h1")).to_have_text("上架 · b1")
    expect(page.locator("table.items tr[data-item='tm-b1/P2']")).to_contain_text("被我们的校验拦截")
    page.goto(world.served.url("/listings"))
    expect(page.locator("main form.start button[type=submit]")).to_have_text("预览（试运行）")
