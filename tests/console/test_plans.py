"""Plans in a real browser: make one (a job with a progress bar), see it per brand,
search, filter and page its table, open a SKU's explanation; a brand viewer sees its
brand only and cannot post."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from engine.services import plans
from tests.console.conftest import DEMO_SKUS, TENANT, Served, sign_in


def test_make_a_plan_follow_its_job_and_see_it(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.click("header nav a:has-text('Make a plan')")
    page.select_option("#mode", "")
    page.click("main button[type=submit]")
    # The job page follows the job (progress bar), then goes to the plan on its own.
    page.wait_for_url(re.compile(r".*/console/plans/plan-[0-9a-f]{16}$"), timeout=60_000)
    plan_id = page.url.rsplit("/", 1)[1]
    store = served.app.state.stores.get(TENANT)
    stored = plans.get_plan(store, plan_id, None)  # the job stored what the page shows
    expect(page.locator("h1")).to_contain_text(plan_id)
    expect(page.locator("p.hint")).to_contain_text("This is the plan of the stock as it is now.")
    first = page.locator("table.plan tbody tr").first
    sku = first.locator("td").first.inner_text()
    shops = page.locator("table.plan thead th").all_inner_texts()[3:]
    want = {a["shop"]: a["quantity"] for a in stored["plan"]["allocations"] if a["sku"] == sku}
    seen = [c.split()[0] for c in first.locator("td").all_inner_texts()[3:]]
    assert seen == [str(want[s]) if s in want else "-" for s in shops]
    # The plans page now names it as the latest, one card per brand.
    page.click("header nav a:has-text('Plans')")
    expect(page.locator("h2").first).to_contain_text(plan_id)
    expect(page.locator(".card h2")).to_have_text(["Brand b1", "Brand b2", "Brand b3"])


def test_the_table_searches_filters_and_pages(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    expect(page.locator(".page-of").first).to_have_text(re.compile(r"Page 1 of 2 · 7\d SKUs"))
    rows = page.locator("table.plan tbody tr")
    expect(rows).to_have_count(50)
    page.click("a[rel=next] >> nth=0")
    expect(page.locator(".page-of").first).to_contain_text("Page 2 of 2")
    page.fill("#q", "B1-001")
    page.click("form.filters button")
    expect(rows).to_have_count(10)  # B1-0010 .. B1-0019
    assert all(t.startswith("B1-001") for t in rows.locator("td:first-child").all_inner_texts())
    category = page.locator("#category option").nth(1).get_attribute("value")
    assert category
    page.fill("#q", "")
    page.select_option("#category", category)
    page.select_option("#shop", "tm-b1")
    page.click("form.filters button")
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {category}
    page.fill("#q", "no-such-sku")
    page.click("form.filters button")
    expect(page.locator(".notice")).to_have_text("No SKU matches these filters.")
    assert DEMO_SKUS == 200


def test_a_skus_page_explains_every_number(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/plans/{plan_id}?brand=b1"))
    page.click("table.plan tbody tr >> nth=0 >> a")
    expect(page.locator("h1")).to_have_text("SKU B1-0001")
    store = served.app.state.stores.get(TENANT)
    story = plans.explain(store, plan_id, "B1-0001", None)  # what the API's explain says
    expect(page.locator("ol.pool li")).to_have_text(story["pool_lines"])
    rows = page.locator("table.story tbody tr")
    expect(rows).to_have_count(len(story["cells"]))
    for row, cell in zip(rows.all(), story["cells"], strict=True):
        texts = row.locator("td").all_inner_texts()
        assert texts[0].split()[0] == cell["shop"]
        assert texts[1] == str(cell["quantity"]) and texts[4] == cell["why"]
    # Each binding rule is shown as the ruleset has it.
    expect(page.locator("dl.rules dt").first).to_contain_text("r-b1-")
    expect(page.locator("dl.rules pre").first).to_contain_text('"type"')


def test_a_brand_viewer_sees_its_brand_only_and_cannot_post(
    page: Page, served: Served, plan_id: str
) -> None:
    sign_in(page, served, served.viewer_b1)
    expect(page.locator("header nav a")).to_have_text(
        ["Plans", "Shelf", "Reports", "Catalog", "Listings", "Settlements"]
    )  # no forms
    expect(page.locator(".card h2")).to_have_text(["Brand b1"])
    answer = page.goto(served.url(f"/plans/{plan_id}?brand=b2"))
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    answer = page.goto(served.url(f"/plans/{plan_id}/skus/B2-0001"))
    assert answer is not None and answer.status == 404
    answer = page.goto(served.url(f"/plans/{plan_id}/skus/B1-0001"))
    assert answer is not None and answer.status == 200
    shops = page.locator("table.story tbody td:first-child").all_inner_texts()
    assert shops and all(s.split()[0].endswith("-b1") for s in shops)
    answer = page.goto(served.url("/plans/new"))
    assert answer is not None and answer.status == 403
    expect(page.locator(".problem")).to_contain_text("may only read")
    # A POST made by hand with the viewer's session is refused before anything is read.
    posted = page.request.post(served.url("/plans/new"), form={"mode": ""})
    assert posted.status == 403
    assert "Your key reads only (brand viewer): it cannot send this form." in posted.text()
