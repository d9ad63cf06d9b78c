"""A what-if scenario run from the console in a real browser: started from the form,
followed by its progress bar, read back as a KPI table and PNG charts; bad input is a
page naming the field; a brand viewer may neither read nor start one."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.conftest import Served, sign_in

SMALL_SCENARIO = """\
description: peak against today
variants:
  - name: peak
    mode: peak
"""

UNKNOWN_SHOP = """\
variants:
  - name: x
    overrides:
      - op: close_shop
        shop: nowhere
"""


def test_run_a_small_scenario_and_see_its_chart(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.click("nav >> text=Scenarios")
    page.fill("#yaml", SMALL_SCENARIO)
    page.check("#small")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/scenarios/[^/]+$"))
    expect(page.locator("table.kpis")).to_be_visible(timeout=60_000)
    header = page.locator("table.kpis thead")
    expect(header).to_contain_text("base")
    expect(header).to_contain_text("peak")
    assert page.locator("table.kpis tbody tr").count() >= 3
    charts = page.locator("figure.chart img")
    expect(charts).to_have_count(3)
    for i in range(3):  # each chart loaded as a real image, not a broken link
        charts.nth(i).scroll_into_view_if_needed()
        width = charts.nth(i).evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 100
    png = page.request.get(served.base + (charts.first.get_attribute("src") or ""))
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    assert png.body()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_shipped_scenario_runs_on_the_stored_data(page: Page, served: Served) -> None:
    # double11.yaml names demo files as its base: the console plays it on the stored ones.
    sign_in(page, served, served.operator)
    page.goto(served.url("/scenarios"))
    page.select_option("#shipped", "double11")
    page.check("#small")
    page.click("main button[type=submit]")
    expect(page.locator("table.kpis thead")).to_contain_text("peak-uplift", timeout=60_000)


def test_a_bad_scenario_is_a_page_naming_the_fault(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/scenarios"))
    page.fill("#yaml", UNKNOWN_SHOP)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Invalid input")
    expect(page.locator("main")).to_contain_text("nowhere")
    assert "Traceback" not in page.content()
    page.goto(served.url("/scenarios"))
    page.fill("#yaml", "variants: [unclosed")
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("not YAML")
    # Made small, baseline's 30-day uplift no longer fits: said, with the day at fault.
    page.goto(served.url("/scenarios"))
    page.select_option("#shipped", "baseline")
    page.check("#small")
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("day 29 is after the horizon (days 0..6)")


def test_a_brand_viewer_cannot_read_or_start_a_scenario(page: Page, served: Served) -> None:
    sign_in(page, served, served.viewer_b1)
    expect(page.locator("nav")).not_to_contain_text("Scenarios")
    answer = page.goto(served.url("/scenarios"))
    assert answer is not None and answer.status == 403
    assert page.locator("form textarea").count() == 0
    # A POST made by hand: refused before anything is read.
    refused = page.request.post(served.url("/scenarios"), form={"yaml": SMALL_SCENARIO})
    assert refused.status == 403
    assert page.request.get(served.url("/scenarios/nope")).status == 403


def test_the_page_in_chinese(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/lang/zh?back=/console/scenarios"))
    expect(page.locator("h1")).to_have_text("情景推演（what-if）")
    expect(page.locator("main button[type=submit]")).to_have_text("运行情景")


def test_an_unknown_run_is_a_404_page(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    answer = page.goto(served.url("/scenarios/no-such-run"))
    assert answer is not None and answer.status == 404
    assert "Traceback" not in page.content()
