"""The catalog pages in a real browser, on a SQLite catalog database holding the catalog
demo (its products and shops, as `omnistock catalog import` / `catalog shops` load
them): completeness per platform and the blockers as GET /v1/catalog/completeness gives
them, filters, paging and the code search; a product's page with exactly what blocks it
per platform; a restore through its confirmation step, done once; a brand viewer's
limits; bad input as pages naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import FilePayload, Locator, Page, expect

from engine.catalog.demo import write_catalog
from engine.demo import DEFAULT_SEED, build_demo
from engine.services import catalog as service
from engine.services.catalog import CatalogHandle
from tests.console.conftest import sign_in
from tests.console.served import TENANT, Served, serve_console

SKUS = 200


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The console over the demo, its catalog imported into a SQLite database."""
    folder = tmp_path_factory.mktemp("catalog")
    snapshot, _ = build_demo(skus=SKUS)
    catalog_file, shops_file, _ = write_catalog(folder, snapshot, DEFAULT_SEED)
    handle = CatalogHandle(f"sqlite:///{folder / 'omnistock.db'}", migrate_now=True)
    catalog = handle.open()
    service.import_file(catalog, TENANT, catalog_file, "test")
    shops = yaml.safe_load(shops_file.read_text(encoding="utf-8"))
    service.put_shops(catalog, TENANT, shops, "test", "shops.yaml")
    try:
        with serve_console(SKUS, catalog=handle) as running:
            yield running
    finally:
        handle.close()


def api(served: Served, path: str, key: str | None = None, **params: Any) -> Any:
    """An answer of the HTTP API (what the pages must agree with)."""
    headers = {"Authorization": f"Bearer {key or served.operator}"}
    answer = httpx.get(served.base + "/v1/catalog" + path, headers=headers, params=params)
    answer.raise_for_status()
    return answer.json()


def blocked_rows(served: Served, **params: Any) -> list[dict[str, Any]]:
    return list(api(served, "/completeness/products", ready="false", limit=1000, **params)["items"])


def hidden_fields(form: Locator) -> dict[str, str | float | bool]:
    """A form's hidden fields as the browser would post them."""
    return {
        str(f.get_attribute("name")): str(f.get_attribute("value"))
        for f in form.locator("input[type=hidden]").all()
    }


def issues_on_page(page: Page, platform: str) -> list[tuple[str, ...]]:
    """(field, rule, message) of each issue the product's page lists for `platform`."""
    rows = page.locator(f"table.issues[data-platform={platform}] tbody tr").all()
    return [tuple(r.locator("td").all_inner_texts()[:3]) for r in rows]


