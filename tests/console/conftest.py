"""The console served for real: the app (with the console mounted) under uvicorn in a
thread on a free loopback port, the demo tenant's small demo in its store, and Debian's
Chromium driven by Playwright (never a browser download). One server and one browser
per test session; each test has a fresh browser context (no cookies shared)."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from api.app import create_app
from api.console import mount_console
from engine.access.repository import InMemoryKeyRepository
from engine.core.settings import Settings
from engine.demo import build_demo
from engine.services.stores import StoreRegistry

CHROMIUM = "/usr/bin/chromium"
TENANT = "demo"
DEMO_SKUS = 200  # 200 SKUs x the demo's 10 shops: the pages' shape, in a second


@dataclass
class Served:
    """The running console: its base URL, app, keys and a key of each kind."""

    base: str
    app: FastAPI
    keys: InMemoryKeyRepository
    operator: str
    viewer_b1: str

    def url(self, path: str) -> str:
        return self.base + "/console" + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    keys = InMemoryKeyRepository()
    operator, _ = keys.create(TENANT, "operator")
    viewer, _ = keys.create(TENANT, "brand_viewer", "b1")
    stores = StoreRegistry()
    snapshot, rules = build_demo(skus=DEMO_SKUS)
    store = stores.get(TENANT)
    store.put_snapshot({**snapshot, "tenant": TENANT})
    store.put_ruleset(rules)
    app = create_app(Settings(solver_time_limit_s=20.0, job_workers=1), keys=keys, stores=stores)
    mount_console(app)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, keys, operator, viewer)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        for resource in app.state.owned:
            resource.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
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
    from engine.services.plan_jobs import plan_now_or_job

    store = served.app.state.stores.get(TENANT)
    view = plan_now_or_job(store, served.app.state.jobs, None, "now", served.app.state.settings)
    assert isinstance(view, dict)
    return str(view["plan_id"])
