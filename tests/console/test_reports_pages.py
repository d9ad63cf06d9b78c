"""A brand's report from the console in a real browser, on a SQLite catalog database:
built from the form, followed to its end, its figures read, its XLSX, PDF and HTML
downloaded and read back, and sent after a confirmation step to a real SMTP server on
loopback; a brand viewer sees its brand's builds only and posts nothing; bad windows
are pages naming the field."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pypdf
import pytest
from playwright.sync_api import Browser, Page, expect

from engine.demo import build_demo
from engine.reports.recipients import RecipientStore
from engine.services.catalog import CatalogHandle
from engine.services.stores import StoreRegistry
from tests.console.conftest import sign_in
from tests.console.served import TENANT, Served, serve_console
from tests.reports.smtp import Server, smtp_server

WINDOW = ("b1", "2026-11-10", "2026-11-12")
MAIL_TO = "b1-ops@brand.example"


@pytest.fixture(scope="module")
def smtp() -> Iterator[Server]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, smtp: Server) -> Iterator[Served]:
    """The console over the demo just after its Double-11, with a catalog database, a
    recipient of b1's reports and the loopback SMTP server in the settings the send job
    reads (its own process's environment, as a worker's)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'omnistock.db'}"
    handle = CatalogHandle(url, migrate_now=True)
    RecipientStore(handle.open().store.engine).add(TENANT, "b1", "mail", MAIL_TO, "all", None)
    stores = StoreRegistry()
    snapshot, rules = build_demo(skus=200, history_days=28, after_campaign=True)
    stores.get(TENANT).put_snapshot({**snapshot, "tenant": TENANT})
    stores.get(TENANT).put_ruleset(rules)
    env = {
        "OMNISTOCK_SMTP_HOST": "127.0.0.1",
        "OMNISTOCK_SMTP_PORT": str(smtp.port),
        "OMNISTOCK_SMTP_STARTTLS": "false",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with serve_console(200, stores=stores, catalog=handle) as running:
            yield running
    finally:
        handle.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _build(page: Page, brand: str, start: str, end: str) -> None:
    page.goto(page.url.split("/console")[0] + "/console/reports")  # the served console's
    page.fill("#brand", brand)
    page.fill("#from", start)
    page.fill("#to", end)
    page.select_option("#lang", "en")
    page.click("main form button[type=submit]")


@pytest.fixture(scope="module")
def build_url(served: Served, browser: Browser) -> str:
    """The demo window's report, built through the form and followed to its end."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    sign_in(page, served, served.operator)
    _build(page, *WINDOW)
    page.wait_for_url(re.compile(r".*/console/reports/[0-9a-f]+$"))
    expect(page.locator(".downloads")).to_be_visible(timeout=60_000)
    found = page.url
    context.close()
    return found


def test_a_report_is_built_and_its_figures_shown(
    page: Page, served: Served, build_url: str
) -> None:
    sign_in(page, served, served.operator)
    page.goto(build_url)
    expect(page.locator("h1")).to_have_text("Report of b1, 2026-11-10 – 2026-11-12")
    figures = page.locator("table.figures tr[data-figure]")
    assert figures.count() >= 3
    assert all(text.strip() for text in figures.locator("td.num").all_inner_texts())
    page.goto(served.url("/reports"))
    expect(page.locator("table.reports tbody tr").first).to_contain_text("done")


def test_the_files_download_and_read_back(page: Page, served: Served, build_url: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(build_url)
    files: dict[str, bytes] = {}
    for fmt in ("xlsx", "pdf", "html"):
        with page.expect_download() as download:
            page.click(f"a[data-format={fmt}]")
        got = download.value
        assert got.suggested_filename == f"b1-campaign-2026-11-10-2026-11-12-en.{fmt}"
        files[fmt] = Path(got.path()).read_bytes()
    workbook = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    assert len(workbook.sheetnames) >= 2
    pdf = pypdf.PdfReader(io.BytesIO(files["pdf"]))
    assert len(pdf.pages) >= 1 and "b1" in pdf.pages[0].extract_text()
    assert b"<html" in files["html"][:200].lower()


def test_send_after_a_confirmation_reaches_the_recipient(
    page: Page, served: Served, build_url: str, smtp: Server
) -> None:
    sign_in(page, served, served.operator)
    page.goto(build_url)
    page.click("text=Send to the brand's recipients")
    expect(page.locator("ul.targets")).to_contain_text(MAIL_TO)
    assert smtp.inbox.mails == []  # the review sends nothing
    confirm = page.locator("form:has(button:text('Send now'))")
    action = served.base + (confirm.get_attribute("action") or "")
    fields: dict[str, str | float | bool] = {
        str(field.get_attribute("name")): str(field.get_attribute("value"))
        for field in confirm.locator("input[type=hidden]").all()
    }
    page.click("text=Send now")
    expect(page.locator("[role=status]")).to_contain_text("handed to the job queue")
    deadline = time.monotonic() + 60
    while not smtp.inbox.mails and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [rcpts for _, rcpts in smtp.inbox.envelopes] == [[MAIL_TO]]
    again = page.request.post(action, form=fields)  # the confirmation sent twice
    assert again.status == 409 and "already sent" in again.text()
    time.sleep(1)
    assert len(smtp.inbox.mails) == 1


def test_a_bad_window_is_a_page_naming_the_field(page: Page, served: Served) -> None:
    sign_in(page, served, served.operator)
    _build(page, "b1", "2026-11-12", "2026-11-10")
    expect(page.locator("h1")).to_have_text("Invalid input")
    assert "Traceback" not in page.content()
    _build(page, "nope", "2026-11-10", "2026-11-12")
    expect(page.locator("main")).to_contain_text("nope")


def test_a_brand_viewer_reads_its_brand_only(page: Page, served: Served, build_url: str) -> None:
    viewer_b2, _ = served.keys.create(TENANT, "brand_viewer", "b2")
    sign_in(page, served, viewer_b2)
    page.goto(served.url("/reports"))
    assert page.locator("main form").count() == 0  # no form for a reader
    assert page.locator("table.reports").count() == 0  # b1's build is not listed
    answer = page.goto(build_url)
    assert answer is not None and answer.status == 404
    assert page.request.get(build_url + "/report.pdf").status == 404
    refused = page.request.post(served.url("/reports"), form={"brand": "b2"})
    assert refused.status == 403
    sent = page.request.post(build_url + "/send/confirm", form={})
    assert sent.status == 403
    # b1's own viewer reads it, with its downloads and no send button.
    page.context.clear_cookies()
    sign_in(page, served, served.viewer_b1)
    page.goto(build_url)
    expect(page.locator(".downloads")).to_be_visible()
    assert page.locator("text=Send to the brand's recipients").count() == 0


def test_the_page_in_chinese(page: Page, served: Served, build_url: str) -> None:
    sign_in(page, served, served.operator)
    page.goto(served.url("/lang/zh?back=/console/reports"))
    expect(page.locator("h1")).to_have_text("报表")
    expect(page.locator("main form button[type=submit]")).to_have_text("生成报表")
