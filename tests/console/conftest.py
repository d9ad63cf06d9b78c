"""The console served for real (tests/console/served.py) over a small demo, and Debian's
Chromium driven by Playwright (never a browser download). One server and one browser
per test session; each test has a fresh browser context (no cookies shared)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.console.served import CHROMIUM, TENANT, Served, launch, make_plan, serve_console

__all__ = ["TENANT", "Served", "sign_in"]

DEMO_SKUS = 200  # 200 SKUs x the demo's 10 shops: the pages' shape, in a second


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    with serve_console(DEMO_SKUS) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, served: Served, key: str, path: str = "/plans") -> None:
    """Sign in through the form, as a person does, and land on `path`."""
    page.goto(served.url("/sign-in"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(served.url(path)) + r"(\?.*)?$"))


@pytest.fixture(scope="session")
def plan_id(served: Served) -> str:
    """The plan of the demo's stock as it is now (made here, unless a test made it)."""
    return make_plan(served)
