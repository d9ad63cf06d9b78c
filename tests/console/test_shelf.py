"""A shop's shelf ranked from the latest plan in a real browser: the new order with each
product's move and reason; a brand viewer ranks its own brand's shops only; bad input is
a page naming the field."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import Served, sign_in


def test_rank_a_shop_and_see_the_moves_and_reasons(
    page: Page, served: Served, plan_id: str
) -> None:
    sign_in(page, served, served.operator)
    page.click("nav >> text=Shelf")
    expect(page.locator("main .hint").first).to_contain_text(plan_id)
    page.select_option("#shop", "jd-b2")
    page.fill("#slots", "8")
    page.click("main button[type=submit]")
    expect(page.locator("h2")).to_contain_text("jd-b2: 8 slots")
    rows = page.locator("table.moves tbody tr")
    assert rows.count() >= 8
    on_shelf = [rows.nth(i).locator("td").first.inner_text() for i in range(8)]
    assert on_shelf == [str(k) for k in range(1, 9)]  # the new order, slot by slot
    for i in range(rows.count()):  # every product has its move and a reason
        assert rows.nth(i).get_attribute("data-move") in {"up", "down", "same", "new", "out"}
        assert rows.nth(i).locator("td").last.inner_text().strip()


def test_a_brand_viewer_ranks_only_its_brand(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.viewer_b1)
    page.click("nav >> text=Shelf")
    shops = page.locator("#shop option").all_inner_texts()
    assert shops == sorted(["tm-b1", "jd-b1", "dy-b1", "pdd-b1"])
    page.click("main button[type=submit]")
    expect(page.locator("table.moves")).to_be_visible()
    answer = page.goto(served.url("/shelf?shop=tm-b2"))
    assert answer is not None and answer.status == 404
    assert page.locator("table.moves").count() == 0
    assert "tm-b2" in page.locator("main").inner_text() and "Traceback" not in page.content()


def test_bad_slots_is_a_page_naming_the_field(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.operator)
    answer = page.goto(served.url("/shelf?shop=tm-b1&slots=0"))
    assert answer is not None and answer.status == 422
    expect(page.locator("main")).to_contain_text("slots")
    answer = page.goto(served.url("/shelf?shop=tm-b1&slots=many"))
    assert answer is not None and answer.status == 422


def test_the_page_in_chinese(page: Page, served: Served, plan_id: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/lang/zh?back=/console/shelf?shop=tm-b1"))
    expect(page.locator("h1")).to_have_text("货架排序")
    expect(page.locator("table.moves thead")).to_contain_text("原因")