def summary_on_page(page: Page) -> dict[str, tuple[int, int, int]]:
    """Platform -> (checked, complete, blocked) as the page shows them."""
    shown = {}
    for row in page.locator("table.completeness tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        shown[cells[0]] = (int(cells[2]), int(cells[3]), int(cells[4]))
    return shown


def test_completeness_per_platform_is_the_apis(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog"))
    expect(page.locator("h1")).to_have_text("Catalog")
    report = api(served, "/completeness")
    expected = {
        s["platform"]: (s["products"], s["ready"], s["products"] - s["ready"])
        for s in report["platforms"]
    }
    assert summary_on_page(page) == expected
    assert any(blocked for _, _, blocked in expected.values())  # the demo has gaps
    # Each platform's shops are named beside it.
    shops = api(served, "/shops")["shops"]
    tmall = page.locator("table.completeness tr[data-platform=tmall] td").nth(1).inner_text()
    assert set(tmall.split(", ")) == {s["id"] for s in shops if s["platform"] == "tmall"}
    # The commonest blockers, in the API's order, with the products they stop.
    rows = page.locator("table.blockers tbody tr")
    assert rows.count() == min(20, len(report["blockers"]))
    for i, blocker in enumerate(report["blockers"][:3]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:4] == [
            blocker["platform"],
            blocker["field"],
            blocker["rule"],
            str(blocker["products"]),
        ]


def test_a_blocker_example_leads_to_what_blocks_the_product(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog"))
    first = page.locator("table.blockers tbody tr").first
    platform, field = (
        first.locator("td").nth(0).inner_text(),
        first.locator("td").nth(1).inner_text(),
    )
    example = first.locator("td a").first
    brand, spu = example.inner_text().split("/")
    example.click()
    expect(page.locator("h1")).to_contain_text(f"{brand}/{spu}")
    # Exactly the API's issues of the product on that platform, with the rule's message.
    (row,) = [
        r for r in blocked_rows(served, brand=brand, platform=platform) if r["spu_code"] == spu
    ]
    shown = issues_on_page(page, platform)
    assert shown == [(i["field"], i["rule"], i["message"]) for i in row["issues"]]
    assert any(re.sub(r"\[[^\]]*\]", "[]", f) == field for f, _, _ in shown)
    check = page.locator(f"table.checks tr[data-platform={platform}]")
    expect(check).to_have_attribute("data-ok", "false")
    expect(check).to_contain_text(f"blocked ({len(row['issues'])})")


def test_filters_and_pages(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog"))
    page.fill("#brand", "b2")
    page.select_option("#platform", "tmall")
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Catalog · b2")
    report = api(served, "/completeness", brand="b2", platform="tmall")
    (only,) = report["platforms"]
    assert summary_on_page(page) == {
        "tmall": (only["products"], only["ready"], only["products"] - only["ready"])
    }
    products = page.locator("table.products tbody tr")
    assert products.count() > 0
    assert set(products.locator("td:first-child").all_inner_texts()) == {"b2"}
    assert page.locator("table.products thead th").last.inner_text() == "tmall"
    # Every product's tmall cell as the API has it.
    blocked = {r["spu_code"] for r in blocked_rows(served, brand="b2", platform="tmall")}
    for row in products.all()[:10]:
        spu = row.get_attribute("data-spu")
        cell = row.locator("td[data-platform=tmall]")
        expect(cell).to_have_attribute("data-ok", "false" if spu in blocked else "true")
    # The whole tenant is more than a page: 50 a page, in the API's order.
    page.goto(served.url("/catalog"))
    listed = api(served, "/products", limit=100)
    total = listed["total"]
    assert total > 50
    expect(page.locator(".pager .page-of").first).to_contain_text(f"{total} products")
    assert page.locator("table.products tbody tr").count() == 50
    page.locator("a[rel=next]").first.click()
    expect(page.locator(".pager .page-of").first).to_contain_text("page 2 of")
    second = page.locator("table.products tbody tr").first.get_attribute("data-spu")
    assert second == listed["items"][50]["product"]["spu_code"]


def test_the_blocked_products_of_a_platform(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog?brand=b1"))
    page.click("table.completeness tr[data-platform=tmall] td[data-col=blocked] a")
    expect(page.locator("h2").last).to_have_text("Blocked products on tmall")
    expected = blocked_rows(served, brand="b1", platform="tmall")
    shown = page.locator("table.blocked tbody tr")
    expect(shown).to_have_count(min(50, len(expected)))
    for row, want in zip(shown.all(), expected, strict=False):
        cells = row.locator("td").all_inner_texts()
        assert cells[:3] == [want["brand"], want["spu_code"], "tmall"]
        assert cells[4] == "; ".join(f"{i['field']} {i['rule']}" for i in want["issues"])
    # A row leads to the product's page, where tmall says what blocks it.
    shown.first.locator("a").click()
    expect(page.locator("table.checks tr[data-platform=tmall]")).to_have_attribute(
        "data-ok", "false"
    )
    assert page.url.endswith("#blocks-tmall")


def _holders(served: Served, part: str) -> list[str]:
    """The SPU codes of the products whose SPU or a SKU code holds `part` (any case),
    read from the whole of GET /v1/catalog/products."""
    found: list[str] = []
    offset = 0
    while True:
        listed = api(served, "/products", limit=1000, offset=offset)
        for item in listed["items"]:
            product = item["product"]
            codes = [product["spu_code"], *(s["sku_code"] for s in product["skus"])]
            if any(part.lower() in c.lower() for c in codes):
                found.append(product["spu_code"])
        offset += len(listed["items"])
        if offset >= listed["total"] or not listed["items"]:
            return found


def test_search_by_sku_or_spu_code(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    item = api(served, "/products", brand="b3", limit=1, offset=3)["items"][0]["product"]
    sku = item["skus"][-1]["sku_code"]
    # A whole code, and a part of one in lower case: the products holding it.
    for code in (sku, item["spu_code"], sku[:-1].lower()):
        page.goto(served.url("/catalog"))
        page.fill("#q", code)
        page.click("main form button[type=submit]")
        expect(page.locator("table.products")).to_be_visible()
        rows = page.locator("table.products tbody tr").all()
        shown = [str(r.get_attribute("data-spu")) for r in rows]
        assert item["spu_code"] in shown
        assert sorted(shown) == sorted(_holders(served, code)), code
    page.goto(served.url("/catalog?q=NO-SUCH-CODE"))
    expect(page.locator("[role=status]")).to_contain_text("NO-SUCH-CODE")
    assert page.locator("table.products").count() == 0
    # LIKE's wildcards are taken as themselves.
    page.goto(served.url("/catalog?q=%25"))
    assert page.locator("table.products").count() == 0


def _title_only_blocked(served: Served) -> dict[str, Any]:
    """A b1 product that only its title keeps off tmall."""
    for row in blocked_rows(served, brand="b1", platform="tmall"):
        if {i["field"] for i in row["issues"]} == {"title"}:
            return row
    raise AssertionError("the demo has no product blocked by its title alone")


def test_a_restore_after_a_confirmation_is_done_once(page: Page, served: Served) -> None:
    row = _title_only_blocked(served)
    brand, spu = row["brand"], row["spu_code"]
    first = api(served, f"/products/{brand}/{spu}")
    # A fix through the API: a short title makes it ready on tmall (version 2).
    fixed = {**first["product"], "title": "Short title"}
    headers = {"Authorization": f"Bearer {served.operator}"}
    answer = httpx.post(
        served.base + "/v1/catalog/products", json={"products": [fixed]}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    sign_in(page, served, served.operator)
    page.goto(served.url(f"/catalog/{brand}/{spu}"))
    expect(page.locator("table.checks tr[data-platform=tmall]")).to_have_attribute(
        "data-ok", "true"
    )
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    # The restore button's form with its version changed by hand: refused.
    button = page.locator("table.history tr[data-version='1'] form")
    forged = {**hidden_fields(button), "version": "2"}
    posted = page.request.post(served.url(f"/catalog/{brand}/{spu}/restore"), form=forged)
    assert posted.status == 400 and "changed after the page made it" in posted.text()
    # Restoring v1: a review naming what changes, nothing written yet.
    page.click("table.history tr[data-version='1'] button")
    expect(page.locator("h1")).to_have_text("Restore a version")
    expect(page.locator("ul.changes")).to_have_text("title")
    assert api(served, f"/products/{brand}/{spu}")["version"] == 2
    confirm = page.locator("main form")
    action = served.base + (confirm.get_attribute("action") or "")
    fields = hidden_fields(confirm)
    page.click("text=Restore version 1")
    expect(page.locator("[role=status]")).to_contain_text("Version 1 restored")
    now = api(served, f"/products/{brand}/{spu}")
    assert (now["version"], now["product"], now["source"]) == (3, first["product"], "restore of v1")
    expect(page.locator("table.checks tr[data-platform=tmall]")).to_have_attribute(
        "data-ok", "false"
    )
    # The confirmation sent again: refused, no fourth version.
    again = page.request.post(action, form=fields)
    assert again.status == 409 and "already sent" in again.text()
    history = api(served, f"/products/{brand}/{spu}/history")
    assert [v["version"] for v in history] == [3, 2, 1]
    # An older version is readable on its own page.
    page.goto(served.url(f"/catalog/{brand}/{spu}?version=2"))
    expect(page.locator("dl.product")).to_contain_text("Short title")
    expect(page.locator("[role=status]")).to_contain_text("the current one is version 3")


def test_a_brand_viewer_reads_its_brand_only(page: Page, served: Served) -> None:
    sign_in(page, served, served.viewer_b1)
    page.goto(served.url("/catalog"))
    report = api(served, "/completeness", key=served.viewer_b1)
    assert summary_on_page(page) == {
        s["platform"]: (s["products"], s["ready"], s["products"] - s["ready"])
        for s in report["platforms"]
    }
    assert set(page.locator("table.products tbody td:first-child").all_inner_texts()) == {"b1"}
    assert page.locator("#brand").count() == 0  # no brand to choose
    refused = page.goto(served.url("/catalog?brand=b2"))
    assert refused is not None and refused.status == 403
    other = api(served, "/products", brand="b2", limit=1)["items"][0]["product"]
    path = f"/catalog/b2/{other['spu_code']}"
    missing = page.goto(served.url(path))
    assert missing is not None and missing.status == 404
    # Its own product: no restore button; a restore posted by hand is refused.
    mine = api(served, "/products", brand="b1", limit=1)["items"][0]["product"]
    own = f"/catalog/b1/{mine['spu_code']}"
    page.goto(served.url(own))
    expect(page.locator("table.history")).to_be_visible()
    assert page.locator("main form").count() == 0
    for target in (own, path):
        posted = page.request.post(served.url(target + "/restore/confirm"), form={"version": "1"})
        assert posted.status == 403


def test_bad_input_is_a_page_naming_the_field(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    for query, named in (
        ("?platform=nope", "platform"),
        ("?page=abc", "page"),
        ("?q=" + "x" * 65, "q"),
    ):
        answer = page.goto(served.url("/catalog" + query))
        assert answer is not None and answer.status == 422, query
        expect(page.locator("h1")).to_have_text("Invalid input")
        expect(page.locator("main")).to_contain_text(named)
        assert "Traceback" not in page.content()
    page.goto(served.url("/catalog?brand=zz"))
    expect(page.locator("main .notice").first).to_have_text(
        "Brand zz has no products in the catalog."
    )
    assert page.locator("table.products").count() == 0
    answer = page.goto(served.url("/catalog/b1/NO-SUCH-SPU"))
    assert answer is not None and answer.status == 404
    expect(page.locator("main")).to_contain_text("b1/NO-SUCH-SPU")
    mine = api(served, "/products", brand="b1", limit=1)["items"][0]["product"]
    own = f"/catalog/b1/{mine['spu_code']}"
    for version, status in (("0", 422), ("99", 404), ("x", 422)):
        answer = page.goto(served.url(f"{own}?version={version}"))
        assert answer is not None and answer.status == status, version
    # A restore form without its token, or with its version changed: refused.
    posted = page.request.post(served.url(own + "/restore"), form={"version": "1"})
    assert posted.status == 400 and "security token" in posted.text()


def test_the_pages_in_chinese(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/lang/zh?back=/console/catalog"))
    expect(page.locator("h1")).to_have_text("商品资料")
    expect(page.locator("table.completeness thead th").first).to_have_text("平台")


HEADER = "品牌,款号,商品标题,类目,商家编码,规格,吊牌价\n"


def _upload(page: Page, name: str, body: str) -> None:
    upload: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": body.encode()}
    page.set_input_files("#file", files=[upload])
    page.click("main form button[type=submit]")


def test_a_products_file_imports_from_the_form(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog"))
    page.click("text=Import a products file")
    before = api(served, "/products", brand="b1", limit=1)["total"]
    rows = (
        "b1,B1-UPLOAD-1,Stridewell Running 跑步鞋 上新,鞋靴 > 跑步鞋,B1-UP-42,尺码=42,879.00\n"
        "b1,B1-UPLOAD-1,Stridewell Running 跑步鞋 上新,鞋靴 > 跑步鞋,B1-UP-43,尺码=43,879.00\n"
    )
    _upload(page, "new.csv", HEADER + rows)
    expect(page.locator("[role=status]")).to_contain_text(
        "Imported import new.csv: 1 products, 2 SKUs"
    )
    expect(page.locator("li[data-outcome=created]")).to_have_text("1 new")
    assert api(served, "/products", brand="b1", limit=1)["total"] == before + 1
    stored = api(served, "/products/b1/B1-UPLOAD-1")
    assert [s["sku_code"] for s in stored["product"]["skus"]] == ["B1-UP-42", "B1-UP-43"]
    # The same file again: nothing new, said so.
    _upload(page, "new.csv", HEADER + rows)
    expect(page.locator("li[data-outcome=unchanged]")).to_have_text("1 unchanged")
    assert api(served, "/products/b1/B1-UPLOAD-1")["version"] == 1
    # The new product's page says what keeps it off each platform (no images, ...),
    # as the API has it.
    page.goto(served.url("/catalog/b1/B1-UPLOAD-1"))
    checked = api(served, "/completeness/products", brand="b1", limit=1000)["items"]
    mine = [r for r in checked if r["spu_code"] == "B1-UPLOAD-1"]
    assert mine and not any(r["ok"] for r in mine)
    for row in mine:
        assert issues_on_page(page, row["platform"]) == [
            (i["field"], i["rule"], i["message"]) for i in row["issues"]
        ]


def test_a_bad_file_names_its_rows_and_imports_nothing(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog/import"))
    before = api(served, "/products", limit=1)["total"]
    bad = (
        "b2,B2-UPLOAD-1,Good 跑步鞋,鞋靴 > 跑步鞋,B2-UP-1,尺码=42,879.00\n"
        "b2,B2-UPLOAD-1,Good 跑步鞋,鞋靴 > 跑步鞋,B2-UP-2,尺码=43,abc\n"
        "b2,,No SPU,鞋靴,B2-UP-3,,10\n"
    )
    _upload(page, "bad.csv", HEADER + bad)
    expect(page.locator("[role=alert]")).to_contain_text("Nothing was imported: 2 problem(s)")
    issues = page.locator("ul.import-issues li").all_inner_texts()
    assert any("row 3, column '吊牌价'" in i and "'abc'" in i for i in issues), issues
    assert any("row 4, column '款号'" in i for i in issues), issues
    assert api(served, "/products", limit=1)["total"] == before
    # No file chosen: the field named; the form sent twice: done once.
    form = page.locator("main form")
    fields: dict[str, str | float | bool | bytes | FilePayload] = {**hidden_fields(form)}
    answer = page.request.post(served.url("/catalog/import"), multipart=fields)
    assert answer.status == 422 and "choose a CSV or XLSX file" in answer.text()
    again = page.request.post(served.url("/catalog/import"), multipart=fields)
    assert again.status == 409


def test_a_file_name_with_a_path_is_refused_and_nothing_written(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/catalog/import"))
    before = api(served, "/products", limit=1)["total"]
    rows = "b2,B2-ESCAPE-1,Good 跑步鞋,鞋靴 > 跑步鞋,B2-ES-1,尺码=42,879.00\n"
    upload: FilePayload = {
        "name": "../escape.csv",
        "mimeType": "text/csv",
        "buffer": (HEADER + rows).encode(),
    }
    fields: dict[str, str | float | bool | bytes | FilePayload] = {
        **hidden_fields(page.locator("main form")),
        "file": upload,
    }
    answer = page.request.post(served.url("/catalog/import"), multipart=fields)
    assert answer.status == 422 and "a file name has no path separator" in answer.text()
    assert api(served, "/products", limit=1)["total"] == before


def test_a_brand_viewer_imports_nothing(page: Page, served: Served) -> None:
    sign_in(page, served, served.viewer_b1)
    page.goto(served.url("/catalog"))
    assert page.locator("text=Import a products file").count() == 0
    answer = page.goto(served.url("/catalog/import"))
    assert answer is not None and answer.status == 403
    upload: FilePayload = {"name": "x.csv", "mimeType": "text/csv", "buffer": HEADER.encode()}
    posted = page.request.post(served.url("/catalog/import"), multipart={"file": upload})
    assert posted.status == 403
