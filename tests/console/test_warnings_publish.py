"""Warnings (the two-way check) and publishing in a real browser: the check's counts by
severity with each fix, a brand viewer's warnings of its brand only; a publish done
once however often it is sent, and refused when the stock changed since the plan."""

from __future__ import annotations

from collections import Counter

from playwright.sync_api import Page, expect

from engine.checks.two_way import check_stock
from engine.core.io import parse_plan
from engine.demo import build_demo
from engine.services.plan_jobs import plan_now_or_job
from engine.services.plans import stored_plan
from engine.services.snapshots import stored_snapshot
from tests.console.conftest import TENANT, Served, sign_in


def _expected(served: Served, plan_id: str, brand: str | None) -> Counter[str]:
    store = served.app.state.stores.get(TENANT)
    document, meta = stored_plan(store, plan_id)
    _, snapshot = stored_snapshot(store)
    warnings = check_stock(snapshot, parse_plan(document, "plan"))
    skus = meta["brands"]["skus"]
    return Counter(str(w.severity) for w in warnings if brand in (None, skus[w.sku]))


def test_warnings_by_severity_with_their_fixes(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    page.click("a.warnings-link")
    expect(page.locator("h1")).to_have_text("Warnings")
    want = _expected(served, plan_id, None)
    assert sum(want.values()) > 0
    for severity in ("high", "medium", "low"):
        count = page.locator(f"[data-count={severity}]")
        expect(count).to_have_text(str(want.get(severity, 0)))
    first = page.locator("table.warnings").first
    expect(first).to_have_attribute("data-severity", "high")  # the worst first
    fixes = first.locator("tbody td:nth-child(5)").all_inner_texts()
    assert fixes and all(fix.strip() for fix in fixes)
    page.select_option("#code", "oversell_risk")
    page.click("form.filters button")
    codes = set(page.locator("table.warnings tbody td:nth-child(3)").all_inner_texts())
    assert codes == {"oversell_risk"}


def test_a_brand_viewer_sees_its_brands_warnings_only(
    page: Page, served: Served, plan_id: str
) -> None:
    sign_in(page, served, served.viewer_b1)
    page.goto(served.url(f"/plans/{plan_id}/warnings"))
    want = _expected(served, plan_id, "b1")
    expect(page.locator("[data-count=high]")).to_have_text(str(want.get("high", 0)))
    skus = page.locator("table.warnings tbody td:first-child").all_inner_texts()
    assert skus and all(sku.startswith("B1-") for sku in skus)
    expect(page.locator("form.publish")).to_have_count(0)
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    expect(page.locator("form.publish")).to_have_count(0)  # no publish offered
    other = served.url(f"/plans/{plan_id}/compare?brand=b2&other={plan_id}")
    assert page.goto(other).status == 404  # type: ignore[union-attr]
    mine = served.url(f"/plans/{plan_id}/compare?brand=b1&other={plan_id}")
    assert page.goto(mine).status == 200  # type: ignore[union-attr]
    expect(page.locator(".notice")).to_have_text(
        "The two plans give this brand's shops the same quantities."
    )


def test_a_plan_is_published_once(page: Page, served: Served, plan_id: str) -> None:
    store = served.app.state.stores.get(TENANT)
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    page.click("form.publish button")
    expect(page.locator("h1")).to_have_text("Published")
    receipt = page.locator(".done").inner_text()
    assert f"Plan {plan_id} is published for orders" in receipt
    (shop, sku), units = next((cell, n) for cell, n in store.published().items() if n > 1)
    store.consume(shop, sku, 1)  # an order takes a unit of what was published
    # Published again from a fresh page (another form): the first receipt, nothing redone.
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    page.click("form.publish button")
    expect(page.locator(".done")).to_have_text(receipt)
    assert store.published()[(shop, sku)] == units - 1  # the order's unit stays taken


def test_a_plan_made_before_the_stock_changed_is_not_published(page: Page, served: Served) -> None:
    tenant = "stale-stock"  # a tenant of its own: the stock changes under its plan
    store = served.app.state.stores.get(tenant)
    snapshot, rules = build_demo(skus=100)
    store.put_snapshot({**snapshot, "tenant": tenant})
    store.put_ruleset(rules)
    state = served.app.state
    view = plan_now_or_job(store, state.jobs, None, "now", state.settings)
    assert isinstance(view, dict)
    key, _ = served.keys.create(tenant, "operator")
    sign_in(page, served, key)
    page.goto(served.url(f"/plans/{view['plan_id']}"))
    row = snapshot["stock"][0]
    store.patch_stock([{**row, "on_hand": row["on_hand"] + 5}], 1)
    page.click("form.publish button")
    expect(page.locator("h1")).to_have_text("Conflict")
    expect(page.locator(".problem")).to_contain_text(
        "stock version 1 is not the current one; current version is 2"
    )
    assert store.published() == {}


def test_the_plan_table_filters_by_warning(page: Page, served: Served, plan_id: str) -> None:
    store = served.app.state.stores.get(TENANT)
    document, meta = stored_plan(store, plan_id)
    _, snapshot = stored_snapshot(store)
    warned = {
        w.sku
        for w in check_stock(snapshot, parse_plan(document, "plan"))
        if w.severity == "high" and meta["brands"]["skus"][w.sku] == "b2"
    }
    assert 0 < len(warned) <= 50  # one page of the small demo
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b2"))
    page.select_option("#warning", "high")
    page.click("form.filters button")
    skus = page.locator("table.plan tbody td:first-child").all_inner_texts()
    assert set(skus) == warned


def test_a_plan_compared_with_the_plan_published_last(
    page: Page, served: Served, plan_id: str
) -> None:
    store = served.app.state.stores.get(TENANT)
    state = served.app.state
    peak = plan_now_or_job(store, state.jobs, "peak", "now", state.settings)
    assert isinstance(peak, dict) and peak["plan_id"] != plan_id
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b3"))
    page.click("form.publish button")  # published (again: the same receipt)
    page.goto(served.url(f"/plans/{peak['plan_id']}?brand=b3"))
    page.click("a.compare-link")
    key_id = served.operator.split("_")[1]
    expect(page.locator("p.hint")).to_contain_text(f"{plan_id} was published by key {key_id}")

    def cells(view_plan: str) -> dict[tuple[str, str], int]:
        document, meta = stored_plan(store, view_plan)
        return {
            (a["sku"], a["shop"]): a["quantity"]
            for a in document["allocations"]
            if meta["brands"]["skus"][a["sku"]] == "b3"
        }

    before, after = cells(plan_id), cells(peak["plan_id"])
    differ = {k for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0)}
    moved = sum(abs(after.get(k, 0) - before.get(k, 0)) for k in differ)
    expect(page.locator(".summary")).to_have_text(
        f"{len(differ)} cells differ; {moved} units move."
    )
    first = page.locator("table.compare tbody tr").first.locator("td").all_inner_texts()
    sku, shop = first[0], first[1]
    assert first[2:] == [
        str(before.get((sku, shop), 0)),
        str(after.get((sku, shop), 0)),
        f"{after.get((sku, shop), 0) - before.get((sku, shop), 0):+d}",
    ]
